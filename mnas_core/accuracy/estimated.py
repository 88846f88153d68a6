"""`estimated`: ImageNet top-1 estimated from published results, an offline teaching landscape.

Not a measurement. The numbers are the 46 published ImageNet results of
mnas_core/published_pixel1.csv: MobileNetV2 at widths 0.35-1.4 (tensorflow/models
research/slim/nets/mobilenet/README.md) and MnasNet-A1 at depth multipliers 0.35-1.4
(tensorflow/tpu models/official/mnasnet/README.md), each at resolutions 96-224; each row names
its README in the `source` column. Those models vary only in size (MACs, params, resolution)
and in being MnasNet-A1 or not (SE), so the estimate sees only that:

    top-1 (points) = c0 + c1 ln M + c2 (ln M)^2 + c3 SE        M = MACs in millions

fitted by least squares at load time. That form is the one the leave-one-out error picks
(`compare_forms`): adding ln params or ln resolution does not lower it, and the quadratic term
carries the saturation of accuracy with size. Outside the published MACs range the curve goes
on along its tangent at the edge, so it grows with MACs everywhere (the fitted parabola turns
only far beyond the range, but a search must never see it turn). `SE` is 1 when any block has
squeeze-excite; the data cannot tell SE from everything else MnasNet-A1 does differently
from MobileNetV2 (its kernels, expansions, depths), so the flag carries all of it.

Its use is the paper's world offline and at once: accuracy that grows with size, and beta
about -0.07 from its own curve (section 3: doubling latency gives about 5% relative
accuracy). As the estimate sees only size, a search with it finds the architectures whose MACs
are cheapest in measured latency on this device, not ones that are better at a given size.

Architectures are sized by mnas_core.profile.totals (no torch); on the 46 published models it
agrees with the READMEs' MACs and params within 3%, or 1 M MACs for the smallest, which the
MobileNet README rounds to whole millions (tests/accuracy/test_estimated.py).
"""
from __future__ import annotations

import csv
import functools
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..arch import Architecture
from ..profile import totals
from .base import AccuracyResult, AccuracySource

PUBLISHED = Path(__file__).resolve().parent.parent / "published_pixel1.csv"
SE_MODEL = "MnasNet-A1"  # the published family with squeeze-excite; MobileNetV2 has none
TASK = {"in_chans": 3, "num_classes": 1000, "resolution": 224, "small_input": False}

# Candidate forms, by the features they use (see _features); FORM is the one used.
FORMS = {
    "MACs": ("ln_macs",),
    "MACs + SE": ("ln_macs", "se"),
    "MACs, MACs^2 + SE": ("ln_macs", "ln_macs_sq", "se"),
    "MACs, MACs^2, params + SE": ("ln_macs", "ln_macs_sq", "ln_params", "se"),
    "MACs, MACs^2, resolution + SE": ("ln_macs", "ln_macs_sq", "ln_res", "se"),
    "MACs, params, resolution + SE": ("ln_macs", "ln_params", "ln_res", "se"),
}
FORM = "MACs, MACs^2 + SE"


# ------------------------------------------------------------------ the published table
@dataclass(frozen=True)
class Published:
    """The CSV's columns as arrays, one entry per published model."""

    model: tuple[str, ...]
    width: np.ndarray
    resolution: np.ndarray
    macs_m: np.ndarray      # millions, as the README states them
    params_m: np.ndarray    # millions
    top1: np.ndarray        # ImageNet top-1, points
    pixel1_ms: np.ndarray   # Pixel 1 latency, ms
    sources: tuple[str, ...]  # the distinct `source` READMEs

    @property
    def se(self) -> np.ndarray:
        return np.array([m == SE_MODEL for m in self.model], dtype=float)

    def __len__(self) -> int:
        return len(self.model)


def read_published(path: Path | str = PUBLISHED) -> Published:
    """The published results at `path` (the package's copy by default). ValueError names a
    missing column or a bad number."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    need = ("model", "width", "resolution", "macs_M", "params_M", "top1", "pixel1_ms", "source")
    missing = [c for c in need if not rows or c not in rows[0]]
    if missing:
        raise ValueError(f"{path}: no rows or missing column(s) {', '.join(missing)}")

    def col(name):
        try:
            return np.array([float(r[name]) for r in rows])
        except ValueError as err:
            raise ValueError(f"{path}: column {name}: {err}") from None
    return Published(tuple(r["model"] for r in rows), col("width"), col("resolution"),
                     col("macs_M"), col("params_M"), col("top1"), col("pixel1_ms"),
                     tuple(dict.fromkeys(r["source"] for r in rows)))


def _features(names, macs_m, params_m, resolution, se) -> np.ndarray:
    """The design matrix: an intercept, then the named features."""
    ln_m = np.log(macs_m)
    cols = {"ln_macs": ln_m, "ln_macs_sq": ln_m ** 2, "ln_params": np.log(params_m),
            "ln_res": np.log(np.asarray(resolution, float) / 224.0),
            "se": np.asarray(se, float)}
    return np.column_stack([np.ones_like(ln_m)] +
                           [np.broadcast_to(cols[n], ln_m.shape) for n in names])


# ------------------------------------------------------------------ the fit
@dataclass(frozen=True)
class Fit:
    """Least-squares coefficients of one form (intercept first) and the MACs range they were
    fitted on, in millions."""

    form: str
    coef: tuple[float, ...]
    macs_range: tuple[float, float]

    def predict(self, macs_m, params_m, resolution, se) -> np.ndarray:
        """Top-1 in points (not clipped). Outside `macs_range` the curve goes on along its
        tangent in ln MACs at the nearer edge, so a quadratic never turns down there."""
        names = FORMS[self.form]
        macs = np.atleast_1d(np.asarray(macs_m, float))
        edge = np.clip(macs, *self.macs_range)
        X = _features(names, edge, params_m, resolution, se)
        # Column by column, not X @ coef: a row's figure must not depend on its batch (a
        # matrix product may sum in another order, changing the last bit).
        out = np.zeros(len(macs))
        for j, c in enumerate(self.coef):
            out = out + c * X[:, j]
        c = dict(zip(names, self.coef[1:]))
        slope = c.get("ln_macs", 0.0) + 2 * c.get("ln_macs_sq", 0.0) * np.log(edge)
        return out + slope * (np.log(macs) - np.log(edge))


def fit(table: Published, form: str = FORM, keep: np.ndarray | None = None) -> Fit:
    """The least-squares fit of `form` on the rows of `table` where `keep` is True (all)."""
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}; known: {', '.join(FORMS)}")
    keep = np.ones(len(table), bool) if keep is None else keep
    X = _features(FORMS[form], table.macs_m, table.params_m, table.resolution, table.se)
    coef = np.linalg.lstsq(X[keep], table.top1[keep], rcond=None)[0]
    macs = table.macs_m[keep]
    return Fit(form, tuple(float(v) for v in coef), (float(macs.min()), float(macs.max())))


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (Spearman's convention)."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x), dtype=float)
    for v in np.unique(x):
        tied = x == v
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(a, b) -> float:
    return float(np.corrcoef(_ranks(np.asarray(a, float)), _ranks(np.asarray(b, float)))[0, 1])


@dataclass(frozen=True)
class LeaveOneOut:
    """Each published model predicted by the fit on the other 45 (n - 1), against its
    published top-1."""

    form: str
    rows: int
    mae: float        # mean absolute error, top-1 points
    max_error: float  # the worst row's absolute error, points
    worst: str        # which model that is, e.g. "MobileNetV2 0.35 at 96"
    spearman: float   # rank correlation of the held-out estimates with the published top-1

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def leave_one_out(table: Published | None = None, form: str = FORM) -> LeaveOneOut:
    """Leave-one-out error of `form` on `table` (the package's published results)."""
    table = _published() if table is None else table
    n = len(table)
    held = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        one = slice(i, i + 1)
        held[i] = fit(table, form, keep).predict(
            table.macs_m[one], table.params_m[one], table.resolution[one], table.se[one])[0]
    err = np.abs(held - table.top1)
    w = int(err.argmax())
    worst = f"{table.model[w]} {table.width[w]:g} at {table.resolution[w]:g}"
    return LeaveOneOut(form, n, float(err.mean()), float(err[w]), worst,
                       spearman(held, table.top1))


def compare_forms(table: Published | None = None) -> dict[str, LeaveOneOut]:
    """The leave-one-out error of every candidate form: why FORM is the one used."""
    return {form: leave_one_out(table, form) for form in FORMS}


# Once per process (the CSV ships with the package and does not change under it).
@functools.lru_cache(maxsize=1)
def _published() -> Published:
    return read_published(PUBLISHED)


@functools.lru_cache(maxsize=1)
def default_fit() -> Fit:
    return fit(_published())


@functools.lru_cache(maxsize=1)
def default_loo() -> LeaveOneOut:
    return leave_one_out()


def report() -> str:
    """One paragraph for `mnas predictor estimated`: the form, its coefficients, its
    leave-one-out error beside the other forms', and what the estimate is not."""
    table, f, loo = _published(), default_fit(), default_loo()
    terms = {"ln_macs": "ln M", "ln_macs_sq": "(ln M)^2", "ln_params": "ln params",
             "ln_res": "ln(res/224)", "se": "SE"}
    equation = f"{f.coef[0]:.2f}" + "".join(f" {c:+.4g} {terms[n]}"
                                            for n, c in zip(FORMS[f.form], f.coef[1:]))
    others = "; ".join(f"{name} {r.mae:.2f}" for name, r in compare_forms().items()
                       if name != FORM)
    return (
        f"Estimated ImageNet top-1 (NOT a measurement): fitted on {len(table)} published "
        f"results (MobileNetV2 and MnasNet-A1 over widths x resolutions; sources: "
        f"{'; '.join(table.sources)}) as top-1 = {equation} points, M = MACs in millions "
        f"(fitted on {f.macs_range[0]:g}-{f.macs_range[1]:g}; "
        f"beyond it the curve goes on along its tangent). Leave-one-out over the {loo.rows}: "
        f"MAE {loo.mae:.2f} points, worst {loo.max_error:.2f} ({loo.worst}), Spearman "
        f"{loo.spearman:.3f}; other forms' MAE: {others}. It sees only size and SE, so a "
        f"search with it finds the architectures whose MACs are cheapest in measured latency "
        f"on this device, not better designs; SE stands for everything MnasNet-A1 does "
        f"differently from MobileNetV2.")


# ------------------------------------------------------------------ the source
def has_se(arch: Architecture) -> bool:
    """Whether any layer of `arch` has squeeze-excite (a block removed by repeats 0 has none)."""
    return any(b.se_ratio > 0 and b.repeats > 0 for b in arch.blocks)


@dataclass(frozen=True)
class EstimatedConfig:
    """No settings: the estimate is fitted on the package's published results."""


class EstimatedAccuracy(AccuracySource):
    """ImageNet top-1 estimated from MACs and SE (module docstring); deterministic, ~1 ms."""

    name = "estimated"
    measured = False

    def __init__(self, config: EstimatedConfig | None = None):
        self.config = config or EstimatedConfig()

    def open(self) -> "EstimatedAccuracy":
        default_fit()  # a missing or broken CSV fails here, before a run writes anything
        return self

    def describe(self) -> str:
        loo = default_loo()
        return (f"estimated ImageNet top-1, not a measurement: fitted on {loo.rows} published "
                f"MobileNetV2/MnasNet-A1 results from MACs and SE only, leave-one-out MAE "
                f"{loo.mae:.2f} points; a search with it finds the architectures whose MACs "
                f"are cheapest in measured latency on this device")

    def task(self) -> dict:
        return dict(TASK)

    def _check(self, arch: Architecture) -> None:
        wrong = [f"{k} {getattr(arch, k)!r} (needs {v!r})" for k, v in TASK.items()
                 if getattr(arch, k) != v]
        if wrong:
            raise ValueError("the estimated source scores ImageNet networks at 224x224; this "
                             "architecture has " + ", ".join(wrong))

    def _score(self, archs: list[Architecture]) -> np.ndarray:
        cost = [totals(a) for a in archs]
        points = default_fit().predict([c.macs / 1e6 for c in cost],
                                       [c.params / 1e6 for c in cost],
                                       [a.resolution for a in archs],
                                       [float(has_se(a)) for a in archs])
        return np.clip(points / 100.0, 0.0, 1.0)

    def accuracy(self, arch: Architecture) -> AccuracyResult:
        start = time.perf_counter()
        self._check(arch)
        top1 = float(self._score([arch])[0])
        return AccuracyResult(top1=top1, source=self.name,
                              seconds=time.perf_counter() - start)

    def evaluate(self, archs, executor=None):
        """One vectorised prediction for the batch; the executor is not needed."""
        start = time.perf_counter()
        good = []
        for i, arch in enumerate(archs):
            try:
                self._check(arch)
                good.append(i)
            except ValueError as err:
                yield i, str(err)
        if not good:
            return
        top1 = self._score([archs[i] for i in good])
        each = (time.perf_counter() - start) / len(good)
        for i, t in zip(good, top1):
            yield i, AccuracyResult(top1=float(t), source=self.name, seconds=each)
