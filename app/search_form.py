"""The search form's values and their translation into a mnas_core.search.SearchConfig.
No Streamlit here, so the translation (and its error messages) is tested on its own."""
from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from pathlib import Path

from mnas_core.reward import PRESETS, RewardConfig
from mnas_core.space import SearchSpace

STRATEGIES = ("ppo", "random", "evolution")
DATASETS = ("digits", "cifar10", "cifar100")  # or folder:PATH, typed in
LATENCY_SOURCES = ("measured", "predicted", "phone")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")


@dataclass(frozen=True)
class FormValues:
    name: str
    dataset: str = "digits"     # digits | cifar10 | cifar100 | folder:PATH
    subset: int = 0             # training images used (0 = all)
    epochs: float = 3.0         # proxy training budget per candidate
    strategy: str = "ppo"
    trials: int = 40
    batch_size: int = 8
    target_ms: float = 0.0      # 0 = automatic: MobileNetV2's latency on the source
    preset: str = "soft"        # "hard" | "soft" | "custom"
    alpha: float = -0.07
    beta: float = -0.07
    latency_source: str = "measured"
    workers: int = 2
    seed: int = 0


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


def reward_config(v: FormValues) -> RewardConfig | None:
    """The run's reward; None for the paper's automatic T (soft constraint, T = MobileNetV2's
    latency on the chosen source), which mnas_core.search resolves when the run starts."""
    alpha, beta = PRESETS[v.preset] if v.preset in PRESETS else (v.alpha, v.beta)
    if v.target_ms <= 0:
        if (alpha, beta) != PRESETS["soft"]:
            raise ValueError("an automatic target T is defined for the soft preset only; "
                             "give T in milliseconds for the hard or a custom reward")
        return None
    return RewardConfig(float(v.target_ms), float(alpha), float(beta))


def build_config(v: FormValues, space: SearchSpace):
    """The SearchConfig for the form's values (ValueError with a clear message otherwise)."""
    from mnas_core.data import DataConfig
    from mnas_core.search import LatencySetup, SearchConfig
    from mnas_core.train import TrainConfig

    if v.strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {v.strategy!r}")
    if v.workers < 1:
        raise ValueError(f"workers must be at least 1, got {v.workers}")
    data = DataConfig(name=v.dataset.strip(), train_images=int(v.subset) or None)
    train = dataclasses.replace(TrainConfig(), epochs=float(v.epochs))
    return SearchConfig(strategy=v.strategy, trials=int(v.trials), batch_size=int(v.batch_size),
                        reward=reward_config(v), dataset=data, train=train,
                        latency=LatencySetup(source=v.latency_source), space=space,
                        workers=int(v.workers), seed=int(v.seed))
