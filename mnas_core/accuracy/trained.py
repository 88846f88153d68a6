"""ACC(m) as the paper measures it: a short proxy training of the candidate on the search
dataset, then its validation top-1 (section 4.1; the budget is README "Proxy task").

The batch is spread over the run's executor (one training per worker process). The dataset is
loaded once per process (`dataset`), in the search's process and in every worker. This module
imports torch (the registry imports it only when a training is asked for)."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from ..arch import Architecture, parse_arch
from ..data import DataConfig, load_dataset
from ..train import TrainConfig, evaluate_candidate
from .base import AccuracyResult, AccuracySource


@dataclass(frozen=True)
class TrainedConfig:
    """The proxy task. In a search both come from the SearchConfig (its `dataset` and its
    `train`, with the worker threads filled in), so a run stores them once."""

    dataset: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


@functools.lru_cache(maxsize=2)
def dataset(cfg: DataConfig):
    """The loaded dataset of `cfg`, once per process: DataConfig is frozen, so it keys the
    cache (a worker trains many candidates on the same data)."""
    return load_dataset(cfg)


def train_one(task: tuple[str, DataConfig, object]) -> dict:
    """Run in a worker: build, train and validate one candidate."""
    arch_text, data_cfg, train_cfg = task
    result = evaluate_candidate(parse_arch(arch_text), dataset(data_cfg), train_cfg)
    if not math.isfinite(result.top1):
        raise ValueError(f"validation accuracy is {result.top1}")
    return result.to_dict()


class TrainedAccuracy(AccuracySource):
    name = "trained"
    measured = True

    def __init__(self, config: TrainedConfig):
        self.config = config

    def open(self) -> "TrainedAccuracy":
        dataset(self.config.dataset)  # a dataset that does not load fails before the run
        return self

    def describe(self) -> str:
        t = self.config.train
        budget = (f"{t.steps} steps" if t.steps is not None
                  else f"{t.epochs:g} epoch{'' if t.epochs == 1 else 's'}")
        copy = f" as a x{t.width:g}-width copy" if t.width != 1 else ""
        return (f"trained on {self.config.dataset.name} for {budget}{copy} "
                "(validation top-1)")

    def task(self) -> dict:
        return dataset(self.config.dataset).arch_overrides()

    def _result(self, r: dict, worker: str = "") -> AccuracyResult:
        return AccuracyResult(top1=r["top1"], source=self.name, top5=r["top5"],
                              seconds=r["total_seconds"], train_seconds=r["train_seconds"],
                              worker=worker)

    def accuracy(self, arch: Architecture) -> AccuracyResult:
        return self._result(train_one((arch.to_string(), self.config.dataset,
                                       self.config.train)))

    def evaluate(self, archs, executor=None):
        if executor is None:
            yield from super().evaluate(archs)
            return
        tasks = [(a.to_string(), self.config.dataset, self.config.train) for a in archs]
        name = self.config.dataset.name
        for out in executor.run(train_one, tasks):
            yield out.index, (self._result(out.value, out.worker) if out.ok
                              else f"training on {name}: {out.error}")
