"""Datasets: built-in digits, CIFAR archives served from 127.0.0.1, class-per-folder trees,
batched augmentation."""
from __future__ import annotations

import functools
import hashlib
import http.server
import io
import pickle
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from mnas_core.data import DataConfig, DatasetError, load_dataset
from mnas_core.data.augment import augment, random_crop, random_flip
from mnas_core.data.cifar import SPECS

# ------------------------------------------------------------------ built-in digits


def test_digits_shapes_and_overrides():
    d = load_dataset(DataConfig(resolution=16))
    assert d.train_x.dtype == torch.uint8 and d.train_x.shape[1:] == (1, 16, 16)
    assert d.train_y.dtype == torch.int64 and d.num_classes == 10 and d.in_chans == 1
    assert len(d.train_y) + len(d.val_y) + len(d.test_y) == 1797
    assert d.augment == "crop"  # no flips for handwriting
    assert d.arch_overrides() == {"resolution": 16, "num_classes": 10, "in_chans": 1,
                                  "small_input": True}
    assert int(d.train_x.max()) > 200  # scaled from 0..16 to the uint8 range


def _rows(x: torch.Tensor) -> set:
    return {bytes(r) for r in x.reshape(len(x), -1).numpy()}


def test_digits_split_seeded_disjoint_and_test_fixed():
    a = load_dataset(DataConfig(resolution=8, seed=0))
    b = load_dataset(DataConfig(resolution=8, seed=0))
    c = load_dataset(DataConfig(resolution=8, seed=1))
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.val_y, b.val_y)
    assert not torch.equal(a.val_x, c.val_x)
    assert torch.equal(a.test_x, c.test_x)  # the test split never moves with the seed
    # validation images are held out of training (digits has a few exact duplicates, so
    # compare counts of distinct rows rather than demanding an empty intersection)
    overlap = _rows(a.train_x) & _rows(a.val_x)
    assert len(overlap) <= 3
    # every class is in the validation set, roughly in proportion
    assert torch.bincount(a.val_y, minlength=10).min() >= 30


def test_digits_subset_and_limits():
    d = load_dataset(DataConfig(train_images=100, val_fraction=0.5))
    assert len(d.train_y) == 100
    assert abs(len(d.val_y) - 719) <= 5


@pytest.mark.parametrize("kwargs, word", [({"name": "mnist"}, "dataset"),
                                          ({"name": "folder:"}, "dataset"),
                                          ({"resolution": 4}, "resolution"),
                                          ({"val_fraction": 1.0}, "val_fraction"),
                                          ({"train_images": 0}, "train_images"),
                                          ({"augment": "mixup"}, "augment")])
def test_data_config_rejects_bad_values(kwargs, word):
    with pytest.raises(ValueError, match=word):
        DataConfig(**kwargs)


# ------------------------------------------------------------------ augmentation


def test_random_crop_translates_within_padding():
    x = torch.zeros(64, 1, 9, 9, dtype=torch.uint8)
    x[:, :, 4, 4] = 255
    out = random_crop(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    ys, xs = (out[:, 0] == 255).nonzero()[:, 1:].T
    assert ys.min() >= 2 and ys.max() <= 6 and xs.min() >= 2 and xs.max() <= 6
    assert len(set(zip(ys.tolist(), xs.tolist()))) > 5  # really random per image


def test_flip_and_policies():
    x = torch.arange(2 * 4).reshape(2, 1, 1, 4).repeat(50, 1, 1, 1).to(torch.uint8)
    out = random_flip(x, torch.Generator().manual_seed(0))
    flipped = (out == x.flip(3)).all(dim=(1, 2, 3))
    assert 10 < int(flipped.sum()) < 90
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(augment(x, "none", 2, gen), x)
    with pytest.raises(ValueError, match="policy"):
        augment(x, "rotate", 2, gen)


# ------------------------------------------------------------------ CIFAR from 127.0.0.1


def _batch_bytes(n: int, label_key: bytes, classes: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    d = {b"batch_label": b"test", label_key: rng.integers(0, classes, n).tolist(),
         b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8)}
    return pickle.dumps(d, protocol=2)


def make_cifar_archive(path: Path, name: str = "cifar10", n: int = 20, drop: str = "") -> Path:
    """A small archive in the official python-version layout."""
    spec = SPECS[name]
    members = {m: _batch_bytes(n, spec.label_key, spec.num_classes, i)
               for i, m in enumerate(spec.train + spec.test)}
    members[spec.meta] = pickle.dumps({spec.names_key: [f"c{i}".encode() for i in
                                                        range(spec.num_classes)]}, protocol=2)
    with tarfile.open(path, "w:gz") as tar:
        for m, data in members.items():
            if m == drop:
                continue
            info = tarfile.TarInfo(f"{spec.folder}/{m}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # /short/<file>: promise the full length, send half, hang up
        if self.path.startswith("/short/"):
            data = Path(self.directory, self.path[7:]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture()
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.glob("*")) if cache.exists() else []


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
    raw = pickle.loads(_batch_bytes(20, b"labels", 10, 5))
    assert torch.equal(d.test_x, torch.from_numpy(raw[b"data"].reshape(-1, 3, 32, 32)))
    # the second load reads the cache: no server needed
    arc.unlink()
    again = load_dataset(cfg)
    assert torch.equal(again.train_x, d.train_x)
    assert not [n for n in _cache_files(cache) if n.endswith(".part")]


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
    with pytest.raises(DatasetError, match="cifar-10-python.tar.gz.*checksum"):
        load_dataset(cfg)
    assert _cache_files(cache) == []


def test_cifar_truncated_transfer_leaves_cache_clean(server, tmp_path):
    root, base = server
    arc = make_cifar_archive(root / "cifar-10-python.tar.gz")
    cache = tmp_path / "cache"
    cfg = DataConfig(name="cifar10", url=f"{base}/short/cifar-10-python.tar.gz",
                     md5=_md5(arc), cache_dir=str(cache))
    with pytest.raises(DatasetError, match="cifar-10-python.tar.gz"):
        load_dataset(cfg)
    assert _cache_files(cache) == []


def test_cifar_truncated_archive_names_the_file(server, tmp_path):
    root, base = server
    arc = make_cifar_archive(tmp_path / "full.tar.gz")
    cut = root / "cut.tar.gz"
    cut.write_bytes(arc.read_bytes()[: arc.stat().st_size * 2 // 3])
    cfg = DataConfig(name="cifar10", url=f"{base}/cut.tar.gz", md5=_md5(cut),
                     cache_dir=str(tmp_path / "cache"))
    with pytest.raises(DatasetError, match=r"cut\.tar\.gz.*(truncated|corrupt)"):
        load_dataset(cfg)


def test_cifar_missing_member_and_404(server, tmp_path):
    root, base = server
    arc = make_cifar_archive(root / "a.tar.gz", drop="data_batch_3")
    cfg = DataConfig(name="cifar10", url=f"{base}/a.tar.gz", md5=_md5(arc),
                     cache_dir=str(tmp_path / "cache"))
    with pytest.raises(DatasetError, match="cifar-10-batches-py/data_batch_3 is missing"):
        load_dataset(cfg)
    cfg = DataConfig(name="cifar10", url=f"{base}/nothing.tar.gz",
                     cache_dir=str(tmp_path / "cache"))
    with pytest.raises(DatasetError, match="nothing.tar.gz"):
        load_dataset(cfg)


def test_cifar_extracted_folder_and_missing_file(tmp_path):
    arc = make_cifar_archive(tmp_path / "a.tar.gz")
    with tarfile.open(arc) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    cfg = DataConfig(name="cifar10", path=str(tmp_path / "x"), cache_dir=str(tmp_path / "c"))
    assert len(load_dataset(cfg).test_y) == 20
    (tmp_path / "x" / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(DatasetError, match="test_batch is missing"):
        load_dataset(cfg)


def test_cifar_refuses_code_in_pickles(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    spec = SPECS["cifar10"]
    for m in spec.train + spec.test + (spec.meta,):
        (folder / m).write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(DatasetError, match="data_batch_1 is corrupt.*refusing"):
        load_dataset(DataConfig(name="cifar10", path=str(tmp_path),
                                cache_dir=str(tmp_path / "c")))


# ------------------------------------------------------------------ class-per-folder trees


def make_tree(root: Path) -> Path:
    from PIL import Image

    colors = {"apple": (255, 0, 0), "banana": (255, 255, 0), "cherry": (0, 0, 255)}
    for name, rgb in colors.items():
        (root / name).mkdir(parents=True)
        for i in range(6):
            img = Image.new("RGB", (40 + 8 * i, 30), rgb)  # non-square: center-cropped
            img.save(root / name / f"{i}.{'png' if i % 2 else 'jpg'}")
    Image.new("L", (20, 20), 128).save(root / "cherry" / "gray.png")  # grayscale -> RGB
    (root / "banana" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (root / "banana" / "notes.txt").write_text("ignored: not an image")
    return root


def test_folder_dataset_skips_corrupt_and_caches(tmp_path, monkeypatch):
    root = make_tree(tmp_path / "tree")
    cfg = DataConfig(name=f"folder:{root}", resolution=12, cache_dir=str(tmp_path / "c"),
                     val_fraction=0.3)
    d = load_dataset(cfg)
    assert d.classes == ["apple", "banana", "cherry"] and d.in_chans == 3
    assert d.skipped == ["banana/broken.jpg"] and "1 unreadable" in d.summary()
    assert len(d.train_y) + len(d.val_y) == 19  # 3 x 6 + the grayscale one
    apple = d.train_x[d.train_y == 0].float().mean(dim=(0, 2, 3))
    assert apple[0] > 200 and apple[1] < 40  # red, whatever the format
    # the second run decodes nothing
    import mnas_core.data.folder as folder

    def boom(*args):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(folder, "decode_image", boom)
    again = load_dataset(cfg)
    assert torch.equal(again.train_x, d.train_x) and again.skipped == d.skipped


def test_folder_limits_and_errors(tmp_path):
    root = make_tree(tmp_path / "tree")
    d = load_dataset(DataConfig(name=f"folder:{root}", resolution=8, max_classes=2,
                                max_per_class=3, val_fraction=0.34,
                                cache_dir=str(tmp_path / "c")))
    assert d.num_classes == 2 and len(d.train_y) + len(d.val_y) == 6
    with pytest.raises(DatasetError, match="nowhere"):
        load_dataset(DataConfig(name=f"folder:{tmp_path / 'nowhere'}",
                                cache_dir=str(tmp_path / "c")))
