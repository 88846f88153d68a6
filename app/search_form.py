"""The search form's values and their translation into a mnas_core.search.SearchConfig.
No Streamlit here, so the translation (and its error messages) is tested on its own."""
from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from pathlib import Path

from mnas_core import registry
from mnas_core.reward import PRESETS, RewardConfig
from mnas_core.space import SearchSpace

# The menus (STRATEGIES, DATASETS, LATENCY_SOURCES): every registered name, read from
# mnas_core.registry when asked for, so a plug-in registered after this import is listed too.
# A dataset that takes an argument (folder:PATH) is typed in rather than listed.
_MENUS = {"STRATEGIES": lambda: registry.STRATEGIES.names(),
          "DATASETS": lambda: tuple(e.name for e in registry.DATASETS.entries() if not e.arg),
          "LATENCY_SOURCES": lambda: registry.LATENCY_SOURCES.names()}


def __getattr__(name: str):
    if name in _MENUS:
        return _MENUS[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


CIFAR = ("cifar10", "cifar100")  # the datasets a data path (archive or folder) applies to
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")


@dataclass(frozen=True)
class FormValues:
    """What the Run-a-search form holds. None: the default search's value, the one
    `mnas search` uses too (SearchConfig's defaults: the one place they are set)."""

    name: str
    dataset: str | None = None       # a name in registry.DATASETS (or folder:PATH)
    data_path: str | None = None     # CIFAR: a downloaded archive or folder ("" = download)
    subset: int | None = None        # training images used (0 = all)
    epochs: float | None = None      # proxy training budget per candidate
    strategy: str | None = None
    trials: int | None = None
    batch_size: int | None = None
    target_ms: float | None = None   # 0 = auto: MobileNetV2's latency on the source
    preset: str | None = None        # "hard" | "soft" | "custom"
    alpha: float | None = None       # the exponents of a custom reward
    beta: float | None = None
    latency_source: str | None = None
    workers: int | None = None
    seed: int | None = None


def defaults(name: str = "", dataset: str | None = None) -> FormValues:
    """The form's starting values: the default search's (SearchConfig, as the CLI's), with
    the proxy task of `dataset` (default: the default search's) from fidelity.proxy_task."""
    from mnas_core.fidelity import proxy_task
    from mnas_core.search import SearchConfig  # imported on use: it loads torch

    c = SearchConfig()
    data, train = proxy_task(dataset or c.dataset.name)
    return FormValues(name=name, dataset=data.name, data_path="",
                      subset=data.train_images or 0, epochs=float(train.epochs),
                      strategy=c.strategy, trials=c.trials, batch_size=c.batch_size,
                      target_ms=c.reward.target_ms or 0.0, preset=c.reward.kind,
                      alpha=c.reward.alpha, beta=c.reward.beta,
                      latency_source=c.latency.source, workers=c.workers, seed=c.seed)


# The teacher's quick demo: the default search with a budget small enough that the first
# trial lands within 30 s on 2 cores (benchmarks/quick_demo.py measures it from the click:
# process start, T measured, the batch's models timed, one trained). Timing dominated it
# (~6 s a model with the full protocol), so the demo times with fewer runs: a coarser figure,
# recorded with the run's latency options; and it trains in the search's own process, which
# has torch loaded already, where starting worker processes cost ~6 s before the first model.
QUICK_DEMO = dict(trials=24, batch_size=2, subset=300, epochs=0.5)
QUICK_DEMO_LATENCY = dict(warmup=2, runs=5, blocks=2)


def quick_demo(name: str) -> FormValues:
    """The default search's form values at the quick-demo budget (QUICK_DEMO)."""
    return dataclasses.replace(defaults(name), **QUICK_DEMO)


def quick_demo_config(name: str, space: SearchSpace):
    """The quick demo's SearchConfig: `quick_demo`'s values, timed with QUICK_DEMO_LATENCY,
    trained in the search's process."""
    cfg = build_config(quick_demo(name), space)
    return dataclasses.replace(cfg, executor="inprocess", workers=1, latency=dataclasses.replace(
        cfg.latency, options={**cfg.latency.options, **QUICK_DEMO_LATENCY}))


def default_name(strategy: str, preset: str) -> str:
    return f"{strategy}-{preset}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_path(runs_dir: Path, name: str) -> Path:
    """runs_dir/NAME.db; ValueError for a name that is not a plain file name or already used."""
    name = name.strip()
    if not _NAME.match(name):
        raise ValueError(f"run name {name!r}: use letters, digits, '-', '_' or '.' "
                         "(no spaces or slashes), starting with a letter or digit")
    path = Path(runs_dir) / f"{name.removesuffix('.db')}.db"
    if path.exists():
        raise ValueError(f"a run named {path.stem!r} already exists in {runs_dir}; "
                         "pick another name (or resume that run)")
    return path


def _reward(v: FormValues) -> RewardConfig:
    """The run's reward; T 0 is auto (mnas_core.search measures it when the run starts)."""
    alpha, beta = PRESETS[v.preset] if v.preset in PRESETS else (v.alpha, v.beta)
    return RewardConfig(float(v.target_ms) if v.target_ms > 0 else None, float(alpha),
                        float(beta))


def build_config(v: FormValues, space: SearchSpace):
    """The SearchConfig for the form's values (ValueError with a clear message otherwise)."""
    from mnas_core.fidelity import proxy_task
    from mnas_core.search import LatencySetup, SearchConfig

    d = defaults(dataset=(v.dataset or "").strip() or None)
    v = dataclasses.replace(v, **{f.name: getattr(d, f.name) for f in dataclasses.fields(v)
                                  if getattr(v, f.name) is None})
    registry.STRATEGIES.get(v.strategy)  # ValueError naming the registered strategies
    if v.workers < 1:
        raise ValueError(f"workers must be at least 1, got {v.workers}")
    data, train = proxy_task(v.dataset.strip())  # the dataset's budget, then the form's
    if v.data_path.strip() and data.source not in CIFAR:
        raise ValueError(f"a data path is for CIFAR's archive; dataset {data.name!r} does not "
                         "take one (your own images: folder:PATH)")
    data = dataclasses.replace(data, train_images=int(v.subset) or None,
                               path=v.data_path.strip() or None)
    train = dataclasses.replace(train, epochs=float(v.epochs))
    return SearchConfig(strategy=v.strategy, trials=int(v.trials), batch_size=int(v.batch_size),
                        reward=_reward(v), dataset=data, train=train,
                        latency=LatencySetup(source=v.latency_source), space=space,
                        workers=int(v.workers), seed=int(v.seed))
