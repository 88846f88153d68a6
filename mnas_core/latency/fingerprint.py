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


# The vector extensions that decide which kernels oneDNN and XNNPACK run: two CPUs sold under
# one name ("AMD EPYC" on cloud VMs) can differ in them, and did here by ~3x in latency.
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
              "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16",
              "amx_int8", "asimd", "asimddp", "sve", "sve2", "i8mm", "bf16")


def _cpuinfo(text: str) -> dict[str, str]:
    """The fields of /proc/cpuinfo's first processor (every core of a VM reports the same)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_identity(text: str | None = None) -> dict[str, str]:
    """What identifies the CPU a figure was timed on: its name, its exact model (vendor,
    family, model, stepping) and the vector extensions it has, from /proc/cpuinfo (`text`
    for tests); the platform's processor name where there is none."""
    if text is None:
        try:
            with open("/proc/cpuinfo") as f:
                text = f.read()
        except OSError:
            text = ""
    info = _cpuinfo(text)
    name = info.get("model name") or info.get("Model") or platform.processor() \
        or platform.machine()
    exact = " ".join(f"{k} {info[k]}" for k in ("vendor_id", "cpu family", "model",
                                                 "stepping", "CPU implementer", "CPU part")
                     if info.get(k))
    have = set((info.get("flags") or info.get("Features") or "").split())
    return {"cpu": name, "cpu_id": exact, "simd": " ".join(f for f in SIMD_FLAGS if f in have)}


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
        **cpu_identity(),
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
