"""What a search will cost before it starts, measured here rather than guessed.

`estimate(cfg)` loads the run's dataset (a first decode is the slow part, and the search would
pay it anyway), trains one random model of the space for `probe_steps` optimizer steps with the
run's own training settings and times its latency with the run's own source. From those:

    per model  = steps x (seconds per step) + validation seconds + latency seconds
    whole run  = trials x latency seconds + ceil(trials / workers) x training seconds

since a search times latency in its own stage, one model at a time, and trains a batch in
parallel on its workers (mnas_core.search). The probe's first steps include warm-up, so the
figure errs slow; models differ in size, so it is a typical model's, not every one's.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from .accuracy.trained import dataset
from .search import SearchConfig, worker_train_config
from .train import evaluate_candidate


@dataclass(frozen=True)
class Estimate:
    steps: int               # optimizer steps per model under the run's budget
    step_s: float            # seconds per training step, measured
    eval_s: float            # validation (and BN re-estimation) per model, measured
    latency_s: float         # timing one model's latency with the run's source, measured
    trials: int
    workers: int

    @property
    def train_s(self) -> float:
        return self.steps * self.step_s + self.eval_s

    @property
    def per_model_s(self) -> float:
        return self.train_s + self.latency_s

    @property
    def run_s(self) -> float:
        return self.trials * self.latency_s + math.ceil(self.trials / self.workers) * self.train_s

    def summary(self) -> str:
        return (f"~{self.per_model_s:.0f} s per model ({self.steps} training steps at "
                f"{self.step_s:.2f} s, validation {self.eval_s:.1f} s, latency "
                f"{self.latency_s:.1f} s); ~{self.run_s / 60:.0f} min for {self.trials} trials "
                f"on {self.workers} worker(s)")


def estimate(cfg: SearchConfig, probe_steps: int = 10, seed: int = 0) -> Estimate:
    """Measure the cost of `cfg`'s search on this machine (see the module docstring)."""
    data = dataset(cfg.dataset)
    space = cfg.space.replace(**data.arch_overrides())
    arch = space.decode(space.sample_tokens(np.random.default_rng(seed)))
    train_cfg = worker_train_config(cfg)
    steps = train_cfg.total_steps(len(data.train_y))
    probe = evaluate_candidate(arch, data, replace(train_cfg, steps=min(probe_steps, steps)))
    latency_s = _latency_seconds(cfg, cfg.latency.deployed(arch))
    workers = 1 if cfg.executor == "inprocess" else cfg.workers
    return Estimate(steps=steps, step_s=probe.train_seconds / probe.steps,
                    eval_s=probe.eval_seconds, latency_s=latency_s, trials=cfg.trials,
                    workers=max(1, workers))


def _latency_seconds(cfg: SearchConfig, arch) -> float:
    """Seconds to get `arch`'s latency from the run's source. A figure measured before comes
    from the cache at no cost, but the search's new models will not: then it is timed again
    with an in-memory database, as a new model would be."""
    source = cfg.latency.make_source().open()
    try:
        start = time.perf_counter()
        result = source.latency(arch)
        took = time.perf_counter() - start
    finally:
        source.close()
    if result.cached and result.runs:
        fresh = replace(cfg.latency, options={**cfg.latency.options, "db_path": ":memory:"})
        source = fresh.make_source().open()
        try:
            start = time.perf_counter()
            source.latency(arch)
            took = time.perf_counter() - start
        finally:
            source.close()
    return took
