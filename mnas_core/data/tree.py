"""Image trees to read a folder dataset from: a folder on disk, or a .tar/.tar.gz/.tgz archive
read in place. Both answer the same three questions (subfolders, image files, file bytes), so
the layout rules in folder.py are written once.

An archive is never extracted: members are read as bytes (tarfile's `extractfile`), only
regular files count, and names that are absolute or climb out with ``..`` are ignored, so a
hostile archive cannot write anywhere or point outside itself. A member larger than
MAX_IMAGE_BYTES is reported unreadable rather than read into memory.
"""
from __future__ import annotations

import os
import posixpath
import tarfile
import zlib
from pathlib import Path
from typing import Iterator

from .common import DatasetError

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")
MAX_IMAGE_BYTES = 64 << 20
# Errors a damaged archive raises while it is read (a truncated gzip stream: EOFError; a bad
# CRC or deflate block: zlib.error or gzip.BadGzipFile, an OSError).
_TAR_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def archive_stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


class DiskTree:
    """A folder on disk. Paths are relative to `root`, '/'-separated."""

    def __init__(self, root: Path):
        if not root.is_dir():
            raise DatasetError(f"image folder {root} does not exist or is not a folder")
        self.root = root
        self.where = f"image folder {root}"

    def _entries(self, rel: str) -> list[os.DirEntry]:
        try:
            with os.scandir(self.root / rel) as it:  # d_type: no stat per file
                return list(it)
        except (FileNotFoundError, NotADirectoryError):
            return []

    def dirs(self, rel: str) -> list[str]:
        return sorted(e.name for e in self._entries(rel) if e.is_dir() and not _hidden(e.name))

    def files(self, rel: str) -> list[str]:
        return sorted(e.name for e in self._entries(rel)
                      if os.path.splitext(e.name)[1].lower() in EXTENSIONS and e.is_file())

    def stat(self, rel: str) -> tuple[int, int]:
        st = (self.root / rel).stat()
        return st.st_size, st.st_mtime_ns

    def read(self, rels: list[str]) -> Iterator[tuple[int, bytes | Exception]]:
        for i, rel in enumerate(rels):
            try:
                yield i, (self.root / rel).read_bytes()
            except OSError as err:
                yield i, err

    def close(self) -> None:
        pass


class TarTree:
    """A tar archive (plain or compressed), listed once and read member by member. When its
    top level is a single folder (``cifar10/train/...``), that folder is the root."""

    def __init__(self, path: Path):
        self.path = path
        self.where = f"archive {path}"
        self.tar = None
        try:
            self.tar = tarfile.open(path, "r:*")
            members = self.tar.getmembers()  # reads the whole archive: damage shows here
        except _TAR_ERRORS as err:
            self.close()
            self._fail(err)
        self._dirs: dict[str, set[str]] = {"": set()}
        self._files: dict[str, dict[str, tarfile.TarInfo]] = {}
        for m in members:
            name = posixpath.normpath(m.name)  # "./train/x" -> "train/x"
            parts = name.split("/")
            if name.startswith("/") or ".." in parts or name == "." or any(map(_hidden, parts)):
                continue
            if m.isdir():
                self._add_dirs(parts)
            elif m.isfile():  # links, devices and fifos are not images
                self._add_dirs(parts[:-1])
                self._files.setdefault("/".join(parts[:-1]), {})[parts[-1]] = m
        self.prefix = ""
        while (len(self._dirs.get(self.prefix, ())) == 1 and not self._files.get(self.prefix)
               and next(iter(self._dirs[self.prefix])) != "train"):
            self.prefix = posixpath.join(self.prefix, next(iter(self._dirs[self.prefix])))

    def _fail(self, err: Exception):
        why = " ".join(str(err).split())  # tarfile lists each method it tried on its own line
        raise DatasetError(f"{self.path} is not a readable tar archive (damaged, truncated or "
                           f"not a tar): {type(err).__name__}: {why}") from None

    def _add_dirs(self, parts: list[str]) -> None:
        for k in range(len(parts)):
            parent = "/".join(parts[:k])
            self._dirs.setdefault(parent, set()).add(parts[k])
            self._dirs.setdefault("/".join(parts[: k + 1]), set())

    def _full(self, rel: str) -> str:
        return posixpath.normpath(posixpath.join(self.prefix, rel)) if rel else self.prefix

    def dirs(self, rel: str) -> list[str]:
        return sorted(self._dirs.get(self._full(rel), ()))

    def files(self, rel: str) -> list[str]:
        return sorted(n for n in self._files.get(self._full(rel), {})
                      if posixpath.splitext(n)[1].lower() in EXTENSIONS)

    def _member(self, rel: str) -> tarfile.TarInfo:
        folder, name = posixpath.split(self._full(rel))
        return self._files[folder][name]

    def read(self, rels: list[str]) -> Iterator[tuple[int, bytes | Exception]]:
        """Members in archive order, so a compressed archive is decompressed in one forward
        pass (tarfile re-reads a gzip stream from the start on every backward seek)."""
        members = [self._member(r) for r in rels]
        for i in sorted(range(len(rels)), key=lambda k: members[k].offset_data):
            m = members[i]
            if m.size > MAX_IMAGE_BYTES:
                yield i, ValueError(f"{m.size} bytes, more than an image may have here")
                continue
            try:
                yield i, self.tar.extractfile(m).read()
            except _TAR_ERRORS as err:
                self._fail(err)

    def close(self) -> None:
        if self.tar is not None:
            self.tar.close()
