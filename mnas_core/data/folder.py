"""ImageNet-style class-per-folder trees: ROOT/<class name>/<image>.{jpg,jpeg,png,...}.

Classes are the sorted subfolder names (the first `max_classes` of them); each class takes its
first `max_per_class` images in sorted order, so a limit picks the same files on every machine.
Images are decoded with Pillow, center-cropped to a square, resized and stored as uint8 tensors
in the cache, keyed by the file list with sizes and modification times: the second run with the
same files and settings is one torch.load. Unreadable images are skipped and counted.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import torch

from .common import DatasetError, atomic_torch_save, load_cached

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
log = logging.getLogger(__name__)


def list_images(root: Path, max_classes: int | None, max_per_class: int | None
                ) -> tuple[list[str], list[tuple[Path, int]]]:
    if not root.is_dir():
        raise DatasetError(f"image folder {root} does not exist or is not a folder")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if max_classes is not None:
        classes = classes[:max_classes]
    files = []
    for label, name in enumerate(classes):
        imgs = sorted(p for p in (root / name).iterdir()
                      if p.is_file() and p.suffix.lower() in EXTENSIONS)
        files += [(p, label) for p in imgs[:max_per_class]]
    if len(classes) < 2:
        raise DatasetError(f"image folder {root} needs at least 2 class subfolders, found "
                           f"{len(classes)}")
    if not files:
        raise DatasetError(f"image folder {root} has no {'/'.join(EXTENSIONS)} images")
    return classes, files


def decode_image(path: Path, resolution: int) -> np.ndarray:
    """(3, res, res) uint8: center square crop, then an antialiased bilinear resize."""
    from PIL import Image  # imported on use

    with Image.open(path) as im:
        im.draft("RGB", (2 * resolution, 2 * resolution))  # JPEG: decode at reduced size, fast
        im = im.convert("RGB")
        w, h = im.size
        s = min(w, h)
        box = ((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)
        im = im.resize((resolution, resolution), Image.BILINEAR, box=box)
        return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)


def load_folder(root: str, resolution: int, cache_dir: Path, max_classes: int | None = None,
                max_per_class: int | None = None, progress=None) -> dict:
    """{'x': (N, 3, res, res) uint8, 'y': int64, 'classes', 'skipped': [file names]}."""
    root_p = Path(root).expanduser().resolve()
    classes, files = list_images(root_p, max_classes, max_per_class)
    stats = [(str(p.relative_to(root_p)), p.stat().st_size, p.stat().st_mtime_ns, y)
             for p, y in files]
    key = hashlib.md5(repr((str(root_p), resolution, classes, stats)).encode()).hexdigest()
    cache = cache_dir / f"folder-{root_p.name}-{key[:16]}-r{resolution}.pt"
    data = load_cached(cache)
    if data is not None:
        return data
    xs, ys, skipped = [], [], []
    for i, (p, y) in enumerate(files):
        try:
            xs.append(decode_image(p, resolution))
            ys.append(y)
        except Exception as err:  # Pillow raises many types for damaged files
            skipped.append(str(p.relative_to(root_p)))
            log.warning("skipping unreadable image %s: %s", p, err)
        if progress is not None:
            progress(i + 1, len(files))
    if not xs:
        raise DatasetError(f"image folder {root_p}: none of {len(files)} images could be read")
    data = {"x": torch.from_numpy(np.stack(xs)), "y": torch.tensor(ys, dtype=torch.int64),
            "classes": classes, "skipped": skipped}
    atomic_torch_save(data, cache)
    return data
