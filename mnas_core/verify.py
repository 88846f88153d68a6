"""Closing the loop of a predicted search (`mnas verify RUN --top K`): train the run's best
models with the real proxy training and record the measured top-1 next to the predicted one.

A predicted search (mnas_core.accuracy.predicted) ranks networks by what a predictor fitted
on recorded trainings expects; the predictor is only as good as such a check says. Which
task the check trains on: the one the predictor was fitted on, its file's `fitted_on`
dataset and budget. A predicted run's own `dataset` and `train` settings are not used by its
search (it trains nothing), so they need not match; the predictor's are the scale its
figures are on, and a training on any other task would compare two different things.

The check is resumable: every training is committed as it finishes (RunStore.add_verified),
so a kill -9 keeps the finished ones, and a re-run trains only what is not verified yet.
The K models are distinct architectures: a search samples some architectures many times, and
training one again gives the same seeded figure.

Everything that can be refused is refused before the first write: a file that is not a run
(check_run), a run that is not predicted, a predictor that does not reproduce the run's
figures (another file), a dataset that does not load, earlier verifications on another task.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field

import pandas as pd

from . import config
from .accuracy import AccuracyResult
from .accuracy.predicted import PredictedAccuracy, PredictedConfig
from .accuracy.predictor import rank_scores
from .accuracy.trained import TrainedAccuracy, TrainedConfig
from .arch import parse_arch
from .data import DataConfig
from .executors import Executor, make_executor
from .layers import network_key
from .registry import EXECUTORS
from .search import load_config, worker_train_config
from .store import RunStore, TrialStatus, read_trials, read_verified
from .train import TrainConfig

RANK_BY = {"reward": "reward", "accuracy": "predicted accuracy"}
# Where a dataset is read from: not part of what the predictor records (predictor._SAME_DATA).
_LOCATION = ("cache_dir", "path", "url", "download")
# A stored prediction and the predictor's answer now: the same arithmetic on the same input
# gives the same double, so anything above rounding means another predictor file.
_SAME_PREDICTION = 1e-9


@dataclass(frozen=True)
class VerifyConfig:
    """What to verify and where to train. `top`: how many distinct architectures, best
    first by `by` (RANK_BY). `predictor`: the predictor file to use instead of the path the
    run recorded (a moved file; it must reproduce the run's figures). `data_path` and
    `cache_dir`: where the dataset is read from. The executor defaults to the run's own;
    `threads` (torch threads per training) to cores / workers, as in a search."""

    top: int
    by: str = "reward"
    retry_failed: bool = False
    predictor: str | None = None
    data_path: str | None = None
    cache_dir: str | None = None
    executor: str | None = None
    workers: int | None = None
    scheduler: str | None = None
    threads: int | None = None

    def __post_init__(self):
        if isinstance(self.top, bool) or not isinstance(self.top, int) or self.top < 1:
            raise ValueError(f"--top must be an integer >= 1, got {self.top!r}")
        if self.by not in RANK_BY:
            raise ValueError(f"--by must be one of {', '.join(RANK_BY)}, got {self.by!r}")
        if self.executor is not None:
            EXECUTORS.get(self.executor)  # ValueError naming the registered executors
        for name in ("workers", "threads"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ValueError(f"--{name} must be an integer >= 1, got {v!r}")


@dataclass
class VerifyReport:
    """The K selected trials with both figures (`table`: trial, arch, reward, predicted,
    trained, difference = trained - predicted, status, error), and the agreement over the
    ones that trained: Spearman, Kendall (tau-b) and MAE (None below two models)."""

    table: pd.DataFrame
    scores: dict
    trained_now: int
    by: str
    notes: list[str] = field(default_factory=list)

    @property
    def n_ok(self) -> int:
        return int((self.table.status == TrialStatus.OK).sum())


class Verification:
    """One `mnas verify` of one run. Building it checks everything and takes the run's
    writer lock (a search writing it is refused), but writes nothing; `run` trains what is
    left, recording each training as it finishes; `report` reads the result. Close it (or
    use it as a context manager) to release the lock."""

    def __init__(self, path, cfg: VerifyConfig):
        self.cfg = cfg
        run_cfg = load_config(path)  # check_run first: a foreign or damaged file is refused
        _require_predicted(path, run_cfg)
        opts = run_cfg.accuracy.source_config()
        where = cfg.predictor or opts.path
        try:
            self.predictor = PredictedAccuracy(PredictedConfig(where, opts.sha256)).open()
        except ValueError as err:
            hint = "" if cfg.predictor else " (if the file moved, pass it with --predictor)"
            raise ValueError(f"{path}: the run's predictor: {err}{hint}") from None
        self.task = _proxy_task(self.predictor.predictor.fitted_on, cfg)
        self.notes = _notes(run_cfg, self.task)
        # The run's executor unless told otherwise; a chosen executor drops the run's
        # scheduler (a scheduler means Dask).
        self.executor_args = (cfg.executor or run_cfg.executor, cfg.workers or run_cfg.workers,
                              cfg.scheduler if cfg.executor or cfg.scheduler
                              else run_cfg.scheduler)
        kind, workers, scheduler = self.executor_args
        # The worker threads as a search of this executor would set them (cores / workers):
        # threads are not part of the budget (predictor._SAME_TRAINING).
        train = worker_train_config(dataclasses.replace(
            run_cfg, train=dataclasses.replace(self.task.train, threads=cfg.threads),
            executor=kind, workers=workers, scheduler=scheduler))
        self.trained = TrainedAccuracy(dataclasses.replace(self.task, train=train))
        self.store = RunStore(path)  # the lock; a refusal leaves the file as it was
        try:
            self._plan()
        except BaseException:
            self.close()
            raise

    def _plan(self) -> None:
        path, trials = self.store.path, self.store.trials()
        ok = trials[(trials.status == TrialStatus.OK)
                    & (trials.accuracy_source == "predicted")]
        if ok.empty:
            raise ValueError(f"{path} has no finished predicted trials to verify yet")
        self.selected = select(ok, self.cfg.top, self.cfg.by)
        _check_predictions(path, self.predictor, self.selected)
        self.dataset_json = _json(self.predictor.predictor.fitted_on["dataset"])
        self.budget_json = _json(self.predictor.predictor.fitted_on["budget"])
        done = self.store.verified()
        other = done[(done.dataset != self.dataset_json) | (done.train_budget != self.budget_json)]
        if not other.empty:
            raise ValueError(
                f"{path}: trial {int(other.trial.iloc[0])} was verified on another task or "
                f"budget ({other.dataset.iloc[0]}, {other.train_budget.iloc[0]}) than this "
                "predictor's; the figures would not be on one scale")
        self.trained.open()  # a dataset that does not load fails before anything is written
        if self.trained.task() != self.predictor.task():
            raise ValueError(f"the dataset {self.task.dataset.name} gives the task "
                             f"{self.trained.task()}, the predictor was fitted on "
                             f"{self.predictor.task()}")
        skip = done[done.status == TrialStatus.OK] if self.cfg.retry_failed else done
        known = set(trials.set_index("trial").arch.reindex(skip.trial).dropna())
        self.todo = self.selected[~self.selected.arch.isin(known)]

    def describe(self) -> list[str]:
        """What it will do, for the CLI to print before the first training."""
        n, by = len(self.selected), RANK_BY[self.cfg.by]
        more = "" if n == self.cfg.top else f" (the run has only {n})"
        return [f"verifying the top {n} distinct architectures by {by}{more}",
                f"predictions: {self.predictor.describe()}",
                f"training: {self.trained.describe()}, the task the predictor was fitted on",
                *self.notes,
                f"to train: {len(self.todo)} (already verified: {n - len(self.todo)})"]

    def run(self, progress=None, executor: Executor | None = None) -> VerifyReport:
        """Train the trials not verified yet on `executor` (default: the one the config
        names), committing each as it finishes; `progress` is tqdm-like (update(n),
        set_postfix_str(s)). A candidate's failure is recorded as failed with its error."""
        todo = list(self.todo.itertuples(index=False))
        if todo:
            own = executor is None
            if own:
                kind, workers, scheduler = self.executor_args
                executor = make_executor(kind, workers, scheduler)
            try:
                archs = [parse_arch(t.arch) for t in todo]
                for i, r in self.trained.evaluate(archs, executor):
                    self._record(todo[i], r)
                    _tick(progress, todo[i], r)
            finally:
                if own:
                    executor.close()
        return self.report(trained_now=len(todo))

    def _record(self, t, r: AccuracyResult | str) -> None:
        fields = {"predicted": float(t.predicted), "dataset": self.dataset_json,
                  "train_budget": self.budget_json, "predictor_sha256": self.predictor.sha256}
        if isinstance(r, AccuracyResult):
            fields.update(status=TrialStatus.OK, accuracy=r.top1, top5=r.top5,
                          train_seconds=r.train_seconds, total_seconds=r.seconds,
                          worker=r.worker or None)
        else:
            fields.update(status=TrialStatus.FAILED, error=r)
        self.store.add_verified(int(t.trial), fields)

    def report(self, trained_now: int = 0) -> VerifyReport:
        """The selected trials with what is recorded for them, and the agreement."""
        table, scores = agreement(self.selected, self.store.trials(), self.store.verified())
        return VerifyReport(table, scores, trained_now, self.cfg.by, self.notes)

    def close(self) -> None:
        self.predictor.close()
        self.trained.close()
        store, self.store = getattr(self, "store", None), None
        if store is not None:
            store.close()

    def __enter__(self) -> "Verification":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def verify(path, cfg: VerifyConfig, progress=None, executor: Executor | None = None
           ) -> VerifyReport:
    """Verify the run `path` as `cfg` says (Verification) and return the report."""
    with Verification(path, cfg) as v:
        return v.run(progress, executor)


def agreement(selected: pd.DataFrame, trials: pd.DataFrame, done: pd.DataFrame
              ) -> tuple[pd.DataFrame, dict]:
    """`selected` (trial, arch, reward, predicted) with the trained figure `done` (the
    verified table) holds for each architecture, and Spearman, Kendall (tau-b) and MAE over
    the ones that trained (None below two models)."""
    archs = trials.set_index("trial").arch
    done = done.assign(arch=archs.reindex(done.trial).to_numpy(),
                       ok=done.status == TrialStatus.OK)
    # One record per architecture: an ok one first, then the latest.
    best = done.sort_values(["ok", "verified_at"]).drop_duplicates("arch", keep="last")
    table = selected.merge(best[["arch", "status", "accuracy", "error"]], on="arch",
                           how="left").rename(columns={"accuracy": "trained"})
    table["difference"] = table.trained - table.predicted
    good = table[table.status == TrialStatus.OK]
    scores = (rank_scores(good.trained.to_numpy(float), good.predicted.to_numpy(float))
              if len(good) >= 2 else {"spearman": None, "kendall": None,
                                      "mae": float(good.difference.abs().mean())
                                      if len(good) else None})
    scores = {k: None if v is None or math.isnan(v) else v for k, v in scores.items()}
    return table[["trial", "arch", "reward", "predicted", "trained", "difference", "status",
                  "error"]], scores


def recorded(path, trials: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict] | None:
    """What `mnas verify` has recorded in the run `path` (read only: a search or a verify
    may be writing it): every verified architecture, best reward first, with the agreement;
    None when nothing is verified. `trials`: the run's trials, where the caller has read them
    already. ValueError for a file that is not a run."""
    done = read_verified(path)
    if done.empty:
        return None
    trials = read_trials(path) if trials is None else trials
    ok = trials[trials.trial.isin(done.trial) & (trials.status == TrialStatus.OK)]
    return agreement(select(ok, len(ok), "reward"), trials, done)


def select(ok: pd.DataFrame, top: int, by: str) -> pd.DataFrame:
    """The `top` best distinct networks of the ok trials by `by`: each network's best trial
    (the earliest on a tie), best first. Columns trial, arch, reward, predicted."""
    key = "reward" if by == "reward" else "accuracy"
    ranked = ok.assign(_key=ok[key].astype(float)).sort_values(
        ["_key", "trial"], ascending=[False, True], kind="stable")
    ranked = ranked[ranked._key.notna()].drop_duplicates("arch")
    # Distinct networks, not strings: strings that differ only in a removed block's settings
    # train the same network to the same seeded figure (one such run had 3 in its top 20).
    # Parsed best first and only until `top` are found: a run may hold 10,000 trials.
    seen, keep = set(), []
    for i, text in zip(ranked.index, ranked.arch):
        net = network_key(parse_arch(text))
        if net not in seen:
            seen.add(net)
            keep.append(i)
            if len(keep) == top:
                break
    return ranked.loc[keep].rename(columns={"accuracy": "predicted"})[
        ["trial", "arch", "reward", "predicted"]].reset_index(drop=True)


# ------------------------------------------------------------ checks
def _require_predicted(path, run_cfg) -> None:
    source = run_cfg.accuracy.source
    if source == "predicted":
        return
    why = {"trained": "its accuracies were measured by the proxy training already",
           "estimated": "its accuracies are ImageNet top-1 estimated from published results, "
                        "which no proxy training on CIFAR or digits can check (another "
                        "dataset, another scale)"}.get(source, f"its accuracy source is {source}")
    raise ValueError(f"{path} is not a predicted run: {why}; verify checks a run searched "
                     "with --accuracy predicted")


def _proxy_task(fitted_on: dict, cfg: VerifyConfig) -> TrainedConfig:
    """The dataset and budget the predictor was fitted on, read from where `cfg` says."""
    where = {k: v for k, v in (("path", cfg.data_path), ("cache_dir", cfg.cache_dir)) if v}
    data = {k: v for k, v in fitted_on["dataset"].items() if k not in _LOCATION}
    try:
        return TrainedConfig(config.load(DataConfig, {**data, **where}, "the predictor's dataset"),
                             config.load(TrainConfig, fitted_on["budget"],
                                         "the predictor's training budget"))
    except ValueError as err:
        raise ValueError(f"cannot train on the predictor's task: {err}") from None


def _check_predictions(path, source: PredictedAccuracy, selected: pd.DataFrame) -> None:
    """ValueError unless the predictor gives the run's recorded figure for every selected
    trial: another file would be checked against trainings it never predicted."""
    got = source.predictor.predict([parse_arch(a) for a in selected.arch])
    for t, want, have in zip(selected.trial, selected.predicted, got):
        if not abs(float(want) - float(have)) <= _SAME_PREDICTION:
            raise ValueError(
                f"{path}: {source.config.path} is not the predictor this run was searched "
                f"with (trial {t}: the run recorded {float(want):.6f}, it predicts "
                f"{float(have):.6f}); pass that one with --predictor")


def _notes(run_cfg, task: TrainedConfig) -> list[str]:
    """Say so when the run's own (unused) dataset or budget differ from the predictor's."""
    mine = (_strip(run_cfg.dataset, _LOCATION), _strip(run_cfg.train, ("threads",
                                                                      "eval_batch_size")))
    theirs = (_strip(task.dataset, _LOCATION), _strip(task.train, ("threads", "eval_batch_size")))
    if mine == theirs:
        return []
    return [f"note: the run's own dataset/train settings ({run_cfg.dataset.name}, "
            f"{_budget(run_cfg.train)}) are not what its predictions rest on (a predicted "
            f"search trains nothing); verifying on the predictor's ({task.dataset.name}, "
            f"{_budget(task.train)})"]


def _strip(cfg, keys) -> dict:
    return {k: v for k, v in dataclasses.asdict(cfg).items() if k not in keys}


def _budget(t: TrainConfig) -> str:
    return f"{t.steps} steps" if t.steps is not None else f"{t.epochs:g} epochs"


def _json(d: dict) -> str:
    return json.dumps(d, sort_keys=True)


def _tick(progress, t, r) -> None:
    if progress is None:
        return
    if isinstance(r, AccuracyResult):  # first: the update redraws the bar with it
        progress.set_postfix_str(f"trial {t.trial}: predicted {t.predicted:.3f} "
                                 f"trained {r.top1:.3f}")
    progress.update(1)
