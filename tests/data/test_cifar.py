"""CIFAR-10/100 archives served from 127.0.0.1: good, truncated, corrupt, wrong md5, missing
members, planted pickle payloads; the constants against torchvision's."""
from __future__ import annotations

import hashlib
import pickle
import tarfile
from pathlib import Path

import pytest
import torch

from mnas_core.data import DataConfig, DatasetError, load_dataset
from mnas_core.data.cifar import SPECS

from .helpers import batch_bytes, make_cifar_archive


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.glob("*")) if cache.exists() else []


def _one_line_error(cfg: DataConfig, pattern: str) -> str:
    with pytest.raises(DatasetError, match=pattern) as err:
        load_dataset(cfg)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_constants_are_torchvisions():
    from torchvision.datasets import CIFAR10, CIFAR100

    for name, tv in (("cifar10", CIFAR10), ("cifar100", CIFAR100)):
        spec = SPECS[name]
        assert (spec.url, spec.md5, spec.folder) == (tv.url, tv.tgz_md5, tv.base_folder)
        assert spec.url.endswith("/" + tv.filename)
        assert spec.train == tuple(f for f, _ in tv.train_list)
        assert spec.test == tuple(f for f, _ in tv.test_list)
        assert spec.meta == tv.meta["filename"] and spec.names_key.decode() == tv.meta["key"]


def test_cifar10_download_verify_cache(server, tmp_path):
    root, base = server
    arc = make_cifar_archive(root / "cifar-10-python.tar.gz")
    cache = tmp_path / "cache"
    cfg = DataConfig(name="cifar10", resolution=32, url=f"{base}/cifar-10-python.tar.gz",
                     md5=_md5(arc), cache_dir=str(cache), val_fraction=0.1)
    d = load_dataset(cfg)
    assert d.num_classes == 10 and d.classes[:2] == ["c0", "c1"] and d.augment == "crop_flip"
    assert len(d.train_y) + len(d.val_y) == 100 and len(d.test_y) == 20
    # pixels survive exactly at the native resolution: compare with the served test batch
    raw = pickle.loads(batch_bytes(20, b"labels", 10, 5))
    assert torch.equal(d.test_x, torch.from_numpy(raw[b"data"].reshape(-1, 3, 32, 32)))
    assert not [n for n in _cache_files(cache) if n.endswith(".part")]
    # the second load is the tensor cache alone: neither the server's nor the cached archive
    arc.unlink()
    (cache / "cifar-10-python.tar.gz").unlink()
    again = load_dataset(cfg)
    assert torch.equal(again.train_x, d.train_x)


def test_cifar100_fine_labels_and_resize(server, tmp_path):
    root, base = server
    arc = make_cifar_archive(root / "c100.tar.gz", "cifar100", n=50)
    d = load_dataset(DataConfig(name="cifar100", resolution=16, url=f"{base}/c100.tar.gz",
                                md5=_md5(arc), cache_dir=str(tmp_path / "c")))
    assert d.num_classes == 100 and d.train_x.shape[1:] == (3, 16, 16)
    assert len(d.train_y) + len(d.val_y) == 50 and int(d.train_y.max()) < 100


def test_cifar_bad_checksum_leaves_cache_clean(server, tmp_path):
    root, base = server
    make_cifar_archive(root / "cifar-10-python.tar.gz")
    cache = tmp_path / "cache"
    cfg = DataConfig(name="cifar10", url=f"{base}/cifar-10-python.tar.gz", md5="0" * 32,
                     cache_dir=str(cache))
    _one_line_error(cfg, "cifar-10-python.tar.gz.*checksum")
    assert _cache_files(cache) == []


def test_cifar_archive_path_with_wrong_md5(tmp_path):
    arc = make_cifar_archive(tmp_path / "mine.tar.gz")
    cfg = DataConfig(name="cifar10", path=str(arc), md5="1" * 32, cache_dir=str(tmp_path / "c"))
    _one_line_error(cfg, r"mine\.tar\.gz failed its checksum: md5 [0-9a-f]{32}, expected 1{32}")
    # the official md5 is the default for a path: a home-made archive is refused too
    _one_line_error(DataConfig(name="cifar10", path=str(arc), cache_dir=str(tmp_path / "c")),
                    f"expected {SPECS['cifar10'].md5}")


def test_cifar_truncated_transfer_leaves_cache_clean(server, tmp_path):
    root, base = server
    arc = make_cifar_archive(root / "cifar-10-python.tar.gz")
    cache = tmp_path / "cache"
    cfg = DataConfig(name="cifar10", url=f"{base}/short/cifar-10-python.tar.gz",
                     md5=_md5(arc), cache_dir=str(cache))
    _one_line_error(cfg, "cifar-10-python.tar.gz")
    # without an md5 the promised length still catches it
    cfg = DataConfig(name="cifar10", url=f"{base}/short/cifar-10-python.tar.gz",
                     cache_dir=str(cache))
    _one_line_error(cfg, "truncated")
    assert _cache_files(cache) == []


def test_cifar_truncated_archive_names_the_file(server, tmp_path):
    root, base = server
    arc = make_cifar_archive(tmp_path / "full.tar.gz")
    cut = root / "cut.tar.gz"
    cut.write_bytes(arc.read_bytes()[: arc.stat().st_size * 2 // 3])
    cfg = DataConfig(name="cifar10", url=f"{base}/cut.tar.gz", md5=_md5(cut),
                     cache_dir=str(tmp_path / "cache"))
    _one_line_error(cfg, r"cut\.tar\.gz.*(truncated|corrupt)")


def test_cifar_corrupt_archive_names_the_file(server, tmp_path):
    root, base = server
    data = bytearray(make_cifar_archive(tmp_path / "full.tar.gz").read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 64):  # garble the deflate stream
        data[i] ^= 0x5A
    bad = root / "bad.tar.gz"
    bad.write_bytes(bytes(data))
    cfg = DataConfig(name="cifar10", url=f"{base}/bad.tar.gz", md5=_md5(bad),
                     cache_dir=str(tmp_path / "cache"))
    _one_line_error(cfg, r"bad\.tar\.gz.*(truncated|corrupt)")


def test_cifar_missing_member_and_404(server, tmp_path):
    root, base = server
    arc = make_cifar_archive(root / "a.tar.gz", drop="data_batch_3")
    cfg = DataConfig(name="cifar10", url=f"{base}/a.tar.gz", md5=_md5(arc),
                     cache_dir=str(tmp_path / "cache"))
    _one_line_error(cfg, "cifar-10-batches-py/data_batch_3 is missing")
    cfg = DataConfig(name="cifar10", url=f"{base}/nothing.tar.gz",
                     cache_dir=str(tmp_path / "cache"))
    _one_line_error(cfg, "nothing.tar.gz")


def test_cifar_extracted_folder_and_missing_file(tmp_path):
    arc = make_cifar_archive(tmp_path / "a.tar.gz")
    with tarfile.open(arc) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    cfg = DataConfig(name="cifar10", path=str(tmp_path / "x"), cache_dir=str(tmp_path / "c"))
    assert len(load_dataset(cfg).test_y) == 20
    (tmp_path / "x" / "cifar-10-batches-py" / "test_batch").unlink()
    _one_line_error(cfg, "test_batch is missing")


class _Payload:
    """Unpickling this calls open(marker, "w"): code from the file, run by the loader."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_planted_payload_in_a_folder_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    spec = SPECS["cifar10"]
    for m in spec.train + spec.test + (spec.meta,):
        (folder / m).write_bytes(pickle.dumps({b"data": _Payload(marker)}, protocol=2))
    assert pickle.loads((folder / "test_batch").read_bytes()) and marker.exists()  # it works
    marker.unlink()
    _one_line_error(DataConfig(name="cifar10", path=str(tmp_path), cache_dir=str(tmp_path / "c")),
                    r"data_batch_1 is corrupt.*refusing to load (builtins|io)\.open")
    assert not marker.exists()


def test_planted_payload_in_a_served_archive_runs_nothing(server, tmp_path):
    root, base = server
    marker = tmp_path / "pwned"
    evil = pickle.dumps({b"labels": [0], b"data": _Payload(marker)}, protocol=2)
    arc = make_cifar_archive(root / "evil.tar.gz", replace={"data_batch_4": evil})
    cache = tmp_path / "cache"
    _one_line_error(DataConfig(name="cifar10", url=f"{base}/evil.tar.gz", md5=_md5(arc),
                               cache_dir=str(cache)), "data_batch_4 is corrupt.*refusing")
    assert not marker.exists() and not [n for n in _cache_files(cache) if n.endswith(".pt")]
