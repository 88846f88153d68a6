"""Searches in detached processes, for the app: start, resume and stop a run by its file.

The search loop itself (mnas_core.search) knows nothing of processes; this module starts
`python -m mnas_core search --resume RUN` in its own session, so the run outlives the page that
started it, and stops it with SIGINT, which the loop turns into a clean "stopped".
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .runtime import tuned_env
from .search import SearchConfig, start_run
from .store import RunStatus, read_meta, writer_of


def spawn_search(cfg: SearchConfig, path: str | Path, name: str | None = None) -> int:
    """Create the run file and start the search in a detached process; returns its pid.
    Output goes to PATH.log next to the run file."""
    start_run(cfg, path, name).close()
    return resume_search(path)


def resume_search(path: str | Path) -> int:
    """Continue the run at `path` in a detached process; returns its pid. ValueError when a
    search already writes it (the child would refuse too: RunStore's writer lock)."""
    path = Path(path)
    holder = writer_of(path)
    if holder:
        raise ValueError(f"{path} is already being written by {holder}")
    log = open(path.with_suffix(".log"), "ab")
    proc = subprocess.Popen([sys.executable, "-m", "mnas_core", "search", "--resume", str(path),
                             "--no-progress"], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=tuned_env(), start_new_session=True)
    log.close()
    return proc.pid


def stop_search(path: str | Path) -> None:
    """Ask a running search to stop (SIGINT): finished trials stay, in-flight ones are lost and
    re-run on resume."""
    meta = read_meta(path)
    if meta["status"] == RunStatus.RUNNING and meta["pid"]:
        os.kill(meta["pid"], signal.SIGINT)
