"""Trial tables shaped like mnas_core.store.read_trials' (the columns the charts read), drawn
from a simple model: latency spread over 1-9 ms, accuracy rising with it, a few failures."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mnas_core.reward import RewardConfig, reward

HARD, SOFT = RewardConfig.preset("hard", 4.0), RewardConfig.preset("soft", 4.0)


def trials(n: int, cfg: RewardConfig = SOFT, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(1.0, 9.0, n)
    acc = np.clip(0.5 + 0.03 * lat + rng.normal(0, 0.03, n), 0, 1)
    failed = rng.random(n) < 0.05
    acc[failed], lat[failed] = np.nan, np.nan
    return pd.DataFrame({"trial": np.arange(n), "accuracy": acc, "latency_ms": lat,
                         "reward": reward(acc, lat, cfg),
                         "status": np.where(failed, "failed", "ok")})
