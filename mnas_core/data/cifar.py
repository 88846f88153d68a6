"""CIFAR-10 and CIFAR-100 from the official "python version" archives (Krizhevsky 2009).

Sources, in order: an extracted folder or an archive file given as `path`; else the archive in
the cache folder; else a download from `url` (default: the official one). A download goes to a
temporary file, is checked against its length and md5, and only then renamed into the cache,
so a failed or partial download never poisons it. Decoded tensors are cached per resolution
under the archive's md5; when the md5 is known beforehand (the official one, or
DataConfig.md5) a cached load is one torch.load and reads no archive at all.

Safety: the batches are pickles, and unpickling runs whatever code a pickle names. A URL
override, a mirror or a downloaded folder is not necessarily trusted, so the batches are read
with a restricted unpickler (`_ArrayUnpickler`) that resolves only the numpy array
reconstruction functions the official files use; anything else is refused as corrupt before
it is called. The archive is read member by member in memory, never extracted.

Why not torchvision.datasets.CIFAR10 (0.29.1), which the project installs: its loader calls
plain `pickle.load` on the batches, which cannot be made safe; `download_url` opens the URL
with no timeout (a silent server hangs it for ever), writes in place, retries an https URL
over plain http, and keeps a truncated file when no md5 is given; `extract_archive` calls
`extractall` with no filter on Python 3.11. The constants below are torchvision's (url, md5,
member names; tests/data/test_cifar.py checks them against it), so both name the same files.
"""
from __future__ import annotations

import hashlib
import http.client
import io
import os
import pickle
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .common import DatasetError, atomic_torch_save, load_cached, md5_of, resize_uint8


@dataclass(frozen=True)
class CifarSpec:
    url: str
    md5: str
    folder: str                 # top folder inside the archive
    train: tuple[str, ...]      # training batch members
    test: tuple[str, ...]
    meta: str
    label_key: bytes
    names_key: bytes
    num_classes: int


SPECS = {
    "cifar10": CifarSpec("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                         "c58f30108f718f92721af3b95e74349a", "cifar-10-batches-py",
                         tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",),
                         "batches.meta", b"labels", b"label_names", 10),
    "cifar100": CifarSpec("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                          "eb9058c3a382ffc7106e4002c42a8d85", "cifar-100-python",
                          ("train",), ("test",), "meta", b"fine_labels", b"fine_label_names",
                          100),
}


class _ArrayUnpickler(pickle.Unpickler):
    """The batches are pickles; unpickling arbitrary data runs code. A URL override or a
    downloaded folder is not necessarily trusted, so only numpy array reconstruction is let
    through (what the official files contain)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy", "ndarray"),
               ("numpy", "dtype"), ("numpy.core.numeric", "_frombuffer"),
               ("numpy._core.numeric", "_frombuffer"),
               ("_codecs", "encode")}  # how a protocol-2 pickle spells bytes

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def download(url: str, dest: Path, md5: str | None, timeout: float = 60.0) -> Path:
    """Fetch `url` to `dest` atomically, verifying length and md5 before the rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    h, got = hashlib.md5(), 0
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            expected = resp.headers.get("Content-Length")
            while block := resp.read(1 << 20):
                out.write(block)
                h.update(block)
                got += len(block)
        if expected is not None and got != int(expected):
            raise DatasetError(f"download of {url} was truncated: {got} of {expected} bytes; "
                               f"{dest.name} was not cached")
        if md5 and h.hexdigest() != md5:
            raise DatasetError(f"download of {url} failed its checksum: md5 {h.hexdigest()}, "
                               f"expected {md5}; {dest.name} was not cached")
        os.replace(tmp, dest)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        raise DatasetError(f"could not download {dest.name} from {url}: {err}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest


def _unpickle(data: bytes, where: str) -> dict:
    try:
        d = _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as err:  # truncated or foreign data can fail in many ways
        raise DatasetError(f"{where} is corrupt: {type(err).__name__}: {err}") from None
    if not isinstance(d, dict):
        raise DatasetError(f"{where} is not a CIFAR batch (a {type(d).__name__}, not a dict)")
    return d


def _batch(d: dict, spec: CifarSpec, where: str) -> tuple[np.ndarray, np.ndarray]:
    """A batch dict -> ((N, 3, 32, 32) uint8, (N,) int64), its shape and labels checked."""
    if b"data" not in d or spec.label_key not in d:
        raise DatasetError(f"{where} lacks the b'data' or {spec.label_key!r} entry")
    x, y = np.asarray(d[b"data"]), np.asarray(d[spec.label_key], dtype=np.int64)
    if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3 * 32 * 32 or len(y) != len(x):
        raise DatasetError(f"{where}: data {x.dtype}{list(x.shape)} with {len(y)} labels, "
                           "expected uint8 [N, 3072] and N labels")
    if len(y) and (y.min() < 0 or y.max() >= spec.num_classes):
        raise DatasetError(f"{where}: labels outside 0..{spec.num_classes - 1}")
    return x.reshape(-1, 3, 32, 32), y


class _Reader:
    """Reads members from an archive or an extracted folder, naming the file in every error."""

    def __init__(self, source: Path, spec: CifarSpec):
        self.source, self.spec = source, spec
        self.tar = None
        if source.is_file():
            try:
                self.tar = tarfile.open(source, "r:gz")
                self.names = {m.name: m for m in self.tar.getmembers() if m.isfile()}
            except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
                raise DatasetError(f"{source} is not a readable CIFAR archive (corrupt or "
                                   f"truncated): {err}") from None
        elif not source.is_dir():
            raise DatasetError(f"CIFAR source {source} does not exist")

    def read(self, member: str) -> bytes:
        rel = f"{self.spec.folder}/{member}"
        if self.tar is None:  # an extracted folder: the top folder itself or its parent
            for cand in (self.source / member, self.source / rel):
                if cand.is_file():
                    return cand.read_bytes()
            raise DatasetError(f"{self.source}: file {rel} is missing")
        if rel not in self.names:
            raise DatasetError(f"{self.source}: member {rel} is missing from the archive")
        try:
            return self.tar.extractfile(self.names[rel]).read()
        except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
            raise DatasetError(f"{self.source}: member {rel} is truncated or corrupt: "
                               f"{err}") from None

    def close(self):
        if self.tar is not None:
            self.tar.close()


def decode(source: Path, spec: CifarSpec) -> dict:
    """Every batch of the archive/folder as tensors: train/test x (N,3,32,32) uint8, y int64."""
    reader = _Reader(source, spec)
    try:
        out = {}
        for split, members in (("train", spec.train), ("test", spec.test)):
            parts = [_batch(_unpickle(reader.read(m), f"{source}: {m}"), spec, f"{source}: {m}")
                     for m in members]
            out[f"{split}_x"] = torch.from_numpy(np.concatenate([p[0] for p in parts]))
            out[f"{split}_y"] = torch.from_numpy(np.concatenate([p[1] for p in parts]))
        meta = _unpickle(reader.read(spec.meta), f"{source}: {spec.meta}")
        names = meta.get(spec.names_key, [])
        out["classes"] = [n.decode() if isinstance(n, bytes) else str(n) for n in names] \
            or [str(i) for i in range(spec.num_classes)]
        return out
    finally:
        reader.close()


def _folder_key(source: Path) -> str:
    """What identifies an extracted folder's content for the tensor cache."""
    stats = sorted((str(p.relative_to(source)), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in source.rglob("*") if p.is_file())
    return hashlib.md5(repr((str(source.resolve()), stats)).encode()).hexdigest()


def _cache_file(cache_dir: Path, name: str, key: str, resolution: int) -> Path:
    return cache_dir / f"{name}-{key[:16]}-r{resolution}.pt"


def load_cifar(name: str, resolution: int, cache_dir: Path, path: str | None = None,
               url: str | None = None, md5: str | None = None, download_ok: bool = True) -> dict:
    """Tensors of CIFAR `name` at `resolution`, from `path`, the cache or a download."""
    spec = SPECS[name]
    md5 = md5 or (None if url else spec.md5)  # a custom URL serves another file: no default md5
    source = (Path(path).expanduser() if path is not None else
              cache_dir / Path(urllib.request.urlparse(url or spec.url).path).name)
    if path is not None and not source.exists():
        raise DatasetError(f"CIFAR source {source} does not exist")
    # An archive whose md5 is known is named by it: a cached load reads no archive (hashing
    # 170 MB took longer than the torch.load itself).
    early = md5 is not None and not source.is_dir()
    if early and (data := load_cached(_cache_file(cache_dir, name, md5, resolution))):
        return data
    if path is None:
        if source.is_file() and md5 and md5_of(source) != md5:
            source.unlink()  # e.g. damaged on disk or left by an older version: fetch again
        if not source.is_file():
            if not download_ok:
                raise DatasetError(f"{source} is not in the cache and downloading is off")
            download(url or spec.url, source, md5)
        key = md5 or md5_of(source)
    elif source.is_file():
        key = md5_of(source)
        if md5 and key != md5:
            raise DatasetError(f"{source} failed its checksum: md5 {key}, expected {md5}")
    else:
        key = _folder_key(source)
    cache = _cache_file(cache_dir, name, key, resolution)
    data = None if early else load_cached(cache)
    if data is None:
        data = decode(source, spec)
        data["train_x"] = resize_uint8(data["train_x"], resolution)
        data["test_x"] = resize_uint8(data["test_x"], resolution)
        atomic_torch_save(data, cache)
    return data
