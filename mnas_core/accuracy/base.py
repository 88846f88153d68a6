"""The accuracy-source interface: every ACC(m) in MNAS Explorer comes through it, tagged with
where it came from, beside the latency one (mnas_core.latency.base). mnas_core.testing.accuracy
checks the contract.

The paper's ACC(m) is a short proxy training (`trained`). The others stand in for it so that a
search takes seconds: `predicted` (a model fitted on recorded trainings), `estimated` (ImageNet
top-1 from published results, a teaching landscape) and `zerocost` (a score of the untrained
network). Only a training measures; every other figure says it is not a measurement
(`measured` False) and what it rests on (`describe()`), and the app and the CLI show both.

Imports no torch: a source that needs it imports it on use.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Iterator

from ..arch import Architecture


@dataclass(frozen=True)
class AccuracyResult:
    top1: float                # the figure used for the reward, a fraction in [0, 1]
    source: str                # the source's registered name (registry.ACCURACY_SOURCES)
    top5: float | None = None  # None where the source has none
    seconds: float = 0.0       # what the figure cost in all (build, train, validate)
    train_seconds: float | None = None  # of which training; None where nothing trains
    worker: str = ""           # where it ran, for a source that uses the run's executor

    def to_dict(self) -> dict:
        return asdict(self)


class AccuracySource(ABC):
    """Where accuracy figures come from. A registered source is built as `cls(config)` and
    says its registered name in `name`, and whether its figures are measurements.

    How it is called: from the search's main thread, one call at a time. `evaluate` is the
    search's entry: it gets the whole batch and the run's executor, so a source that trains
    can spread the batch over workers while one that predicts answers it in one call."""

    name: str        # its name in mnas_core.registry.ACCURACY_SOURCES
    measured: bool   # True only for a real training; False marks every figure as a stand-in

    def open(self) -> "AccuracySource":
        """Make ready what the figures need (load a dataset, read a predictor file), so that
        a setup that cannot work fails now, before a search writes anything; returns self.
        Calling it again is harmless. Errors: ValueError naming the problem."""
        return self

    def close(self) -> None:
        """Let go of what `open` took. Harmless to call twice or without `open`."""

    def pinned(self) -> dict:
        """Settings (fields of the source's config) that a new run stores beside the ones it
        was given, so that its resume gets the same figures or is refused: a predictor
        file's sha256. Called after `open`; plain JSON. The default pins nothing."""
        return {}

    @abstractmethod
    def describe(self) -> str:
        """One line for labels: what the figures are and what they rest on, e.g. "predicted
        by a ridge model fitted on 3 digits runs (812 trainings), held-out Spearman 0.41".
        A source that does not measure says so in it."""

    @abstractmethod
    def task(self) -> dict:
        """The input the figures are for, as `SearchSpace.replace` fields (in_chans,
        num_classes, resolution, small_input): a candidate is built for this task. For a
        training it is the dataset's; for a predictor, that of the runs it was fitted on."""

    @abstractmethod
    def accuracy(self, arch: Architecture) -> AccuracyResult:
        """ACC(m) of `arch` (built for `task()`): `top1` in [0, 1], `source` = `name`.
        Asking again for the same architecture gives the same `top1` (a training is seeded,
        a prediction is deterministic). Errors: ValueError naming the problem when `arch`
        cannot be scored (e.g. it does not fit the task), so that the search fails just that
        candidate."""

    def evaluate(self, archs: list[Architecture], executor=None
                 ) -> Iterator[tuple[int, AccuracyResult | str]]:
        """Score a batch: yields (index into `archs`, result) as each finishes, in any order,
        with the error message in place of the result for a candidate that failed (a
        ValueError of `accuracy`). Every index is yielded once. `executor` is the run's
        (mnas_core.executors); the default scores in this process, one at a time."""
        for i, arch in enumerate(archs):
            try:
                yield i, self.accuracy(arch)
            except ValueError as err:
                yield i, str(err)
