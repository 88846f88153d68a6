"""Test data for the app: synthetic trials over real architectures of the space (their real
params and MACs; accuracy and latency drawn from a simple model of them), written to real run
files through mnas_core.store.RunStore. Used only by the tests, never shown as results."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mnas_core import store
from mnas_core.profile import totals
from mnas_core.reward import RewardConfig, reward
from mnas_core.search import SearchConfig
from mnas_core.space import SearchSpace
from mnas_core.store import RunStore

SPACE = SearchSpace(resolution=32, num_classes=10, small_input=True)


def make_trials(n: int, cfg: RewardConfig, seed: int = 0, archs: int = 40) -> pd.DataFrame:
    """n trials with every read_trials column; latency grows with MACs, accuracy with log MACs
    (plus noise), a few trials failed. `archs` distinct architectures are reused for speed."""
    rng = np.random.default_rng(seed)
    pool = []
    for _ in range(min(archs, n)):
        tokens = SPACE.sample_tokens(rng)
        arch = SPACE.decode(tokens)
        c = totals(arch)
        pool.append((arch.to_string(), json.dumps(tokens), c.params, c.macs))
    pick = rng.integers(len(pool), size=n)
    arch, tokens, params, macs = (np.array([pool[i][j] for i in pick], dtype=object)
                                  for j in range(4))
    macs_f = macs.astype(float)
    lat = 0.5 + macs_f / 2e7 * rng.lognormal(0, 0.1, n)
    acc = np.clip(0.55 + 0.06 * np.log10(macs_f / 1e6 + 1) + rng.normal(0, 0.03, n), 0, 1)
    failed = rng.random(n) < 0.05
    acc[failed], lat[failed] = np.nan, np.nan
    now = time.time()
    return pd.DataFrame({
        "trial": np.arange(n), "batch": np.arange(n) // 8, "arch": arch, "tokens": tokens,
        "params": params.astype(int), "macs": macs.astype(int), "accuracy": acc,
        "top5": np.where(failed, np.nan, np.minimum(1, acc + 0.1)), "latency_ms": lat,
        "latency_p10": lat * 0.95, "latency_p90": lat * 1.05, "latency_cv": 0.03,
        "latency_runs": 20, "latency_source": "measured", "fingerprint": "test",
        "reward": reward(acc, lat, cfg), "status": np.where(failed, "failed", "ok"),
        "error": np.where(failed, "NaN loss", None), "train_seconds": 1.0,
        "latency_seconds": 0.2, "total_seconds": 1.3, "worker": "w0",
        "created_at": now - n + np.arange(n)})


def point_trials(arch, cfg: RewardConfig, accuracy: float, latency_ms: float) -> pd.DataFrame:
    """The one trial of a one-point run (SearchSpace.of(arch)): `arch` at these figures."""
    c = totals(arch)
    return make_trials(1, cfg).assign(
        arch=arch.to_string(), tokens=json.dumps([0] * 6 * len(arch.blocks)), params=c.params,
        macs=c.macs, accuracy=accuracy, latency_ms=latency_ms, status="ok", error=None,
        reward=reward(np.array([accuracy]), np.array([latency_ms]), cfg))


def write_run(path: Path, trials: pd.DataFrame, cfg: RewardConfig, strategy: str = "ppo",
              status: str = "finished", space: SearchSpace = SPACE) -> Path:
    """A run file holding `trials`, written as a search does: the batch recorded pending, then
    every trial's figures."""
    config = SearchConfig(strategy=strategy, trials=len(trials), reward=cfg,
                          space=space).to_dict()
    run = RunStore.create(path, config, name=Path(path).stem)
    try:
        pending = [{"arch": a, "tokens": t, "params": int(p), "macs": int(m)}
                   for a, t, p, m in zip(trials.arch, trials.tokens, trials.params, trials.macs)]
        ids = run.add_pending(0, pending, {})
        figures = trials.drop(columns=["trial", "batch", "arch", "tokens", "params", "macs",
                                       "created_at"]).to_dict("records")
        # RunStore.finish commits per trial; one transaction keeps a 10,000-trial fixture
        # under a second (same UPDATE, same columns).
        with store._tx(run.db):
            for trial, row in zip(ids, figures):
                row = {k: None if isinstance(v, float) and np.isnan(v) else v
                       for k, v in row.items()}
                run.db.execute(f"UPDATE trials SET {', '.join(f'{k} = ?' for k in row)} "
                               "WHERE trial = ?", [*row.values(), trial])
        run.set_status(status)
    finally:
        run.close()
    return Path(path)
