"""Helpers shared by the dataset sources: the error type, the cache folder, atomic writes, the
uint8 resize and the seeded stratified split."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


class DatasetError(ValueError):
    """A dataset file is missing, corrupt, truncated or fails its checksum. A ValueError, so the
    CLI reports it as bad input; the message always names the file."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mnas-explorer" / "data"


def md5_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def atomic_torch_save(obj, dest: Path) -> None:
    """Write to a temporary file in the same folder, then rename: a crash or a concurrent
    reader (search workers) never sees half a cache file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_cached(path: Path) -> dict | None:
    """The cached tensors at `path`, or None when absent or unreadable (then rebuilt)."""
    if not path.is_file():
        return None
    try:
        return torch.load(path, weights_only=True)
    except Exception:  # a cache file from another torch version or a damaged disk: rebuild
        return None


def resize_uint8(x: torch.Tensor, res: int, chunk: int = 4096) -> torch.Tensor:
    """(N, C, H, W) uint8 -> (N, C, res, res) uint8, bilinear; antialiased when shrinking so
    small resolutions do not alias. Chunked to bound the float copy's memory (CIFAR: 60k)."""
    if x.shape[-2:] == (res, res):
        return x.contiguous()
    shrink = res < min(x.shape[-2:])
    out = [F.interpolate(part.float(), size=(res, res), mode="bilinear", align_corners=False,
                         antialias=shrink).round_().clamp_(0, 255).to(torch.uint8)
           for part in x.split(chunk)]
    return torch.cat(out) if out else x.new_zeros((0, x.shape[1], res, res))


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Indices (kept, held_out): `fraction` of every class held out, chosen with `seed`.
    Per class, so a small validation set still has every class in its natural proportion."""
    rng = np.random.default_rng(seed)
    kept, held = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        n = int(round(len(idx) * fraction))
        held.append(idx[:n])
        kept.append(idx[n:])
    kept, held = np.concatenate(kept), np.concatenate(held)
    return np.sort(kept), np.sort(held)


def seeded_subset(n: int, limit: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random subset of size min(n, limit) (all when limit is None)."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))
