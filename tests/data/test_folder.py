"""Folder datasets: class-per-folder roots, ImageNet-style split folders, and .tar/.tar.gz/.tgz
archives of either, read in place."""
from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
import torch

import mnas_core.data.folder as folder
import mnas_core.data.tree as tree
from mnas_core.data import DataConfig, DatasetError, load_dataset

from .helpers import image_bytes, split_files, tree_files, write_tar, write_tree


def _cfg(path, tmp_path, **kw) -> DataConfig:
    kw = {"resolution": 12, "val_fraction": 0.3, "cache_dir": str(tmp_path / "cache"), **kw}
    return DataConfig(name=f"folder:{path}", **kw)


def _no_decoding(monkeypatch):
    def boom(*args):
        raise AssertionError("decoded again despite the cache")
    monkeypatch.setattr(folder, "decode_many", boom)


def test_class_root_skips_corrupt_and_caches(tmp_path, monkeypatch):
    root = write_tree(tmp_path / "tree", tree_files())
    d = load_dataset(_cfg(root, tmp_path))
    assert d.classes == ["apple", "banana", "cherry"] and d.in_chans == 3
    assert d.skipped == ["banana/broken.jpg"] and "1 unreadable" in d.summary()
    assert len(d.train_y) + len(d.val_y) == 19 and d.test_x is None  # 3 x 6 + the gray one
    apple = d.train_x[d.train_y == 0].float().mean(dim=(0, 2, 3))
    assert apple[0] > 200 and apple[1] < 40  # red, whatever the format
    _no_decoding(monkeypatch)
    again = load_dataset(_cfg(root, tmp_path))
    assert torch.equal(again.train_x, d.train_x) and again.skipped == d.skipped


def test_folder_limits_and_errors(tmp_path):
    root = write_tree(tmp_path / "tree", tree_files())
    d = load_dataset(_cfg(root, tmp_path, resolution=8, max_classes=2, max_per_class=3,
                          val_fraction=0.34))
    assert d.num_classes == 2 and len(d.train_y) + len(d.val_y) == 6
    with pytest.raises(DatasetError, match="nowhere"):
        load_dataset(_cfg(tmp_path / "nowhere", tmp_path))
    (tmp_path / "notes.zip").write_bytes(b"PK")
    with pytest.raises(DatasetError, match="not a .tar"):
        load_dataset(_cfg(tmp_path / "notes.zip", tmp_path))


def _mean_rgb(x: torch.Tensor) -> list[int]:
    return [round(v) for v in x.float().mean(dim=(0, 2, 3)).tolist()]


@pytest.mark.parametrize("split", ["val", "test"])
def test_split_folder_becomes_the_test_set(tmp_path, split):
    root = write_tree(tmp_path / "imagenet", split_files(split))
    d = load_dataset(_cfg(root, tmp_path))
    assert d.classes == ["apple", "banana", "cherry"]  # train's, not the split folder's
    assert len(d.train_y) + len(d.val_y) == 18 and d.skipped == ["train/banana/broken.jpg"]
    assert torch.bincount(d.test_y, minlength=3).tolist() == [3, 0, 3]
    blue = torch.tensor(_mean_rgb(d.test_x[d.test_y == 2]))  # cherry is blue, label 2
    assert (blue - torch.tensor([0, 0, 255])).abs().max() <= 3  # JPEG rounding
    assert f"{len(d.test_y)} test" in d.summary()
    # the split folder's images are never in selection: all of train/val are train's files
    assert len(d.train_y) + len(d.val_y) + len(d.test_y) == 24


def test_split_folder_limits_and_choice(tmp_path):
    files = split_files("val")
    files.update({k.replace("val/", "test/", 1): v for k, v in files.items()
                  if k.startswith("val/")})
    files["test/banana/extra.png"] = image_bytes((255, 255, 0))
    root = write_tree(tmp_path / "both", files)
    d = load_dataset(_cfg(root, tmp_path))
    assert torch.bincount(d.test_y, minlength=3).tolist() == [3, 0, 3]  # val wins over test
    d = load_dataset(_cfg(root, tmp_path, max_classes=2, max_per_class=2, val_fraction=0.5))
    assert d.classes == ["apple", "banana"] and d.test_y.tolist() == [0, 0]


def test_split_folder_with_foreign_classes_is_refused(tmp_path):
    files = split_files("val")
    files["val/durian/0.png"] = image_bytes((0, 255, 0))
    root = write_tree(tmp_path / "bad", files)
    with pytest.raises(DatasetError, match="val/ has classes that train/ lacks: durian") as err:
        load_dataset(_cfg(root, tmp_path))
    assert "\n" not in str(err.value)
    flat = {k: v for k, v in split_files("val").items() if not k.startswith("val/")}
    flat["val/ILSVRC2012_val_00000001.JPEG"] = image_bytes(0, fmt="JPEG")
    with pytest.raises(DatasetError, match="no class subfolders"):
        load_dataset(_cfg(write_tree(tmp_path / "flat", flat), tmp_path))


@pytest.mark.parametrize("suffix, mode, top", [(".tar.gz", "w:gz", ""), (".tgz", "w:gz", "ds/"),
                                               (".tar", "w", "./")])
def test_archive_reads_like_the_extracted_folder(tmp_path, monkeypatch, suffix, mode, top):
    files = split_files("test")
    disk = load_dataset(_cfg(write_tree(tmp_path / "ds", files), tmp_path))
    arc = write_tar(tmp_path / f"ds{suffix}", {top + k: v for k, v in files.items()}, mode)
    before = sorted(os.listdir(tmp_path))
    d = load_dataset(_cfg(arc, tmp_path))
    for a, b in ((d.train_x, disk.train_x), (d.val_y, disk.val_y), (d.test_x, disk.test_x)):
        assert torch.equal(a, b)
    assert d.skipped == ["train/banana/broken.jpg"] and d.classes == disk.classes
    assert sorted(os.listdir(tmp_path)) == before  # nothing extracted beside the archive
    monkeypatch.setattr(folder, "TarTree", None)  # a cached load does not open the archive
    _no_decoding(monkeypatch)
    assert torch.equal(load_dataset(_cfg(arc, tmp_path)).train_x, d.train_x)


def test_archive_cache_follows_the_archive(tmp_path):
    files = tree_files()
    arc = write_tar(tmp_path / "fruit.tar.gz", files)
    first = load_dataset(_cfg(arc, tmp_path))
    files["apple/0.jpg"] = image_bytes((0, 255, 0), fmt="JPEG")  # a green apple
    write_tar(arc, files)
    os.utime(arc, ns=(0, arc.stat().st_mtime_ns + 10**9))  # even within one clock tick
    again = load_dataset(_cfg(arc, tmp_path, val_fraction=0.3))
    assert not torch.equal(again.train_x, first.train_x) or \
        not torch.equal(again.val_x, first.val_x)
    assert len(list((tmp_path / "cache").glob("folder-fruit-*.pt"))) == 2


def test_damaged_archives_give_one_line(tmp_path):
    good = write_tar(tmp_path / "good.tar.gz", split_files()).read_bytes()
    cases = {"cut.tar.gz": good[: len(good) * 2 // 3],   # truncated gzip stream
             "junk.tar.gz": b"\x1f\x8b" + os.urandom(2000),  # gzip magic, garbage after
             "text.tar": b"these are not the tar blocks you are looking for\n" * 40,
             "empty.tgz": b""}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DatasetError, match=rf"{name} is not a readable tar archive") as err:
            load_dataset(_cfg(tmp_path / name, tmp_path))
        assert "\n" not in str(err.value)


def test_unreadable_and_hostile_members(tmp_path, monkeypatch):
    noise = torch.randint(0, 256, (64, 64, 3), generator=torch.Generator().manual_seed(0))
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(noise.to(torch.uint8).numpy()).save(buf, "PNG")
    files = {**tree_files(), "apple/huge.png": buf.getvalue()}  # the largest file by far
    arc = tmp_path / "odd.tar"
    with tarfile.open(arc, "w") as tar:
        for name, data in {**files, "../escape.png": image_bytes(1), "/abs/x.png":
                           image_bytes(2)}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("apple/link.png")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    monkeypatch.setattr(tree, "MAX_IMAGE_BYTES", len(files["apple/huge.png"]) - 1)
    d = load_dataset(_cfg(arc, tmp_path))
    assert d.skipped == ["apple/huge.png", "banana/broken.jpg"]
    assert len(d.train_y) + len(d.val_y) == 19 and d.classes == ["apple", "banana", "cherry"]
    assert not (tmp_path.parent / "escape.png").exists() and not Path("/abs").exists()


def test_progress_while_decoding_only(tmp_path, monkeypatch):
    monkeypatch.setattr(folder, "CHUNK", 5)
    root = write_tree(tmp_path / "tree", tree_files())
    calls = []
    load_dataset(_cfg(root, tmp_path), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(5, 20), (10, 20), (15, 20), (20, 20)]
    calls.clear()
    load_dataset(_cfg(root, tmp_path), progress=lambda *a: calls.append(a))
    assert calls == []
