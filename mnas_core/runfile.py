"""What makes a run file safe to share and to write, apart from its tables (mnas_core.store):

- the strategy state codec: tensors and plain data through torch.save, read back with torch's
  weights_only unpickler, which refuses everything else, so opening a run file runs no code;
- the one-writer lock: an exclusive flock on RUN.lock beside the file.
"""
from __future__ import annotations

import fcntl
import io
import os
import socket
from pathlib import Path


def encode_state(state: dict, check: bool = True) -> bytes:
    """A strategy's state as bytes that `decode_state` reads back; with `check`, ValueError
    when it holds anything but tensors and plain data (it could not be resumed safely)."""
    import torch  # here, not at the top: reading a run's tables must not need torch

    buf = io.BytesIO()
    torch.save(state, buf)
    blob = buf.getvalue()
    if check:
        decode_state(blob, "the strategy's own state")  # refuse now what a resume would refuse
    return blob


def decode_state(blob: bytes, where: str | Path) -> dict:
    """Tensors, numbers, strings, lists, tuples and dicts, or ValueError. torch's weights_only
    unpickler never imports or calls anything outside that set, so no code in `blob` runs."""
    import torch

    try:
        state = torch.load(io.BytesIO(blob), weights_only=True)
    except Exception as err:  # UnpicklingError, RuntimeError, EOFError, ...: all mean unsafe
        kind = type(err).__name__
        raise ValueError(f"{where}: the stored strategy state is not plain tensors and data "
                         f"({kind}); refusing to load it, since that could run code") from None
    if not isinstance(state, dict):
        raise ValueError(f"{where}: the stored strategy state is a {type(state).__name__}, "
                         "not a dict")
    return state


class WriterLock:
    """An exclusive, non-blocking flock on RUN.lock: at most one writer per run file.

    flock (not SQLite's own fcntl locks) because the kernel releases it when the holding process
    dies however it dies, and because closing a lock-file descriptor never touches the fcntl
    locks SQLite holds on the database itself. The file is left in place when released:
    unlinking a lock file lets two processes lock two different inodes."""

    def __init__(self, run: Path):
        self.path = run.with_name(run.name + ".lock")
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise ValueError(f"{run}: cannot write beside it ({err.strerror}); a run can "
                             "only be written where its folder is writable") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(self.fd)
            raise ValueError(f"{run} is already being written by {holder}; stop that search "
                             "first, or wait for it to end") from None
        try:  # the holder's name is a courtesy: a full disk must not stop the lock
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        except OSError:
            pass

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def writer_of(run: str | Path) -> str | None:
    """'pid N on HOST' of the process writing `run`, or None when nobody is. Takes no lock
    that outlives the call and creates no file."""
    path = Path(run).with_name(Path(run).name + ".lock")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
    finally:
        os.close(fd)  # also releases the probe's lock when it got one
    return None
