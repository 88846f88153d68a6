"""The search: ask a batch -> measure latency -> score accuracy (in parallel) -> tell -> record.

Each sampled model m gets ACC(m) from an accuracy source (mnas_core.accuracy): by default the
paper's proxy training on the search dataset, or a predictor or estimate that answers a batch
at once; and LAT(m) from a latency source for the network as it would be deployed (224x224,
1000 classes, like the paper's Pixel 1 figures); the reward is eq. 2-3 (mnas_core.reward).

Latency is measured in its own stage, in this process, while no worker trains: a model timed
on a CPU that is also training other models reads slower and noisier
(benchmarks/latency_isolation.py measures how much).

The run store (mnas_core.store) records the asked batch, with the strategy's state, before
anything is evaluated, and the finished trials at least every FLUSH_S seconds. `resume` after a
kill -9 reloads that state, re-evaluates only the trials still pending and tells the batch:
`tell` is deterministic, so the strategy continues exactly, and one state write per batch is
enough.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, config, zoo
from .arch import Architecture, parse_arch
from .accuracy import AccuracyResult, AccuracySource
from .data import DataConfig
from .executors import Executor, make_executor
from .profile import totals
from .registry import ACCURACY_SOURCES, EXECUTORS, LATENCY_SOURCES, STRATEGIES
from .reward import RewardConfig, reward
from .runread import upgrade_config
from .space import SearchSpace
from .store import RunStatus, RunStore, TrialStatus, check_run, read_config
from .strategies import make_strategy
from .train import TrainConfig

# A kill -9 loses at most this much finished work (those trials stay pending and are scored
# again on resume); writing less often lets a predicting search run thousands of trials a
# second, where one commit per trial would cost more than the predictions.
FLUSH_S = 0.5


@dataclass(frozen=True)
class LatencySetup:
    """Where LAT(m) comes from (a name in mnas_core.registry.LATENCY_SOURCES) and for which
    deployment of the model. `options` are the source's settings as the run stores them,
    plain JSON: the fields of its config dataclass (HostLatencyConfig, LutConfig) or the
    phone's nested ones. They are read into that dataclass here, so a bad setting fails when
    the config is built, naming the field (`source_config()` gives the typed settings)."""

    source: str = "measured"
    resolution: int = 224
    num_classes: int = 1000
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        LATENCY_SOURCES.get(self.source)  # ValueError naming the registered sources
        self.source_config()

    def source_config(self):
        from .latency import source_config  # imported on use: it needs torch
        return source_config(self.source, self.options)

    def deployed(self, arch: Architecture) -> Architecture:
        """The network whose latency counts: the searched blocks at deployment size."""
        return arch.replace(resolution=self.resolution, num_classes=self.num_classes,
                            in_chans=3, small_input=False)

    def make_source(self):
        """The source, not yet opened (`open()` connects what it needs)."""
        from .latency import make_source
        return make_source(self.source, **self.options)


# Settings of an accuracy source that are the run's own: a training's dataset and budget are
# the SearchConfig's `dataset` and `train`, so a run stores them once.
_SUPPLIED = ("dataset", "train")


@dataclass(frozen=True)
class AccuracySetup:
    """Where ACC(m) comes from (a name in mnas_core.registry.ACCURACY_SOURCES). `options` are
    the source's settings as the run stores them, plain JSON: the fields of its config
    dataclass, read by config.load when the config is built, so a bad setting names its field.
    A source whose config has `dataset` or `train` gets the run's (`make_source`)."""

    source: str = "trained"
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        self.source_config()

    def source_config(self):
        where = f"accuracy: {self.source} source"
        own = sorted(set(self.options) & set(_SUPPLIED))
        if own:
            raise ValueError(f"{where}: {', '.join(own)} are the run's own settings "
                             "(set them in the search config, not in the source's options)")
        return config.load(ACCURACY_SOURCES.get(self.source).load_config(), self.options, where)

    @property
    def uses_dataset(self) -> bool:
        """Whether the source reads the run's dataset (a training does; a predictor does not,
        so a predicted search needs no data on disk)."""
        return "dataset" in {f.name for f in dataclasses.fields(self.source_config())}

    def make_source(self, cfg: "SearchConfig") -> AccuracySource:
        """The source for the run `cfg`, not yet opened (`open()` loads what it needs)."""
        src_cfg = self.source_config()
        names = {f.name for f in dataclasses.fields(src_cfg)}
        supplied = {"dataset": cfg.dataset, "train": worker_train_config(cfg)}
        src_cfg = dataclasses.replace(src_cfg, **{k: v for k, v in supplied.items()
                                                  if k in names})
        return ACCURACY_SOURCES.load(self.source)(src_cfg)


@dataclass(frozen=True)
class SearchConfig:
    """Everything that defines a run; stored with it. The default reward is the paper's soft
    constraint with T = auto (see RewardConfig)."""

    strategy: str = "ppo"
    strategy_options: dict = field(default_factory=dict)
    trials: int = 100
    batch_size: int = 8
    reward: RewardConfig = field(default_factory=RewardConfig)
    dataset: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    latency: LatencySetup = field(default_factory=LatencySetup)
    accuracy: AccuracySetup = field(default_factory=AccuracySetup)
    space: SearchSpace = field(default_factory=SearchSpace)
    executor: str = "process"
    workers: int = 2
    scheduler: str | None = None
    seed: int = 0

    def __post_init__(self):
        STRATEGIES.get(self.strategy)  # ValueErrors naming the registered choices
        EXECUTORS.get(self.executor)
        if self.trials < 1 or self.batch_size < 1:
            raise ValueError(f"trials and batch_size must be >= 1 (got {self.trials}, "
                             f"{self.batch_size})")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["space"] = self.space.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SearchConfig":
        """The config `to_dict` wrote (or an earlier version's, see upgrade_config);
        ValueError for anything else (a run file's config may come from anywhere)."""
        if isinstance(d, dict):  # the versions a run file records beside its config
            d = upgrade_config({k: v for k, v in d.items() if k != "versions"})
        return config.load(cls, d, "search config")


def versions() -> dict:
    import torch

    return {"mnas_explorer": __version__, "torch": torch.__version__,
            "python": platform.python_version(), "machine": platform.machine()}


# ------------------------------------------------------------ worker side
def worker_train_config(cfg: SearchConfig) -> TrainConfig:
    """The training config each worker uses. Unset threads become cores / workers: torch's
    default (all cores in every worker) oversubscribes the CPU, and OpenMP threads spinning
    for a core made a 6 s candidate take 90-360 s with 2 workers on 2 busy cores."""
    if cfg.train.threads is not None:
        return cfg.train
    if cfg.scheduler:  # remote workers: their core count is unknown here, one thread is safe
        return dataclasses.replace(cfg.train, threads=1)
    workers = 1 if cfg.executor == "inprocess" else cfg.workers
    return dataclasses.replace(cfg.train, threads=max(1, (os.cpu_count() or 1) // workers))


# ------------------------------------------------------------ the loop
def _latency_fields(source, arch: Architecture) -> dict:
    start = time.perf_counter()
    r = source.latency(arch)
    return {"latency_ms": r.ms, "latency_p10": r.p10, "latency_p90": r.p90,
            "latency_cv": r.cv, "latency_runs": r.runs, "latency_source": r.source,
            "latency_backend": r.backend, "fingerprint": r.fingerprint,
            "latency_seconds": time.perf_counter() - start}


def resolve_target(cfg: SearchConfig, source) -> RewardConfig:
    """The run's reward with T fixed: T = auto is MobileNetV2 1.0's latency on `source`."""
    if cfg.reward.target_ms is not None:
        return cfg.reward
    mbv2 = cfg.latency.deployed(zoo.get("mobilenet_v2"))
    return cfg.reward.resolved(round(source.latency(mbv2).ms, 3))


def check_config(cfg: SearchConfig) -> None:
    """Refuse now, before a run file exists, what the start of `run_search` would refuse: an
    accuracy source that cannot open (a dataset that does not load: it stays loaded for the
    run), strategy options that do not fit the space (a latency source that cannot work: its
    `open()`)."""
    acc = cfg.accuracy.make_source(cfg).open()
    try:
        make_strategy(cfg.strategy, cfg.space.replace(**acc.task()), seed=cfg.seed,
                      **cfg.strategy_options)
    finally:
        acc.close()


def load_config(path: str | Path) -> SearchConfig:
    """The SearchConfig stored in the run file `path`; ValueError naming the file when there
    is none or it is not one this version reads. Reads only."""
    check_run(Path(path))  # the file first: a foreign file is named as such, not by its config
    cfg = read_config(path)
    try:
        return SearchConfig.from_dict(cfg)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def start_run(cfg: SearchConfig, path: str | Path, name: str | None = None) -> RunStore:
    """Create the run file with the full config (T still unresolved if auto), and what the
    accuracy source pins (a predictor's sha256), so a resume cannot silently change it."""
    acc = cfg.accuracy.make_source(cfg).open()
    try:
        pinned = acc.pinned()
    finally:
        acc.close()
    if pinned:
        cfg = dataclasses.replace(cfg, accuracy=dataclasses.replace(
            cfg.accuracy, options={**cfg.accuracy.options, **pinned}))
    return RunStore.create(path, {**cfg.to_dict(), "versions": versions()}, name=name)


def run_search(store: RunStore, executor: Executor | None = None, progress=None,
               source=None) -> RunStore:
    """Run (or resume) the search stored in `store` until its trial budget is spent.
    `executor` and `source` (a LatencySource) default to the ones the config names;
    `progress` is an optional tqdm-like object (update(n), set_postfix_str(s))."""
    cfg = SearchConfig.from_dict(store.config())
    with contextlib.ExitStack() as owned:  # closes what this call opened, however it ends
        acc = cfg.accuracy.make_source(cfg).open()
        owned.callback(acc.close)
        space = cfg.space.replace(**acc.task())
        strategy = make_strategy(cfg.strategy, space, seed=cfg.seed, **cfg.strategy_options)
        batch, todo = _restore(store, strategy)  # first: a refused state leaves the file as is
        if source is None:  # a source passed in is the caller's to close
            source = cfg.latency.make_source()
            owned.callback(source.close)
        if store.count() < cfg.trials:  # a finished run times nothing more
            _check_same_device(store, source)
        if cfg.reward.target_ms is None:
            store.set_phase(f"measuring T: MobileNetV2's latency ({cfg.latency.source})")
        rcfg = resolve_target(cfg, source)
        if cfg.reward.target_ms is None:  # keep the resolved T: a resume must not re-derive it
            store.set_reward(dataclasses.asdict(rcfg))
        if executor is None:
            executor = make_executor(cfg.executor, cfg.workers, cfg.scheduler)
            owned.callback(executor.close)
        store.set_status(RunStatus.RUNNING, os.getpid())
        try:
            with _one_torch_thread():
                _loop(store, cfg, space, strategy, batch, todo, acc, source, rcfg, executor,
                      progress)
            store.set_status(RunStatus.FINISHED)
        except KeyboardInterrupt:
            store.set_status(RunStatus.STOPPED)
            raise
        except BaseException:
            store.set_status(RunStatus.FAILED)
            raise
    return store


def _loop(store, cfg: SearchConfig, space, strategy, batch: int, todo, acc, source, rcfg,
          executor, progress) -> None:
    """Ask -> record -> evaluate -> tell, batch after batch, until the trial budget is spent."""
    done = store.count()
    if progress is not None:
        progress.update(done)
    while True:
        if todo is None:  # ask a new batch, record it before evaluating anything
            n = min(cfg.batch_size, cfg.trials - done)
            if n <= 0:
                return
            batch += 1
            store.set_phase(f"batch {batch}: the {cfg.strategy} strategy picks {n} models")
            tokens = strategy.ask(n)
            rows, archs = [], {}
            for t in tokens:
                arch = space.decode(t)
                text = arch.to_string()
                archs[text] = arch  # so evaluating the batch parses nothing again
                cost = totals(cfg.latency.deployed(arch))
                rows.append({"arch": text, "tokens": json.dumps(t),
                             "params": cost.params, "macs": cost.macs})
            store.add_pending(batch, rows, strategy.state_dict())
            todo = store.batch_trials(batch)
        else:  # a resumed batch: its architectures are parsed from the file
            archs = {}
        pending = [t for t in todo if t["status"] == TrialStatus.PENDING]
        for t in pending:
            if t["arch"] not in archs:
                archs[t["arch"]] = parse_arch(t["arch"])
        _evaluate(store, pending, archs, cfg, acc, source, rcfg, executor,
                  _Finished(store, progress, f"batch {batch}", acc.measured))
        told = store.batch_trials(batch)
        strategy.tell([json.loads(t["tokens"]) for t in told],
                      [t["reward"] if t["status"] == TrialStatus.OK else math.nan
                       for t in told])
        done, todo = store.count(), None


@contextlib.contextmanager
def _one_torch_thread():
    """The loop's own torch work (the controller) on one thread, restored afterwards. The
    controller's tensors are tiny, so a second thread buys nothing, while OpenMP threads
    spinning for a busy core made PPO's ask + tell 18x slower on 2 cores (134.6 against 7.4
    ms at batch 8; benchmarks/instant.py). Trainings and timings set their own threads."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _check_same_device(store: RunStore, source) -> None:
    """A resumed run's latencies compare only if this source times as its trials were timed
    (eq. 2 ranks them against one T): refuse another fingerprint (another CPU, thread count,
    backend, library version or phone) before anything is written."""
    other = store.fingerprints() - {source.fingerprint()}
    if other:
        raise ValueError(f"{store.path}: its trials were timed under latency fingerprint "
                         f"{', '.join(sorted(other))} and this {source.name} source is "
                         f"{source.fingerprint()} (another device or setup), so new figures "
                         "would not compare with them; resume it where it was started, or "
                         "start a new run")


def _restore(store: RunStore, strategy) -> tuple[int, object]:
    """Load the strategy as it was after its last ask; return (that batch, its trials), which
    still need evaluating (the pending ones) and telling."""
    saved = store.strategy_state()
    if saved is None:
        return 0, None
    batch, state = saved
    try:
        strategy.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as err:
        raise ValueError(f"{store.path}: the stored strategy state does not fit this "
                         f"strategy ({type(err).__name__}: {err})") from None
    return batch, store.batch_trials(batch)


def _evaluate(store, pending, archs: dict[str, Architecture], cfg: SearchConfig,
              acc: AccuracySource, source, rcfg, executor, out: "_Finished") -> None:
    """Latency stage (this process, workers idle), then the accuracy stage (workers, for a
    training). `archs` maps each trial's block string to its architecture. Finished trials
    go to `out`, which writes them at least every FLUSH_S seconds, and says the phase."""
    lat: dict[int, dict] = {}
    for k, t in enumerate(pending, 1):
        out.phase(f"timing model {k} of {len(pending)} ({cfg.latency.source} latency)")
        try:
            lat[t["trial"]] = _latency_fields(source, cfg.latency.deployed(archs[t["arch"]]))
        except ValueError as err:  # this model cannot run; a lost device is not caught here
            out.add(t["trial"], {"status": TrialStatus.FAILED, "error": f"latency: {err}"})
    trials = [t for t in pending if t["trial"] in lat]
    out.expect(len(trials), getattr(executor, "workers", None))
    # The budget of a figure that a training measured (its width only where it is not 1, as
    # runs recorded before it existed read).
    t = cfg.train
    budget = json.dumps({"epochs": t.epochs, "steps": t.steps,
                         **({"width": t.width} if t.width != 1 else {})}) \
        if acc.measured else None
    for i, r in acc.evaluate([archs[t["arch"]] for t in trials], executor):
        trial = trials[i]["trial"]
        fields = {**lat[trial], "train_budget": budget, "accuracy_source": acc.name}
        if isinstance(r, AccuracyResult):
            fields.update(status=TrialStatus.OK, accuracy=r.top1, top5=r.top5,
                          train_seconds=r.train_seconds, worker=r.worker or None,
                          reward=float(reward(r.top1, fields["latency_ms"], rcfg)),
                          total_seconds=r.seconds + fields["latency_seconds"])
        else:
            fields.update(status=TrialStatus.FAILED, error=r)
        out.add(trial, fields)
    out.flush()


class _Finished:
    """Finished trials on their way to the store: written in one transaction at least every
    FLUSH_S seconds (see FLUSH_S), and ticked on the progress bar as they come. It also says
    the batch's phase (RunStore.set_phase) for the app, at most every FLUSH_S as well: an
    instant search finishes thousands of trials a second."""

    def __init__(self, store, progress, batch: str, trains: bool):
        self.store, self.progress, self.rows, self.last = store, progress, [], time.monotonic()
        self.batch, self.verb = batch, "trained" if trains else "predicted"
        self.said, self.todo, self.done, self.workers = 0.0, 0, 0, None

    def phase(self, text: str, now: bool = False) -> None:
        if now or time.monotonic() - self.said >= FLUSH_S:
            self.store.set_phase(f"{self.batch}: {text}")
            self.said = time.monotonic()

    def expect(self, n: int, workers: int | None) -> None:
        """The accuracy stage starts with `n` models on `workers` (None: unknown)."""
        self.todo, self.workers = n, workers
        self._say_progress(now=True)

    def _say_progress(self, now: bool = False) -> None:
        on = f" on {self.workers} worker{'s' * (self.workers != 1)}" if self.workers else ""
        busy = (" (the rest wait for a worker)" if self.workers and
                self.todo - self.done > self.workers else "")
        self.phase(f"{self.done} of {self.todo} models {self.verb}{on}{busy}", now)

    def add(self, trial: int, fields: dict) -> None:
        self.rows.append((trial, fields))
        _tick(self.progress, fields)
        if self.todo:
            self.done += 1
            self._say_progress(now=self.done == self.todo)  # a batch's end is always said
        if time.monotonic() - self.last >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.store.finish_many(self.rows)
            self.rows = []
        self.last = time.monotonic()


def _tick(progress, fields: dict | None) -> None:
    if progress is None:
        return
    progress.update(1)
    if fields and fields.get("status") == TrialStatus.OK:
        progress.set_postfix_str(f"acc {fields['accuracy']:.3f} lat {fields['latency_ms']:.1f}ms"
                                 f" R {fields['reward']:.4f}")
