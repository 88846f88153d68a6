"""An accuracy predictor fitted on the `ok` trials of recorded runs: what turns a search of
proxy trainings (minutes per model) into one of predictions (microseconds), as once-for-all
(Cai et al., ICLR 2020) pairs an accuracy predictor with a latency table.

`fit(run_paths)` reads the runs, refuses to mix trainings that are not comparable (another
dataset or training budget: their accuracies are on other scales), computes the features of
mnas_core.accuracy.features, and scores every candidate model by k-fold held-out rank
correlation, beside two MACs-only baselines: MACs themselves, and a line fitted on log MACs.
The candidate with the best held-out Spearman is refitted on all trials. The folds group
repeated architectures (a PPO run samples some many times), so that a model is never scored
on a network it was fitted on. The chosen model's score is a little optimistic: it is the
best of a few (the CLI prints them all).

A predictor is a small versioned JSON file of plain numbers (`save`, `load`): loading it
parses text and never runs code, so a predictor shared with a class is as safe as a CSV.
Fitting needs scikit-learn (the trees) and the run store; predicting needs numpy only.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..arch import Architecture, load_json, parse_arch
from .features import GLOBAL_FEATURES, FeatureSpec, features
from .models import Ridge, Trees, _number, fit_ridge, fit_trees

FORMAT = "mnas-accuracy-predictor"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 32 << 20  # a fitted predictor is ~100 KB; anything far larger is not one
MIN_TRIALS = 30            # fewer and 5 folds of 6 held-out models say nothing about ranks
TASK_FIELDS = ("in_chans", "num_classes", "resolution", "small_input")
# Settings that do not change what a training learns, so runs that differ only in them mix:
# threads and evaluation batch (the same arithmetic), where the data was read from.
_SAME_TRAINING = {"threads", "eval_batch_size"}
_SAME_DATA = {"cache_dir", "download", "path", "url"}


MODELS = {"ridge": (fit_ridge, Ridge), "trees": (fit_trees, Trees)}
BASELINES = ("macs", "macs_fit")  # log MACs as the prediction; a line fitted on log MACs
MACS_COL = GLOBAL_FEATURES.index("log10_macs") - len(GLOBAL_FEATURES)  # the network-wide last


# ------------------------------------------------------------ held-out scores
def folds(groups: list[str], k: int, seed: int) -> np.ndarray:
    """Fold number of each sample: the distinct groups (architectures) shuffled with `seed`
    and dealt round-robin, so every copy of an architecture is held out together."""
    names = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(names))
    fold_of = {names[j]: i % k for i, j in enumerate(order)}
    return np.array([fold_of[g] for g in groups])


def rank_scores(y: np.ndarray, pred: np.ndarray) -> dict:
    """Spearman, Kendall (tau-b) and MAE of `pred` against `y`; a constant prediction ranks
    nothing, and scores nan."""
    from scipy.stats import kendalltau, spearmanr  # on use: predicting needs no scipy

    with warnings.catch_warnings():  # constant input: nan is the answer, not a warning
        warnings.simplefilter("ignore")
        return {"spearman": float(spearmanr(y, pred).statistic),
                "kendall": float(kendalltau(y, pred).statistic),
                "mae": float(np.mean(np.abs(y - pred)))}


def cross_validate(X: np.ndarray, y: np.ndarray, groups: list[str], k: int = 5,
                   seed: int = 0, macs_col: int = MACS_COL) -> dict[str, dict]:
    """Held-out scores of every candidate model and baseline: mean over the k folds (and the
    spread of Spearman over folds), each fold scored by a model fitted on the others."""
    fold = folds(groups, k, seed)
    per: dict[str, list[dict]] = {name: [] for name in (*MODELS, *BASELINES)}
    for i in range(k):
        tr, te = fold != i, fold == i
        for name, (fit_fn, _) in MODELS.items():
            per[name].append(rank_scores(y[te], fit_fn(X[tr], y[tr], seed=seed).predict(X[te])))
        macs = X[:, [macs_col]]
        per["macs"].append({**rank_scores(y[te], macs[te, 0]), "mae": math.nan})
        line = fit_ridge(macs[tr], y[tr], alphas=(1e-6,))
        per["macs_fit"].append(rank_scores(y[te], line.predict(macs[te])))
    out = {}
    for name, rows in per.items():
        s = {m: float(np.mean([r[m] for r in rows])) for m in ("spearman", "kendall", "mae")}
        s["spearman_sd"] = float(np.std([r["spearman"] for r in rows]))
        out[name] = {m: (None if math.isnan(v) else round(v, 6)) for m, v in s.items()}
    return out


# ------------------------------------------------------------ the predictor
@dataclass(frozen=True)
class Predictor:
    """A fitted model with what it was fitted on. `predict` gives top-1 in [0, 1]."""

    kind: str             # a name in MODELS
    model: Ridge | Trees
    spec: FeatureSpec
    task: dict            # TASK_FIELDS of the trained networks
    fitted_on: dict       # runs (file, sha256, trials, ok), dataset, budget, counts, folds
    scores: dict          # name -> held-out spearman, spearman_sd, kendall, mae
    created_at: float = 0.0
    mnas_version: str = __version__

    def check(self, arch: Architecture) -> None:
        """ValueError unless `arch` is built for the task the predictor was fitted on."""
        got = {f: getattr(arch, f) for f in TASK_FIELDS}
        if got != self.task:
            diff = ", ".join(f"{f} {got[f]} (fitted on {self.task[f]})" for f in TASK_FIELDS
                             if got[f] != self.task[f])
            raise ValueError(f"this predictor was fitted on another task: {diff}")

    def predict(self, archs: list[Architecture]) -> np.ndarray:
        for arch in archs:
            self.check(arch)
        if not archs:
            return np.zeros(0)
        return np.clip(self.model.predict(features(archs, self.spec)), 0.0, 1.0)

    def to_dict(self) -> dict:
        """The file's content; a copy, so that changing it leaves the predictor as it was."""
        return copy.deepcopy({
            "format": FORMAT, "version": FORMAT_VERSION, "kind": self.kind,
            "model": self.model.to_dict(), "features": self.spec.to_dict(), "task": self.task,
            "fitted_on": self.fitted_on, "scores": self.scores, "created_at": self.created_at,
            "mnas_version": self.mnas_version})

    def save(self, path: str | Path) -> None:
        """Write the JSON file atomically (a reader never sees half a predictor)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            tmp.write_text(json.dumps(self.to_dict(), allow_nan=False) + "\n")
            os.replace(tmp, path)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise ValueError(f"cannot write {path}: {err.strerror}") from None

    @classmethod
    def from_dict(cls, d) -> "Predictor":
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError(f"not an MNAS Explorer accuracy predictor (no format {FORMAT!r})")
        if d.get("version") != FORMAT_VERSION:
            raise ValueError(f"predictor format version {d.get('version')!r}; this version "
                             f"of MNAS Explorer reads {FORMAT_VERSION}")
        try:
            spec = FeatureSpec.from_dict(d["features"])
            kind, model = d["kind"], d["model"]
            if kind not in MODELS or not isinstance(model, dict) or model.get("kind") != kind:
                raise ValueError(f"unknown model kind {kind!r}")
            fitted = MODELS[kind][1].from_dict(model, len(spec.names()))
            task = _task(d["task"])
            scores = {n: {m: _number(v, none=True) for m, v in s.items()}
                      for n, s in d["scores"].items()}
            if any("spearman" not in scores.get(n, {}) for n in (kind, "macs_fit")):
                raise ValueError(f"scores must hold the held-out Spearman of {kind} and "
                                 "macs_fit")  # describe() shows both
            fitted_on = d["fitted_on"]
            trials = fitted_on["trials"]
            runs = fitted_on["runs"]
            if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs) \
                    or not isinstance(
                    fitted_on["dataset"], dict) or not isinstance(fitted_on["budget"], dict) \
                    or not isinstance(trials, int) or trials < 1:
                raise ValueError("fitted_on must list runs, dataset, budget and trials")
            return cls(kind, fitted, spec, task, fitted_on, scores,
                       _number(d.get("created_at", 0.0)), str(d.get("mnas_version", "")))
        except (KeyError, TypeError, AttributeError, IndexError) as err:
            raise ValueError(f"malformed predictor ({type(err).__name__}: {err})") from None

    @classmethod
    def load(cls, path: str | Path) -> "Predictor":
        """Parse a predictor file: JSON text of numbers and lists, no code. ValueError
        naming the file for anything that is not a whole predictor of this version."""
        text = _read(path)
        try:
            return cls.from_dict(load_json(text, "predictor"))
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------ fitting on run files
@dataclass(frozen=True)
class FitConfig:
    folds: int = 5
    seed: int = 0
    min_trials: int = MIN_TRIALS

    def __post_init__(self):
        if not isinstance(self.folds, int) or self.folds < 2:
            raise ValueError(f"folds must be an integer >= 2, got {self.folds!r}")


def fit(run_paths: list[str | Path], cfg: FitConfig = FitConfig()) -> Predictor:
    """Fit on the ok trials of the runs whose accuracy was measured (trained: never a figure
    a predictor gave; a run without any is left out); ValueError naming the files when they cannot be used together
    (another dataset, budget or task) or hold too few such trials."""
    # On use, and not mnas_core.search: a search imports the accuracy sources, so reading
    # its config from here would point this module up a layer (tests/test_layering.py).
    import pandas as pd

    from .. import config
    from ..data import DataConfig
    from ..runread import TrialStatus, check_run, read_config, read_trials
    from ..train import TrainConfig

    if not run_paths:
        raise ValueError("no run files given")
    runs, archs, ys, first = [], [], [], None
    for path in map(Path, run_paths):
        check_run(path)  # ValueError naming the file if it is not a whole run file
        df = read_trials(path)
        ok = df[(df.status == TrialStatus.OK) & np.isfinite(df.accuracy.astype(float))
                & df.get("accuracy_source", pd.Series(None, index=df.index)).map(_measured)]
        if ok.empty:  # e.g. a predicted search: its figures are a predictor's, and its
            continue  # dataset and budget are settings it never used
        stored = read_config(path)
        try:  # absent: the defaults, as SearchConfig reads it
            data = config.load(DataConfig, stored.get("dataset", {}), "dataset")
            train = config.load(TrainConfig, stored.get("train", {}), "train")
        except ValueError as err:
            raise ValueError(f"{path}: its search config: {err}") from None
        data = _without(dataclasses.asdict(data), _SAME_DATA)
        budget = _without(dataclasses.asdict(train), _SAME_TRAINING)
        if first is None:
            first = (path, data, budget)
        for what, mine, theirs in (("dataset", data, first[1]), ("training budget", budget,
                                                                  first[2])):
            if mine != theirs:
                diff = ", ".join(f"{k} {mine.get(k)!r} vs {theirs.get(k)!r}"
                                 for k in sorted(set(mine) | set(theirs))
                                 if mine.get(k) != theirs.get(k))
                raise ValueError(f"cannot fit one predictor on {first[0]} and {path}: their "
                                 f"{what} differs ({diff}), so their accuracies are not on "
                                 "one scale; fit one predictor per setting")
        runs.append({"file": path.name, "sha256": file_sha256(path), "trials": len(df),
                     "ok": len(ok)})
        archs += [parse_arch(a) for a in ok.arch]
        ys += [float(a) for a in ok.accuracy]
    names = ", ".join(str(p) for p in run_paths)
    if len(ys) < cfg.min_trials:
        raise ValueError(f"{names}: {len(ys)} ok trained trial(s) in all; a predictor needs "
                         f"at least {cfg.min_trials}")
    tasks = {tuple(getattr(a, f) for f in TASK_FIELDS) for a in archs}
    if len(tasks) != 1:
        raise ValueError(f"{names}: the trials were trained for {len(tasks)} different tasks "
                         f"({', '.join(map(str, sorted(tasks)))}); fit one per task")
    spec = FeatureSpec()
    X, y = features(archs, spec), np.array(ys)
    groups = [a.to_string() for a in archs]
    scores = cross_validate(X, y, groups, cfg.folds, cfg.seed)
    kind = max(MODELS, key=lambda n: -math.inf if scores[n]["spearman"] is None
               else scores[n]["spearman"])
    model = MODELS[kind][0](X, y, seed=cfg.seed)
    fitted_on = {"runs": runs, "dataset": first[1], "budget": first[2], "trials": len(y),
                 "architectures": len(set(groups)), "folds": cfg.folds, "seed": cfg.seed}
    return Predictor(kind, model, spec, dict(zip(TASK_FIELDS, next(iter(tasks)))), fitted_on,
                     scores, created_at=time.time())


# ------------------------------------------------------------ helpers
def _measured(source) -> bool:
    """Whether a trial's accuracy was measured (a training: an empty source is a file from
    before sources existed). A predicted or estimated figure must never be fitted on."""
    from ..registry import ACCURACY_SOURCES
    if source is None or (isinstance(source, float) and math.isnan(source)) or source == "":
        return True
    return source in ACCURACY_SOURCES and bool(ACCURACY_SOURCES.get(source).info.get("measured"))


def _without(d: dict, keys: set) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


def _read(path: str | Path) -> str:
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ValueError(f"{path} is not a file")
        if size > MAX_FILE_BYTES:
            raise ValueError(f"{path} is {size:,} bytes, too large for a predictor file")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"no predictor file at {path}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a predictor file (not UTF-8 text)") from None
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror}") from None


def _task(d) -> dict:
    if not isinstance(d, dict) or set(d) != set(TASK_FIELDS):
        raise ValueError(f"task must have the fields {', '.join(TASK_FIELDS)}")
    for f in TASK_FIELDS:
        if f == "small_input" and not isinstance(d[f], bool):
            raise ValueError(f"task: {f} must be true or false")
        if f != "small_input" and (isinstance(d[f], bool) or not isinstance(d[f], int)
                                   or d[f] < 1):
            raise ValueError(f"task: {f} must be a positive integer")
    return {f: d[f] for f in TASK_FIELDS}
