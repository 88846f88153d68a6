"""The latency-source interface: every latency figure in MNAS Explorer comes through it.

Contract (tests/latency/test_contract.py runs it against every implementation):
- `latency(arch)` returns a `LatencyResult` for batch 1 at the architecture's own resolution,
  in milliseconds, or raises ValueError with a clear message for an architecture that cannot
  run (never a deep PyTorch stack trace).
- The result's `source` says where the figure came from ("measured", "predicted" or "phone")
  and its `fingerprint` identifies the machine/backend/library versions that produced it;
  figures with different fingerprints are never mixed or cached under one key.
- Calling `latency` twice on the same architecture gives a cached figure where the source
  caches (`cached=True` on the second result); sources are deterministic given their cache.
- `fingerprint()` is cheap and has no side effects.
- A source owns no worker threads; it may keep a database connection.
- `noisy=True` flags a measured figure whose runs stayed too spread out (CV above the source's
  threshold) after its re-measurements; callers may re-measure later or down-weight it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

from ..arch import Architecture


@dataclass(frozen=True)
class LatencyResult:
    ms: float               # the figure used for the reward: median latency in milliseconds
    source: str             # "measured" | "predicted" | "phone"
    fingerprint: str        # short id of the device fingerprint (see fingerprint())
    p10: float | None = None
    p90: float | None = None
    cv: float | None = None  # coefficient of variation of the timed runs
    runs: int = 0            # timed runs behind the figure (0 for a prediction)
    backend: str = ""        # "eager", "executorch-xnnpack", "lut", ...
    cached: bool = False
    noisy: bool = False      # CV stayed above the source's threshold after re-measuring:
                             # the machine was too busy for this figure to be trusted

    def to_dict(self) -> dict:
        return asdict(self)


class LatencySource(Protocol):
    name: str  # "measured" | "predicted" | "phone"

    def fingerprint(self) -> str:
        """Short stable id of where figures come from (machine, backend, threads, versions)."""
        ...

    def latency(self, arch: Architecture) -> LatencyResult:
        ...
