"""The per-layer lookup-table latency predictor.

MnasNet times every sampled model on the phone (Tan et al. 2019, Sec. 3); a lookup table of
per-layer latencies (as in ProxylessNAS/FBNet, which followed it) predicts a network as the sum
of its layers, each `Layer.config()` (op, kernel, exp_ratio, se_ratio, in/out channels, stride,
input resolution, skip, act; stem, head and classifier included) timed once on this host.

Each isolated layer timing also contains one backend call overhead (argument checks, graph
executor entry: tens of microseconds with frozen TorchScript) that a whole network pays once, not
once per layer; left in, it makes the sum of ~20 layers over-predict small models. The table
therefore times a near-empty module once per fingerprint (`call_overhead`) and stores each layer
net of it. Isolated layers also miss what a whole network adds (global pooling, a colder cache at
each layer boundary), so the sum otherwise runs low (10-20% on this CPU,
docs/latency_protocol.md). An optional linear correction `ms = scale * sum + offset`, fitted
on a few whole-network measurements by least squares on *relative* error, removes that bias;
it is stored per fingerprint in the latency database next to the table. Layers are always
timed by the plain protocol; when whole networks are paired with a reference (host.py), the
correction also carries the layer sum onto the reference's anchored scale.

Where layers are timed is pluggable: the `timer` is any `LayerTimer` (base.py), this host
(`HostLatencySource`, default) or a phone (`mnas_core.phone.PhoneLatency`, each layer exported to
its own .pte); its `latency(arch)` times whole networks for the correction.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

import numpy as np

from ..arch import Architecture
from ..layers import Layer, expand_layers
from .base import LatencyResult, LatencySource, LayerTimer
from .db import LatencyDB, layer_key
from .fingerprint import fingerprint_id
from .host import HostLatencyConfig, HostLatencySource


# The table row holding the per-call overhead (never a Layer.config(), whose first item is a kind).
OVERHEAD_CONFIG = ("call-overhead",)


@dataclass(frozen=True)
class LutConfig:
    """The table's backend/threads (as a HostLatencyConfig) and the per-layer timing protocol.
    `measure_missing` lets `latency` time unseen layers on the fly (incremental table);
    False makes an unseen layer a ValueError. `calibrated` applies the fitted correction."""

    threads: int = 1
    backend: str = "torchscript"
    channels_last: bool = True
    timer: str = "auto"
    reference: str | None = HostLatencyConfig.reference  # whole networks only (host.py doc)
    layer_warmup: int = 3
    layer_runs: int = 10
    layer_blocks: int = 3
    calibrated: bool = True
    measure_missing: bool = True
    db_path: str | None = None

    def network_config(self) -> HostLatencyConfig:
        """The full host protocol for whole networks (the correction's measurements), on the
        table's backend, threads, clock and reference."""
        return HostLatencyConfig(threads=self.threads, backend=self.backend,
                                 channels_last=self.channels_last, timer=self.timer,
                                 reference=self.reference, db_path=self.db_path)

    def host_config(self) -> HostLatencyConfig:
        """The protocol used to time one layer: the network protocol with fewer runs."""
        return replace(self.network_config(), warmup=self.layer_warmup, runs=self.layer_runs,
                       blocks=self.layer_blocks, max_remeasure=1)


def fit_correction(raw: Iterable[float], measured: Iterable[float]) -> tuple[float, float]:
    """(scale, offset) minimising sum(((scale*raw + offset) - measured) / measured)^2): the
    relative error, so small and large models weigh alike."""
    x, y = np.asarray(list(raw), float), np.asarray(list(measured), float)
    if len(x) < 2 or np.ptp(x) == 0:
        raise ValueError("calibration needs at least 2 models with different predicted sums")
    if np.any(y <= 0):
        raise ValueError("calibration needs positive measured latencies")
    A = np.stack([x / y, 1.0 / y], axis=1)
    (scale, offset), *_ = np.linalg.lstsq(A, np.ones_like(y), rcond=None)
    return float(scale), float(offset)


MAX_MEMO = 100_000  # architectures whose raw sums a predictor keeps (~0.3 KB each)


class LutPredictor(LatencySource):
    """Predict latency as the (calibrated) sum of stored per-layer latencies."""

    name = "predicted"

    def __init__(self, config: LutConfig | None = None, db: LatencyDB | None = None,
                 timer: LayerTimer | None = None):
        self.config = config or LutConfig()
        self._own_timer = timer is None  # a timer or database passed in is the caller's
        self._timer = timer or HostLatencySource(self.config.host_config(), db=db)
        self._db, self._own_db = db, db is None
        self._table: dict[str, float] | None = None  # loaded from the database on first use
        self._calibration: tuple[float, float, int] | None = None
        # Raw sums of architectures already predicted. Valid for good: the table only ever
        # gains configs (a stored one is never re-timed), and a search meets the same
        # architecture again and again (a converging controller samples few others).
        self._sums: dict[Architecture, float] = {}

    @property
    def db(self) -> LatencyDB:
        if self._db is None:
            self._db = self._timer.db
        return self._db

    def close(self) -> None:
        if self._own_timer:
            self._timer.close()  # and with it the database it opened
        if self._own_db:
            self._db = None  # the timer's: asked for again after a close

    @property
    def timer(self) -> LayerTimer:
        """Where layers are timed (this host's source, or a phone)."""
        return self._timer

    def table_fingerprint(self) -> str:
        """Fingerprint of the layer timings: the timer's (machine, backend, threads)."""
        return self._timer.fingerprint()

    def fingerprint(self) -> str:
        info = {**self._timer.fingerprint_info(), "predictor": "lut",
                "calibrated": self.config.calibrated}
        return fingerprint_id(info)

    # ------------------------------------------------------------- the table
    def table(self) -> dict[str, float]:
        if self._table is None:
            self._table = self.db.get_layers(self.table_fingerprint())
            self._calibration = self.db.get_calibration(self.table_fingerprint())
        return self._table

    def missing(self, archs: Iterable[Architecture]) -> list[Layer]:
        """Unseen layer configurations of `archs`, one Layer per config, in first-seen order."""
        table, seen, out = self.table(), set(), []
        for arch in archs:
            for L in expand_layers(arch):
                key = layer_key(L.config())
                if key not in table and key not in seen:
                    seen.add(key)
                    out.append(L)
        return out

    def build(self, archs: Iterable[Architecture], progress: bool = True) -> int:
        """Time every unseen layer config of `archs` (incremental; each stored as soon as it is
        timed, so an interrupted build keeps its progress). Returns how many were timed."""
        todo = self.missing(list(archs))
        if not todo:
            return 0
        from tqdm.auto import tqdm
        fp = self.table_fingerprint()
        self.db.put_fingerprint(fp, self._timer.fingerprint_info())
        overhead = self.call_overhead()
        for L in tqdm(todo, desc="timing layers", unit="layer", disable=not progress):
            t = self._timer.measure_layer(L)
            net = max(t.ms - overhead, 0.0)
            self.db.put_layer(L.config(), fp, net, t.p10, t.p90, t.cv,
                              t.total_runs,
                              extra={**t.summary(), "gross_ms": t.ms, "overhead_ms": overhead})
            self.table()[layer_key(L.config())] = net
        return len(todo)

    def call_overhead(self) -> float:
        """Milliseconds one backend call costs beyond its work (timed once per fingerprint)."""
        key = layer_key(OVERHEAD_CONFIG)
        if key not in self.table():
            t = self._timer.measure_call_overhead()
            self.db.put_layer(OVERHEAD_CONFIG, self.table_fingerprint(), t.ms, t.p10, t.p90,
                              t.cv, t.total_runs, extra=t.summary())
            self.table()[key] = t.ms
        return self.table()[key]

    def layer_latencies(self, arch: Architecture) -> list[tuple[Layer, float]]:
        """Each layer of `arch` with its stored latency (timing unseen ones if allowed)."""
        layers = expand_layers(arch)
        keys = [layer_key(L.config()) for L in layers]
        table = self.table()
        if any(k not in table for k in keys):
            if not self.config.measure_missing:
                n = len(self.missing([arch]))
                raise ValueError(f"{n} layer configuration(s) of this architecture are not in "
                                 "the lookup table; run `mnas latency build-table` for it")
            self.build([arch], progress=False)
        return [(L, table[k]) for L, k in zip(layers, keys)]

    def raw_sum(self, arch: Architecture) -> float:
        if arch not in self._sums:
            if len(self._sums) >= MAX_MEMO:  # a long-lived app process: stay bounded
                self._sums.clear()
            self._sums[arch] = float(sum(ms for _, ms in self.layer_latencies(arch)))
        return self._sums[arch]

    # ------------------------------------------------------------- calibration
    def calibration(self) -> tuple[float, float, int] | None:
        self.table()
        return self._calibration

    def pick_calibration(self, archs: Iterable[Architecture], k: int) -> list[int]:
        """Indices of `k` of `archs` spread evenly over their raw layer sums (smallest and
        largest included). The sums need no measurement, so the pick is made before any model
        is measured; models at both ends pin the line's slope, where the first `k` of a random
        sample may cluster (on this host, one run of benchmarks/latency.py had 78% of held-out
        models within +-10% when fitted on the first 10 random models, 93% on 10 spread ones)."""
        archs = list(archs)
        if not 2 <= k <= len(archs):
            raise ValueError(f"calibration needs 2 to {len(archs)} models, got k={k}")
        order = np.argsort([self.raw_sum(a) for a in archs], kind="stable")
        return [int(order[i]) for i in np.round(np.linspace(0, len(archs) - 1, k)).astype(int)]

    def calibrate(self, archs: Iterable[Architecture],
                  measured: LayerTimer | None = None) -> tuple[float, float]:
        """Fit and store the linear correction from whole-network measurements of `archs`
        (taken with `measured`: by default a full-protocol host source of the same backend,
        or the phone itself when the table was timed there)."""
        archs = list(archs)
        if measured is None and not isinstance(self._timer, HostLatencySource):
            measured = self._timer
        if measured is None:
            measured = HostLatencySource(self.config.network_config(), db=self.db)
        if measured.fingerprint() != self.table_fingerprint():
            raise ValueError("calibration measurements must come from the table's own backend, "
                             "threads and machine (fingerprints differ)")
        raw = [self.raw_sum(a) for a in archs]
        ms = [measured.latency(a).ms for a in archs]
        scale, offset = fit_correction(raw, ms)
        self.db.put_calibration(self.table_fingerprint(), scale, offset, len(archs))
        self._calibration = (scale, offset, len(archs))
        return scale, offset

    # ------------------------------------------------------------- the source
    def latency(self, arch: Architecture) -> LatencyResult:
        ms = self.raw_sum(arch)
        cal = self.calibration() if self.config.calibrated else None
        if cal is not None:
            ms = cal[0] * ms + cal[1]
        backend = self._timer.fingerprint_info().get("backend", "unknown")
        return LatencyResult(ms=ms, source=self.name, fingerprint=self.fingerprint(), runs=0,
                             backend=f"lut-{backend}" + ("-calibrated" if cal else ""))


def covering_archs(space, deploy=lambda a: a, chunk: int = 500, max_chunks: int = 60,
                   seed: int = 0) -> list[Architecture]:
    """Architectures of `space` (each passed through `deploy`, e.g. to 224x224) that between
    them hold every layer configuration met in random samples, drawn in chunks of `chunk`
    until a chunk adds none (at most max_chunks): what a table must hold for a search of
    thousands of predictions to time nothing. A rarer configuration is timed when met."""
    rng, seen, keep = np.random.default_rng(seed), set(), []
    for _ in range(max_chunks):
        before = len(seen)
        for _ in range(chunk):
            arch = deploy(space.sample(rng))
            keys = {layer_key(layer.config()) for layer in expand_layers(arch)}
            if not keys <= seen:
                seen |= keys
                keep.append(arch)
        if len(seen) == before:
            break
    return keep
