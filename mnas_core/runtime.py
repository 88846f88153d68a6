"""Process-level settings that must be in place before a process that trains or measures starts.

glibc's default malloc returns big freed blocks to the OS and maps fresh ones on every call;
on a 2-core host that made training ~2x slower and made eager latency jump between two levels
from one process to the next (docs/facts.md). These tunables keep freed memory in the
process. They are read by glibc at process start, so a running process cannot apply them to
itself: entry points re-exec once (`reexec_with_malloc_tunables`) and child processes inherit
the environment (`tuned_env`).
"""
from __future__ import annotations

import os
import sys

MALLOC_TUNABLES = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967296"


def malloc_tuned(env: dict | None = None) -> bool:
    env = os.environ if env is None else env
    return "glibc.malloc.mmap_max=0" in env.get("GLIBC_TUNABLES", "")


def tuned_env(env: dict | None = None) -> dict:
    """A copy of `env` (default: this process's) with the malloc tunables added."""
    env = dict(os.environ if env is None else env)
    if not malloc_tuned(env):
        current = env.get("GLIBC_TUNABLES")
        env["GLIBC_TUNABLES"] = f"{current}:{MALLOC_TUNABLES}" if current else MALLOC_TUNABLES
    return env


def reexec_with_malloc_tunables(module: str, argv: list[str]) -> None:
    """Replace this process by `python -m module argv...` with the tunables set, unless they
    already are (or MNAS_NO_REEXEC=1). Returns only when no re-exec is needed."""
    if malloc_tuned() or os.environ.get("MNAS_NO_REEXEC") == "1" or sys.platform != "linux":
        return
    os.execve(sys.executable, [sys.executable, "-m", module, *argv], tuned_env())
