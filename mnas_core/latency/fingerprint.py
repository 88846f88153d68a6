"""Device fingerprints: where a latency figure came from.

MnasNet's reward uses latency measured on one target platform (Tan et al. 2019, Sec. 3), so a
figure is only comparable with figures from the same CPU, thread count, backend and library
versions. Every stored figure carries the short id of such a dict; a change of any field (or of
the measurement protocol) gives a new id, and the cache never mixes the two.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
from importlib import metadata

from ..runtime import malloc_tuned

# Bump when the timing protocol changes so that old figures are not reused as if comparable.
PROTOCOL_VERSION = 2


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def host_fingerprint(backend: str, threads: int, **extra) -> dict:
    """The host's fingerprint for one backend and thread count; `extra` adds protocol fields
    (e.g. channels_last) that change the figures."""
    import torch  # local: importing this module stays cheap
    info = {
        "kind": "host",
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "threads": int(threads),
        "backend": backend,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "protocol": PROTOCOL_VERSION,
        # glibc malloc settings change eager latency by levels (runtime.py), so they are part
        # of where a figure came from.
        "malloc_tuned": malloc_tuned(),
    }
    if backend.startswith("executorch"):
        info["executorch"] = _version("executorch")
    info.update(extra)
    return info


def fingerprint_id(info: dict) -> str:
    """A short stable id: the first 12 hex digits of the SHA-1 of the sorted JSON."""
    text = json.dumps(info, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]
