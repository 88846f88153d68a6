"""Direct latency measurement on this computer's CPU.

The paper measures real latency on the target device instead of trusting a proxy such as FLOPs
(Tan et al. 2019, Sec. 3, Eq. 2 uses LAT(m) measured on a Pixel 1 big core). Here the target is
this CPU: batch 1, eval + inference mode, a fixed thread count (default 1, like the paper's
single core), warm-up, then timed runs.

Protocol (designed from measurements on a shared 2-core host, see benchmarks/latency.py): the
timed runs come in `blocks` blocks; the figure is the *minimum of the block medians*. Other
processes only ever add time, so the quietest block is the best estimate of the model's own cost,
and a median inside each block ignores single preempted runs. Wall time is logged beside
`thread_time` (CPU time of the timing thread): on one thread a run whose wall time exceeds its CPU
time was preempted. When the chosen block's CV exceeds `cv_threshold` the model is measured again
(up to `max_remeasure` times); if it stays noisy the result says so (`noisy=True`).

Which clock: with one thread every backend here runs the whole forward pass on the calling thread,
so on an idle core wall time == thread CPU time. On this shared host (load 5 on 2 cores while we
measured) wall time was 1.5-2.5x the CPU time and swung by tens of percent between processes,
while CPU time stayed within a few percent. `timer="auto"` therefore reports thread CPU time for
threads == 1 (the idle-core latency, with time the OS gave to other processes removed) and wall
time otherwise (worker threads' CPU time is invisible to the calling thread). The other clock is
stored beside it in the database.

What it achieves here (benchmarks/latency.py and latency_processes.py, 2-core VM): a CV of
1-3% within a block, but the same model in separate processes 9-18% apart even on a quiet
machine, and as far apart between fresh instances in one process: the VM's speed drifts over
seconds. Pinning to one CPU or disabling ASLR did not remove it; so figures are compared within
one session, and the database keeps one figure per model and fingerprint. The
default backend is frozen TorchScript: 1.5x slower than ExecuTorch-XNNPACK but ranks the zoo
alike (Spearman 0.986), faster and steadier than eager, and prepares in ~1.5 s where an
ExecuTorch export takes ~13 s per model (and per lookup-table layer). Use backend="executorch"
to time the very artefact the phone runs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..arch import Architecture
from ..builder import Layer, build_layer, build_model, expand_layers
from .base import LatencyResult
from .db import LatencyDB
from .export import NearlyEmpty, example_input, layer_input, overhead_input
from .fingerprint import fingerprint_id, host_fingerprint

BACKENDS = ("eager", "torchscript", "executorch")
TIMERS = ("auto", "cpu", "wall")
BACKEND_NAMES = {"eager": "eager", "torchscript": "torchscript-frozen",
                 "executorch": "executorch-xnnpack"}


@dataclass(frozen=True)
class HostLatencyConfig:
    """How to measure on this host. `db_path` None means the default database
    (db.default_db_path()); ":memory:" keeps figures in this process only."""

    threads: int = 1
    backend: str = "torchscript"    # frozen, channels_last; why: module docstring
    warmup: int = 10
    runs: int = 20                  # timed runs per block
    blocks: int = 3                 # figure = min over blocks of the block median
    cv_threshold: float = 0.10      # above this the block is too noisy to trust
    max_remeasure: int = 2          # extra attempts when the CV is above the threshold
    channels_last: bool = True      # faster for frozen TorchScript on this CPU (REFERENCE.md)
    timer: str = "auto"             # "cpu" (thread CPU time), "wall", or auto (see module doc)
    seed: int = 0                   # weights do not change the cost, but keep runs identical
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

    @property
    def clock(self) -> str:
        """The clock behind the reported figure: "cpu" or "wall"."""
        if self.timer == "auto":
            return "cpu" if self.threads == 1 else "wall"
        return self.timer


@dataclass
class Timing:
    """Statistics of one measurement, in milliseconds. `wall` and `cpu` hold every timed run
    (blocks concatenated); the summary fields describe the chosen (quietest) block of the
    `clock` ("cpu" or "wall") series."""

    ms: float
    p10: float
    p90: float
    cv: float
    runs: int
    block_medians: list[float]
    wall: list[float] = field(repr=False)
    cpu: list[float] = field(repr=False)
    clock: str = "wall"

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
                "preempted_share": round(self.preempted_share, 3)}


def _stats(block: np.ndarray) -> tuple[float, float, float, float]:
    mean = float(block.mean())
    cv = float(block.std() / mean) if mean > 0 else 0.0
    return (float(np.median(block)), float(np.percentile(block, 10)),
            float(np.percentile(block, 90)), cv)


def time_callable(fn: Callable[[], object], warmup: int, runs: int, blocks: int,
                  clock: Callable[[], int] = time.perf_counter_ns,
                  cpu_clock: Callable[[], int] = time.thread_time_ns,
                  use: str = "wall") -> Timing:
    """Time `fn()` after `warmup` calls: `blocks` blocks of `runs` calls each; summarise the
    `use` ("wall" or "cpu") series. Clocks return nanoseconds and are injectable for tests."""
    for _ in range(warmup):
        fn()
    wall, cpu = np.empty(blocks * runs), np.empty(blocks * runs)
    for i in range(blocks * runs):
        c0, t0 = cpu_clock(), clock()
        fn()
        t1, c1 = clock(), cpu_clock()
        wall[i], cpu[i] = (t1 - t0) / 1e6, (c1 - c0) / 1e6
    per_block = (cpu if use == "cpu" else wall).reshape(blocks, runs)
    medians = np.median(per_block, axis=1)
    best = int(np.argmin(medians))
    ms, p10, p90, cv = _stats(per_block[best])
    return Timing(ms, p10, p90, cv, runs, [float(m) for m in medians], wall.tolist(),
                  cpu.tolist(), use)


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
        with torch.inference_mode(False), torch.no_grad():
            model = torch.jit.freeze(torch.jit.trace(model, example))

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
                   cpu_clock=time.thread_time_ns) -> tuple[Timing, bool]:
    """Measure with re-measurement on noise; returns (timing of the quietest attempt, noisy)."""
    with _Threads(config.threads):
        try:
            fn = prepare(model, example, config.backend, config.threads, config.channels_last)
            fn()  # the first call shows a model that cannot run, with a short message
        except (RuntimeError, ValueError, IndexError) as err:
            raise _cannot_run(what, err) from err
        best = None
        for _ in range(1 + config.max_remeasure):
            t = time_callable(fn, config.warmup, config.runs, config.blocks, clock, cpu_clock,
                              config.clock)
            if best is None or t.cv < best.cv:
                best = t
            if t.cv <= config.cv_threshold:
                break
    return best, best.cv > config.cv_threshold


class HostLatencySource:
    """`latency(arch)` measured on this host; cached by arch string + fingerprint in the
    latency database, so nothing is measured twice and figures survive restarts."""

    name = "measured"

    def __init__(self, config: HostLatencyConfig | None = None, db: LatencyDB | None = None,
                 clock: Callable[[], int] = time.perf_counter_ns,
                 cpu_clock: Callable[[], int] = time.thread_time_ns):
        self.config = config or HostLatencyConfig()
        self._db = db
        self._clock, self._cpu_clock = clock, cpu_clock
        self._fp_info = host_fingerprint(BACKEND_NAMES[self.config.backend], self.config.threads,
                                         channels_last=self.config.channels_last,
                                         clock=self.config.clock)
        self._fp = fingerprint_id(self._fp_info)

    @property
    def db(self) -> LatencyDB:
        if self._db is None:  # opened lazily: construction stays cheap and touches no files
            self._db = LatencyDB(self.config.db_path)
        return self._db

    def fingerprint(self) -> str:
        return self._fp

    def fingerprint_info(self) -> dict:
        return dict(self._fp_info)

    def latency(self, arch: Architecture) -> LatencyResult:
        key = arch.to_string()
        hit = self.db.get(key, self._fp, self.name)
        if hit is not None:
            return hit
        result, timing = self.measure(arch)
        self.db.put_fingerprint(self._fp, self._fp_info)
        self.db.put(key, result, extra=timing.summary())
        return result

    def measure(self, arch: Architecture) -> tuple[LatencyResult, Timing]:
        """Measure now, bypassing and not touching the cache."""
        expand_layers(arch)  # clear ValueError for e.g. a resolution too small for the strides
        model = build_model(arch, seed=self.config.seed)
        x = example_input(arch)  # seeded generator: the caller's RNG is left untouched
        timing, noisy = measure_module(model, x, self.config, f"architecture {arch.to_string()}",
                                       self._clock, self._cpu_clock)
        return self._result(timing, noisy), timing

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

    def _result(self, t: Timing, noisy: bool) -> LatencyResult:
        return LatencyResult(ms=t.ms, source=self.name, fingerprint=self._fp, p10=t.p10,
                             p90=t.p90, cv=t.cv, runs=t.total_runs,
                             backend=BACKEND_NAMES[self.config.backend], noisy=noisy)
