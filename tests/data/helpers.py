"""Builders for the dataset tests: CIFAR archives in the official layout, image trees, tars."""
from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from mnas_core.data.cifar import SPECS

COLORS = {"apple": (255, 0, 0), "banana": (255, 255, 0), "cherry": (0, 0, 255)}


def batch_bytes(n: int, label_key: bytes, classes: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    d = {b"batch_label": b"test", label_key: rng.integers(0, classes, n).tolist(),
         b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8)}
    return pickle.dumps(d, protocol=2)


def cifar_members(name: str = "cifar10", n: int = 20) -> dict[str, bytes]:
    spec = SPECS[name]
    members = {m: batch_bytes(n, spec.label_key, spec.num_classes, i)
               for i, m in enumerate(spec.train + spec.test)}
    members[spec.meta] = pickle.dumps({spec.names_key: [f"c{i}".encode() for i in
                                                        range(spec.num_classes)]}, protocol=2)
    return members


def write_tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def make_cifar_archive(path: Path, name: str = "cifar10", n: int = 20, drop: str = "",
                       replace: dict[str, bytes] | None = None) -> Path:
    """A small archive in the official python-version layout."""
    members = {**cifar_members(name, n), **(replace or {})}
    folder = SPECS[name].folder
    return write_tar(path, {f"{folder}/{m}": d for m, d in members.items() if m != drop})


def image_bytes(rgb, size=(40, 30), fmt="PNG", mode="RGB") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, rgb).save(buf, fmt)
    return buf.getvalue()


def class_files(i0: int = 0, n: int = 6) -> dict[str, bytes]:
    """{'<class>/<file>': bytes}: n solid, non-square images per class, PNG and JPEG mixed."""
    out = {}
    for name, rgb in COLORS.items():
        for i in range(i0, i0 + n):
            fmt = "PNG" if i % 2 else "JPEG"
            out[f"{name}/{i}.{'png' if i % 2 else 'jpg'}"] = image_bytes(rgb, (40 + 8 * i, 30),
                                                                          fmt)
    return out


def tree_files() -> dict[str, bytes]:
    """A class-per-folder tree with one grayscale image, one broken JPEG and one text file."""
    files = class_files()
    files["cherry/gray.png"] = image_bytes(128, (20, 20), "PNG", "L")  # grayscale -> RGB
    files["banana/broken.jpg"] = b"\xff\xd8 not really a jpeg"
    files["banana/notes.txt"] = b"ignored: not an image"
    return files


def split_files(test: str = "val", test_classes=("apple", "cherry")) -> dict[str, bytes]:
    """ImageNet-style: train/<class>/... (6 each) plus <test>/<class>/... (3 each)."""
    files = {f"train/{k}": v for k, v in class_files().items()}
    files["train/banana/broken.jpg"] = b"\xff\xd8 not really a jpeg"
    for k, v in class_files(10, 3).items():
        if k.split("/")[0] in test_classes:
            files[f"{test}/{k}"] = v
    return files


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root
