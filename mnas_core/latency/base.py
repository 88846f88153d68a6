"""The latency-source interface: every latency figure in MNAS Explorer comes through it, tagged
with where it came from. mnas_core.testing.latency checks the contract."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from ..arch import Architecture

if TYPE_CHECKING:  # annotations only: db.py imports this module
    from ..layers import Layer
    from .db import LatencyDB


class SourceError(RuntimeError):
    """The source itself cannot give figures (no phone answers, a device was lost): the
    search stops, and the message says how to fix it. Never a ValueError, which fails only
    the candidate being timed."""


@dataclass(frozen=True)
class LatencyResult:
    ms: float               # the figure used for the reward: median latency in milliseconds
    source: str             # the source's registered name (registry.LATENCY_SOURCES)
    fingerprint: str        # short id of the device fingerprint (see fingerprint())
    p10: float | None = None
    p90: float | None = None
    cv: float | None = None  # coefficient of variation of the timed runs
    runs: int = 0            # timed runs behind the figure (0 for a prediction)
    backend: str = ""        # "eager", "executorch-xnnpack", "lut", ...
    cached: bool = False
    noisy: bool = False      # the source does not trust this figure (runs still too spread
                             # out after re-measuring, a throttled phone); never a prediction

    def to_dict(self) -> dict:
        return asdict(self)


class LatencySource(ABC):
    """Where latency figures come from. A registered source (mnas_core.registry.LATENCY_SOURCES)
    is built as `cls(config, db=)` and says its registered name in `name`.

    How it is called: from one thread at a time (the search's main thread, while no worker
    trains, so that training does not slow the measurements), so it needs no locks. It may
    keep a database connection or a device link open between calls.
    """

    name: str  # its name in mnas_core.registry.LATENCY_SOURCES

    def open(self) -> "LatencySource":
        """Make ready what the figures need (connect a phone), so that a setup that cannot
        work fails now, before a search writes anything; returns self. Calling it again is
        harmless. Errors: SourceError. The default has nothing to open."""
        return self

    def close(self) -> None:
        """Let go of what the source opened itself (its latency database, a phone link), so
        that nothing is left open or half-written beside the database (no -wal file). A
        database passed in by the caller stays open: the caller owns it. Harmless to call
        twice or before any figure; a figure asked for afterwards opens what it needs again."""

    @abstractmethod
    def fingerprint(self) -> str:
        """A short, stable, non-empty id of where figures come from (machine or phone model,
        backend, threads, library versions). Figures are stored and compared only under
        their fingerprint, so two setups are never mixed. Callable before any `latency`;
        creates no files; after its first call (which may read a device's identity) it does
        no I/O."""

    @abstractmethod
    def latency(self, arch: Architecture) -> LatencyResult:
        """The latency of `arch` at batch 1 and its own resolution, in milliseconds (`ms` >
        0), with `source` = `name`, `fingerprint` = `fingerprint()` and a non-empty
        `backend`. A measured figure says how many timed runs are behind it (`runs` > 0) and
        their spread (p10 <= ms <= p90, cv >= 0); a prediction has runs = 0 and is never
        `noisy`.

        Asking again for the same architecture gives the same `ms`: a source that measures
        caches its figures (the repeat has `cached=True`) and a prediction is deterministic.

        Errors: ValueError, with a message that names the problem, when `arch` cannot run
        (e.g. a resolution too small for its strides), so that the search fails just that
        candidate; trouble of the source itself (a lost phone) is a SourceError, never a
        ValueError, and stops the search."""


class LayerTimer(LatencySource):
    """A latency source that can also time one layer alone: what a lookup table
    (`mnas_core.latency.lut.LutPredictor`) is built from, on this host or on a phone.

    A timing (what the two measure methods return) has `ms` (> 0), `p10`, `p90` and `cv`
    (None when the runner reports no spread; otherwise p10 <= ms <= p90, cv >= 0),
    `total_runs` (>= 1) and `summary()`, a JSON-able dict stored beside the figure."""

    @property
    @abstractmethod
    def db(self) -> LatencyDB:
        """The latency database this timer stores its figures in (the table is kept there
        too, under the timer's fingerprint)."""

    @abstractmethod
    def fingerprint_info(self) -> dict:
        """The JSON-able facts behind `fingerprint()`, which is
        `latency.fingerprint.fingerprint_id` of them; the same on every call. Stored with the
        table, so a reader can see where its layers were timed."""

    @abstractmethod
    def measure_layer(self, layer: Layer):
        """Time `layer` (one entry of `expand_layers`) alone, now, with this timer's backend,
        and return the timing; writes nothing to the database."""

    @abstractmethod
    def measure_call_overhead(self):
        """Time a near-empty program, now: the backend's cost of one call beyond its work,
        which the table subtracts from every layer; writes nothing to the database."""
