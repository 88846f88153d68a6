"""Direct latency measurement on this computer's CPU.

The paper measures real latency on the target device instead of trusting a proxy such as FLOPs
(Tan et al. 2019, Sec. 3, Eq. 2 uses LAT(m) measured on a Pixel 1 big core). Here the target is
this CPU: batch 1, eval + inference mode, a fixed thread count (default 1, like the paper's
single core), warm-up, then timed runs.

What a figure is: with the default `reference`, the median over timed runs of the ratio
model/reference times the reference's stored anchor, so every figure of one database shares one
scale and T stays put; plainly (`reference=None`, and every lookup-table layer), the minimum of
the block medians. `noisy=True` marks a result whose CV stayed above `cv_threshold` after
`max_remeasure` attempts. The default clock is the timing thread's CPU time at one thread, wall
time otherwise; the other clock is stored beside it. Why each of these, and the backend choice:
docs/latency_protocol.md.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from .. import zoo
from ..arch import Architecture
from ..builder import build_layer, build_model
from ..layers import Layer, expand_layers
from .base import LatencyResult, LayerTimer
from .db import LatencyDB, cached_latency
from .export import NearlyEmpty, example_input, layer_input, overhead_input
from .fingerprint import fingerprint_id, host_fingerprint

BACKENDS = ("eager", "torchscript", "export", "compile", "executorch")
TIMERS = ("auto", "cpu", "wall")
BACKEND_NAMES = {"eager": "eager", "torchscript": "torchscript-frozen",
                 "export": "torch-export", "compile": "inductor-frozen",
                 "executorch": "executorch-xnnpack"}
# torch 2.14 deprecates torch.jit.trace/freeze. They stay the default backend while they are the
# cheapest one that ranks like the phone's runtime (README "Latency backends" has the figures
# of benchmarks/backends.py behind that), so exactly these three warnings are silenced, nothing
# else: a user gains nothing from a warning about a choice made for them and measured.
JIT_DEPRECATIONS = r"`torch\.jit\.(trace|trace_method|freeze)` is deprecated"
ANCHOR = "anchor"  # database `source` of the reference's anchor figure


@dataclass(frozen=True)
class HostLatencyConfig:
    """How to measure on this host. `db_path` None means the default database
    (db.default_db_path()); ":memory:" keeps figures in this process only."""

    threads: int = 1
    backend: str = "torchscript"    # frozen, channels_last; why: docs/latency_protocol.md
    warmup: int = 5
    runs: int = 10                  # timed runs per block
    blocks: int = 3                 # plain: figure = min over blocks of the block median
    cv_threshold: float = 0.10      # above this the block is too noisy to trust
    max_remeasure: int = 2          # extra attempts when the CV is above the threshold
    channels_last: bool = True      # faster for frozen TorchScript here (docs/)
    timer: str = "auto"             # "cpu" (thread CPU time), "wall", or auto (module docstring)
    seed: int = 0                   # weights do not change the cost, but keep runs identical
    reference: str | None = "mobilenet_v2"  # zoo model paired with every run; None: plain
    db_path: str | None = None

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        for name in ("threads", "runs", "blocks"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.warmup < 0 or self.max_remeasure < 0:
            raise ValueError("warmup and max_remeasure must be >= 0")
        if self.timer not in TIMERS:
            raise ValueError(f"timer must be one of {TIMERS}, got {self.timer!r}")
        if self.timer == "cpu" and self.threads != 1:
            raise ValueError("timer='cpu' needs threads=1: other threads' work is not counted")
        if not self.cv_threshold > 0:
            raise ValueError(f"cv_threshold must be > 0, got {self.cv_threshold}")
        if self.reference is not None and self.reference not in zoo.names():
            raise ValueError(f"reference must be a zoo model ({', '.join(zoo.names())}) or "
                             f"None, got {self.reference!r}")

    @property
    def clock(self) -> str:
        """The clock behind the reported figure: "cpu" or "wall"."""
        if self.timer == "auto":
            return "cpu" if self.threads == 1 else "wall"
        return self.timer


@dataclass
class Timing:
    """Statistics of one measurement, in milliseconds. `wall` and `cpu` hold every timed run
    (blocks concatenated). Plain, the summary fields describe the chosen (quietest) block of the
    `clock` ("cpu" or "wall") series; paired, all runs of the series ratio x anchor, and `ref`
    holds the reference's runs on that clock."""

    ms: float
    p10: float
    p90: float
    cv: float
    runs: int
    block_medians: list[float]
    wall: list[float] = field(repr=False)
    cpu: list[float] = field(repr=False)
    clock: str = "wall"
    ref: list[float] = field(default_factory=list, repr=False)
    anchor_ms: float | None = None

    @property
    def total_runs(self) -> int:
        return self.runs * len(self.block_medians)

    @property
    def preempted_share(self) -> float:
        """Share of runs whose wall time exceeded their thread CPU time by more than 10%
        (meaningful on one thread: the timing thread was descheduled)."""
        w, c = np.asarray(self.wall), np.asarray(self.cpu)
        return float(np.mean(w > 1.1 * c)) if len(w) else 0.0

    def summary(self) -> dict:
        return {"clock": self.clock,
                "block_medians": [round(m, 4) for m in self.block_medians],
                "wall_median": float(np.median(self.wall)) if self.wall else None,
                "cpu_median": float(np.median(self.cpu)) if self.cpu else None,
                "preempted_share": round(self.preempted_share, 3),
                **({"reference_median": float(np.median(self.ref)), "anchor_ms": self.anchor_ms}
                   if self.ref else {})}


def _stats(block: np.ndarray) -> tuple[float, float, float, float]:
    mean = float(block.mean())
    cv = float(block.std() / mean) if mean > 0 else 0.0
    return (float(np.median(block)), float(np.percentile(block, 10)),
            float(np.percentile(block, 90)), cv)


def time_callable(fn: Callable[[], object], warmup: int, runs: int, blocks: int,
                  clock: Callable[[], int] = time.perf_counter_ns,
                  cpu_clock: Callable[[], int] = time.thread_time_ns,
                  use: str = "wall", reference: Callable[[], object] | None = None,
                  anchor_ms: float = 1.0) -> Timing:
    """Time `fn()` after `warmup` calls: `blocks` blocks of `runs` calls each; summarise the
    `use` ("wall" or "cpu") series. With `reference`, each timed call is followed by a timed
    call of it and the summary is of fn/reference x `anchor_ms` over all runs (module doc).
    Clocks return nanoseconds and are injectable for tests."""
    for _ in range(warmup):
        fn()
        if reference is not None:
            reference()

    def timed(f):
        c0, t0 = cpu_clock(), clock()
        f()
        t1, c1 = clock(), cpu_clock()
        return (t1 - t0) / 1e6, (c1 - c0) / 1e6

    n = blocks * runs
    wall, cpu, ref = np.empty(n), np.empty(n), np.empty(n if reference is not None else 0)
    for i in range(n):
        wall[i], cpu[i] = timed(fn)
        if reference is not None:
            ref_wall, ref_cpu = timed(reference)
            ref[i] = ref_cpu if use == "cpu" else ref_wall
    series = cpu if use == "cpu" else wall
    if reference is not None:
        series = series / ref * anchor_ms
    medians = np.median(series.reshape(blocks, runs), axis=1)
    chosen = series if reference is not None else series.reshape(blocks, runs)[np.argmin(medians)]
    ms, p10, p90, cv = _stats(chosen)
    return Timing(ms, p10, p90, cv, runs, [float(m) for m in medians], wall.tolist(),
                  cpu.tolist(), use, ref.tolist(), anchor_ms if reference is not None else None)


# ---------------------------------------------------------------- backends
def prepare(model: nn.Module, example: torch.Tensor, backend: str, threads: int,
            channels_last: bool) -> Callable[[], object]:
    """A zero-argument callable running `model` on `example` with the chosen backend."""
    model = model.eval()
    if backend == "executorch":
        from .export import PteRunner, lower_module
        runner = PteRunner(lower_module(model, example), threads=threads)
        return lambda: runner(example)
    if channels_last and example.dim() == 4:
        model = model.to(memory_format=torch.channels_last)
        example = example.contiguous(memory_format=torch.channels_last)
    if backend == "torchscript":
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", JIT_DEPRECATIONS, FutureWarning)
            # No check_trace: it traces the model a second time to compare the graphs, 1-2 s
            # per model here (as long as the timing itself); an eval-mode network of the
            # builder's has no random or data-dependent ops for it to catch.
            model = torch.jit.freeze(torch.jit.trace(model, example, check_trace=False))
    elif backend == "export":  # the graph torch.export captures, run by ATen without Python
        with torch.no_grad():
            model = torch.export.export(model, (example,)).module()
    elif backend == "compile":  # Inductor's C++ code with weights folded in (freezing)
        model = torch.compile(model, options={"freezing": True})
        with torch.no_grad():
            model(example)  # compile now, not inside the first timed run

    def run():
        with torch.inference_mode():
            return model(example)
    return run


class _Threads:
    """Set torch's intra-op thread count for a measurement and restore it afterwards."""

    def __init__(self, n: int):
        self.n, self.old = n, torch.get_num_threads()

    def __enter__(self):
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        torch.set_num_threads(self.old)


def _cannot_run(what: str, err: Exception) -> ValueError:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return ValueError(f"{what} cannot run: {first[:300]}")


def measure_module(model: nn.Module, example: torch.Tensor, config: HostLatencyConfig,
                   what: str = "model", clock=time.perf_counter_ns,
                   cpu_clock=time.thread_time_ns,
                   reference: tuple[Callable[[], object], float] | None = None
                   ) -> tuple[Timing, bool]:
    """Measure with re-measurement on noise; returns (timing of the quietest attempt, noisy).
    `reference` is (prepared reference, anchor ms) for the paired protocol, None for plain."""
    ref_fn, anchor = reference or (None, 1.0)
    with _Threads(config.threads):
        try:
            fn = prepare(model, example, config.backend, config.threads, config.channels_last)
            fn()  # the first call shows a model that cannot run, with a short message
        except (RuntimeError, ValueError, IndexError) as err:
            raise _cannot_run(what, err) from err
        best = None
        for _ in range(1 + config.max_remeasure):
            t = time_callable(fn, config.warmup, config.runs, config.blocks, clock, cpu_clock,
                              config.clock, ref_fn, anchor)
            if best is None or t.cv < best.cv:
                best = t
            if t.cv <= config.cv_threshold:
                break
    return best, best.cv > config.cv_threshold


class HostLatencySource(LayerTimer):
    """`latency(arch)` measured on this host; cached by arch string + fingerprint in the
    latency database, so nothing is measured twice and figures survive restarts."""

    name = "measured"

    def __init__(self, config: HostLatencyConfig | None = None, db: LatencyDB | None = None,
                 clock: Callable[[], int] = time.perf_counter_ns,
                 cpu_clock: Callable[[], int] = time.thread_time_ns):
        self.config = config or HostLatencyConfig()
        self._db, self._own_db = db, db is None
        self._clock, self._cpu_clock = clock, cpu_clock
        # the reference joins the fingerprint only when set, so plain figures keep their ids
        paired = {"reference": self.config.reference} if self.config.reference else {}
        self._fp_info = host_fingerprint(BACKEND_NAMES[self.config.backend], self.config.threads,
                                         channels_last=self.config.channels_last,
                                         clock=self.config.clock, **paired)
        self._fp = fingerprint_id(self._fp_info)
        self._reference: tuple[Callable[[], object], float] | None = None

    @property
    def db(self) -> LatencyDB:
        if self._db is None:  # opened lazily: construction stays cheap and touches no files
            self._db = LatencyDB(self.config.db_path)
        return self._db

    def close(self) -> None:
        if self._own_db and self._db is not None:
            self._db.close()
            self._db = None

    def fingerprint(self) -> str:
        return self._fp

    def fingerprint_info(self) -> dict:
        return dict(self._fp_info)

    def latency(self, arch: Architecture) -> LatencyResult:
        return cached_latency(self, arch)

    def measure(self, arch: Architecture) -> tuple[LatencyResult, Timing]:
        """Measure now, bypassing and not touching the cache."""
        expand_layers(arch)  # clear ValueError for e.g. a resolution too small for the strides
        model = build_model(arch, seed=self.config.seed)
        x = example_input(arch)  # seeded generator: the caller's RNG is left untouched
        timing, noisy = measure_module(model, x, self.config, f"architecture {arch.to_string()}",
                                       self._clock, self._cpu_clock, self.reference())
        return self._result(timing, noisy), timing

    def reference(self) -> tuple[Callable[[], object], float] | None:
        """(prepared reference network, anchor ms) for the paired protocol, None when plain.
        The anchor is read from the database, or measured now by the plain protocol with 3x
        the blocks (a longer look for a quiet phase) and stored: once per fingerprint."""
        if self.config.reference is None:
            return None
        if self._reference is None:
            cfg, arch = self.config, zoo.get(self.config.reference)
            with _Threads(cfg.threads):
                fn = prepare(build_model(arch, seed=cfg.seed), example_input(arch), cfg.backend,
                             cfg.threads, cfg.channels_last)
                stored = self.db.get(arch.to_string(), self._fp, ANCHOR)
                if stored is None:
                    t = time_callable(fn, cfg.warmup, cfg.runs, 3 * cfg.blocks, self._clock,
                                      self._cpu_clock, cfg.clock)
                    stored = self._result(t, t.cv > cfg.cv_threshold, source=ANCHOR)
                    self.db.put_fingerprint(self._fp, self._fp_info)
                    self.db.put(arch.to_string(), stored, extra=t.summary())
            self._reference = (fn, stored.ms)
        return self._reference

    def measure_layer(self, layer: Layer, config: HostLatencyConfig | None = None) -> Timing:
        """Time one layer alone (the lookup table's entries), with this source's backend."""
        config = config or self.config
        with torch.random.fork_rng():  # weights do not change the cost; keep the global RNG
            torch.manual_seed(config.seed)
            module = build_layer(layer)
        timing, _ = measure_module(module, layer_input(layer), config,
                                   f"layer {layer.config()}", self._clock, self._cpu_clock)
        return timing

    def measure_call_overhead(self, config: HostLatencyConfig | None = None) -> Timing:
        """Time a near-empty module (one add on 8 numbers): the backend's per-call cost."""
        timing, _ = measure_module(NearlyEmpty(), overhead_input(), config or self.config,
                                   "call overhead", self._clock, self._cpu_clock)
        return timing

    def _result(self, t: Timing, noisy: bool, source: str | None = None) -> LatencyResult:
        return LatencyResult(ms=t.ms, source=source or self.name, fingerprint=self._fp, p10=t.p10,
                             p90=t.p90, cv=t.cv, runs=t.total_runs,
                             backend=BACKEND_NAMES[self.config.backend], noisy=noisy)
