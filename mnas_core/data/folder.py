"""Folder datasets in the layouts users have, from a folder or a .tar/.tar.gz/.tgz of one:

- a root of class folders, ``ROOT/<class>/<image>``: every image is in the training pool;
- an ImageNet-style root with split folders, ``ROOT/train/<class>/<image>`` plus
  ``ROOT/val/<class>/...`` or ``ROOT/test/<class>/...`` (val wins when both exist): train is the
  training pool, the split folder becomes the test set, kept apart from selection as CIFAR's
  is. Its classes must be among train's; it may lack some.

Classes are train's sorted subfolder names (the first `max_classes` of them); each class of
each split takes its first `max_per_class` images in sorted order, so a limit picks the same
files on every machine. Images are decoded (decode.py), center-cropped to a square, resized
and stored as uint8 tensors in the cache. The cache key covers the file list with sizes and
modification times (a folder) or the archive's size and modification time, plus resolution,
decoder and limits: the second run with the same files and settings is one torch.load.
Unreadable images are skipped, counted and named in `skipped`.
"""
from __future__ import annotations

import hashlib
import logging
import posixpath
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .common import DatasetError, atomic_torch_save, load_cached
from .decode import check_name, decode_many, resolve
from .tree import EXTENSIONS, DiskTree, TarTree, archive_stem, is_archive

TEST_SPLITS = ("val", "test")
CHUNK = 256          # images decoded per call: bounds memory, lets equal sizes resize at once
CACHE_VERSION = 2    # 2: split folders (test_x/test_y), archives, decoder in the key
log = logging.getLogger(__name__)


@dataclass
class Layout:
    classes: list[str]
    train: list[tuple[str, int]]           # (path relative to the root, label)
    test: list[tuple[str, int]] | None     # the split folder's images, or None
    test_split: str | None                 # "val", "test" or None


def find_layout(tree, max_classes: int | None, max_per_class: int | None) -> Layout:
    """Which files are which split and class, by the rules in the module docstring."""
    top = tree.dirs("")
    split = "train" in top and bool(tree.dirs("train"))
    base = "train" if split else ""
    all_classes = tree.dirs(base)
    classes = all_classes[:max_classes]
    if len(classes) < 2:
        raise DatasetError(f"{tree.where} needs at least 2 class subfolders"
                           f"{' in train/' if split else ''}, found {len(classes)}")
    train = [(posixpath.join(base, c, f), label) for label, c in enumerate(classes)
             for f in tree.files(posixpath.join(base, c))[:max_per_class]]
    if not train:
        raise DatasetError(f"{tree.where} has no {'/'.join(EXTENSIONS)} images")
    test_split = next((s for s in TEST_SPLITS if s in top), None) if split else None
    if test_split is None:
        return Layout(classes, train, None, None)
    test_classes = tree.dirs(test_split)
    if not test_classes:
        if tree.files(test_split):  # ImageNet's raw val/ is flat, its labels in another file
            raise DatasetError(f"{tree.where}: {test_split}/ holds images but no class "
                               f"subfolders; sort them into {test_split}/<class>/ as in "
                               "train/, or point at train/ alone")
        return Layout(classes, train, None, None)
    unknown = sorted(set(test_classes) - set(all_classes))
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise DatasetError(f"{tree.where}: {test_split}/ has classes that train/ lacks: "
                           f"{', '.join(unknown[:5])}{more}")
    label = {c: i for i, c in enumerate(classes)}
    test = [(posixpath.join(test_split, c, f), label[c]) for c in test_classes if c in label
            for f in tree.files(posixpath.join(test_split, c))[:max_per_class]]
    return Layout(classes, train, test, test_split)


def _cache_file(ident: tuple, stem: str, resolution: int, decoder: str,
                cache_dir: Path) -> Path:
    key = hashlib.md5(repr((CACHE_VERSION, resolution, decoder, ident)).encode()).hexdigest()
    return cache_dir / f"folder-{stem}-{key[:16]}-r{resolution}.pt"


def _decode(tree, rels: list[str], resolution: int, decoder: str, progress):
    """(x (N, 3, res, res) uint8 of the readable ones, readable mask, skipped rels, decoder)."""
    n = len(rels)
    x = np.zeros((n, 3, resolution, resolution), dtype=np.uint8)
    ok = np.zeros(n, dtype=bool)
    skipped, chunk, done = [], [], 0

    def flush():
        nonlocal decoder, done
        blobs = [b for _, b in chunk if not isinstance(b, Exception)]
        if decoder == "auto" and blobs:
            decoder = resolve("auto", blobs[0], resolution)
        decoded = iter(decode_many(blobs, resolution, decoder))  # auto: only when no blobs
        for i, b in chunk:
            img = b if isinstance(b, Exception) else next(decoded)
            if isinstance(img, Exception):
                skipped.append(rels[i])
                log.warning("skipping unreadable image %s: %s", rels[i], img)
            else:
                x[i], ok[i] = img, True
        done += len(chunk)
        chunk.clear()
        if progress is not None:
            progress(done, n)

    for item in tree.read(rels):
        chunk.append(item)
        if len(chunk) == CHUNK:
            flush()
    if chunk:
        flush()
    return x, ok, sorted(skipped), decoder


def load_folder(root: str, resolution: int, cache_dir: Path, max_classes: int | None = None,
                max_per_class: int | None = None, progress=None, decoder: str = "auto") -> dict:
    """{'x', 'y', 'test_x', 'test_y' (None without a split folder), 'classes', 'skipped',
    'decoder'}: x (N, 3, res, res) uint8, y (N,) int64. `progress(done, total)` is called
    while decoding, once per chunk of images; a cached load never calls it."""
    check_name(decoder)  # before any work; torchvision is imported only to decode
    path = Path(root).expanduser().resolve()
    if path.is_file() and is_archive(path):
        # Listing an archive means reading all of it (60k members: seconds), so its cache
        # key is the file's identity, and a cached load never opens it.
        st = path.stat()
        cache = _cache_file((str(path), st.st_size, st.st_mtime_ns, max_classes,
                             max_per_class), archive_stem(path), resolution, decoder, cache_dir)
        if (data := load_cached(cache)) is not None:
            return data
        tree = TarTree(path)
    elif path.is_file():
        raise DatasetError(f"{path} is a file but not a .tar, .tar.gz or .tgz archive")
    else:
        tree, cache = DiskTree(path), None
    try:
        layout = find_layout(tree, max_classes, max_per_class)
        files = layout.train + (layout.test or [])
        if cache is None:
            ident = (str(path), layout.classes, [(r, *tree.stat(r), y) for r, y in files])
            cache = _cache_file(ident, path.name, resolution, decoder, cache_dir)
            if (data := load_cached(cache)) is not None:
                return data
        rels = [r for r, _ in files]
        labels = np.array([y for _, y in files], dtype=np.int64)
        x, ok, skipped, used = _decode(tree, rels, resolution, decoder, progress)
    finally:
        tree.close()
    is_test = np.arange(len(rels)) >= len(layout.train)
    train, test = ok & ~is_test, ok & is_test
    if not train.any():
        raise DatasetError(f"{tree.where}: none of {len(layout.train)} training images could "
                           "be read")
    has_test = layout.test is not None
    data = {"x": torch.from_numpy(x[train]), "y": torch.from_numpy(labels[train]),
            "test_x": torch.from_numpy(x[test]) if has_test else None,
            "test_y": torch.from_numpy(labels[test]) if has_test else None,
            "classes": layout.classes, "skipped": skipped, "decoder": used}
    atomic_torch_save(data, cache)
    return data
