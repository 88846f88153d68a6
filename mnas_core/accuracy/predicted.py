"""`predicted`: ACC(m) from a predictor fitted on recorded trainings (`mnas predictor fit`).

Not a measurement: a figure is what a model fitted on real proxy trainings expects for a
network it has mostly never seen, and it is only as good as the predictor's held-out rank
correlation, which `describe()` carries wherever the figures show (with MACs alone beside it,
the baseline a predictor has to beat). It answers a whole batch in one call of well under a
millisecond per network, which is what lets a search of thousands of trials take seconds.

A run names its predictor by path and sha256 (PredictedConfig): a resumed run refuses a file
that has changed under it, rather than continue the search with other figures.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from ..arch import Architecture
from .base import AccuracyResult, AccuracySource
from .predictor import Predictor, file_sha256


@dataclass(frozen=True)
class PredictedConfig:
    """`path`: the predictor file. `sha256`: the file's digest as a run recorded it; when
    set, a file with another digest is refused. Empty: any file (a new run records it)."""

    path: str
    sha256: str = ""

    def __post_init__(self):
        if not isinstance(self.path, str) or not self.path:
            raise ValueError("predicted accuracy needs the path of a predictor file "
                             "(mnas predictor fit RUN... -o FILE)")
        if not isinstance(self.sha256, str):
            raise ValueError(f"sha256 must be a hex string, got {self.sha256!r:.40}")


class PredictedAccuracy(AccuracySource):
    """Top-1 predicted by the predictor in `config.path` (module docstring)."""

    name = "predicted"
    measured = False

    def __init__(self, config: PredictedConfig):
        self.config = config
        self.predictor: Predictor | None = None
        self.sha256 = ""  # the opened file's, for a new run to record

    def open(self) -> "PredictedAccuracy":
        if self.predictor is None:
            digest = _digest(self.config.path)
            if self.config.sha256 and digest != self.config.sha256:
                raise ValueError(
                    f"{self.config.path} is not the predictor this run was started with "
                    f"(sha256 {digest[:12]}..., the run recorded {self.config.sha256[:12]}...); "
                    "put that file back, or start a new run with this one")
            self.predictor, self.sha256 = Predictor.load(self.config.path), digest
        return self

    def close(self) -> None:
        self.predictor = None

    def pinned(self) -> dict:
        return {"sha256": self.open().sha256}

    def _opened(self) -> Predictor:
        return self.open().predictor

    def describe(self) -> str:
        p = self._opened()
        on, s = p.fitted_on, p.scores
        budget = on["budget"]
        spent = (f"{budget['steps']} steps" if budget.get("steps") is not None
                 else f"{budget.get('epochs'):g} epochs")
        runs = len(on["runs"])
        return (f"predicted by {_MODEL_NAMES.get(p.kind, p.kind)} fitted on {on['trials']} "
                f"{on['dataset'].get('name')} trainings from {runs} run{'s' * (runs != 1)} "
                f"(budget {spent}), held-out Spearman {_fmt(s[p.kind]['spearman'])} "
                f"(MACs alone {_fmt(s['macs_fit']['spearman'])}); not a measurement")

    def task(self) -> dict:
        return dict(self._opened().task)

    def accuracy(self, arch: Architecture) -> AccuracyResult:
        result = self._score([arch])[0]
        if isinstance(result, str):
            raise ValueError(result)
        return result

    def evaluate(self, archs, executor=None):
        """The whole batch in one predict call (the executor is not needed); a network of
        another task gets its error, the others their figures."""
        yield from enumerate(self._score(list(archs)))

    def _score(self, archs: list[Architecture]) -> list[AccuracyResult | str]:
        """A result or an error message per network, from one predict call over those that
        fit the task (one call per network only if the features refuse one of them)."""
        p = self._opened()
        start = time.perf_counter()
        out: list = [None] * len(archs)
        for i, arch in enumerate(archs):
            try:
                p.check(arch)
            except ValueError as err:
                out[i] = str(err)
        good = [i for i, r in enumerate(out) if r is None]
        try:
            top1 = dict(zip(good, p.predict([archs[i] for i in good])))
        except ValueError:  # e.g. an op the predictor never saw: find which, score the rest
            top1 = {}
            for i in good:
                try:
                    top1[i] = p.predict([archs[i]])[0]
                except ValueError as err:
                    out[i] = str(err)
        each = (time.perf_counter() - start) / max(1, len(archs))
        for i, v in top1.items():
            out[i] = AccuracyResult(top1=float(v), source=self.name, seconds=each)
        return out


_MODEL_NAMES = {"ridge": "a ridge model", "trees": "gradient-boosted trees"}


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _digest(path: str) -> str:
    try:
        return file_sha256(path)
    except FileNotFoundError:
        raise ValueError(f"no predictor file at {path}") from None
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror}") from None
