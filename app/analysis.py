"""Small table transforms behind the pages (no Streamlit): re-ranking under a new reward and
the trial-table filters. Heavy lifting stays in mnas_core (reward.rescore, pareto)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mnas_core.reward import RewardConfig, rescore


def _ranks(values: pd.Series) -> pd.Series:
    """1 = best; NaN rewards (failed trials) rank last."""
    return values.rank(ascending=False, method="first", na_option="bottom").astype(int)


def rerank(trials: pd.DataFrame, cfg: RewardConfig) -> pd.DataFrame:
    """Successful trials with `reward_now` under `cfg`, their `rank_now`, the `rank_before`
    under the reward recorded in the run, and `moved` (positive = climbed), best first."""
    ok = trials[trials["accuracy"].notna() & trials["latency_ms"].notna()]
    out = rescore(ok, cfg).rename(columns={"reward": "reward_now"})
    out["reward_recorded"] = ok["reward"]
    out["rank_before"] = _ranks(out["reward_recorded"])
    out["rank_now"] = _ranks(out["reward_now"])
    out["moved"] = out["rank_before"] - out["rank_now"]
    return out.sort_values("rank_now")


def top_table(ranked: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The top `top` under the new reward, in display units."""
    t = ranked.head(top)
    change = np.where(t["moved"] > 0, "▲ " + t["moved"].abs().astype(str),
                      np.where(t["moved"] < 0, "▼ " + t["moved"].abs().astype(str), "="))
    return pd.DataFrame({
        "rank": t["rank_now"].to_numpy(), "trial": t["trial"].to_numpy(),
        "accuracy %": (100 * t["accuracy"]).round(2).to_numpy(),
        "latency ms": t["latency_ms"].round(2).to_numpy(),
        "reward now": t["reward_now"].round(4).to_numpy(),
        "recorded rank": t["rank_before"].to_numpy(), "change": change,
    })


def filter_trials(df: pd.DataFrame, status: list[str], sources: list[str] | None,
                  latency: tuple[float, float] | None, min_accuracy: float) -> pd.DataFrame:
    """Rows matching the trial-table filters (accuracy threshold as a fraction)."""
    keep = df["status"].isin(status)
    if sources is not None:
        keep &= df["latency_source"].isin(sources)
    if latency is not None:
        lat = df["latency_ms"]
        keep &= lat.isna() | lat.between(latency[0], latency[1])
    if min_accuracy > 0:
        keep &= df["accuracy"].fillna(-1) >= min_accuracy
    return df[keep]


def best_row(df: pd.DataFrame) -> pd.Series | None:
    """The trial with the highest recorded reward, or None when none succeeded."""
    ok = df[df["reward"].notna()]
    return None if ok.empty else ok.loc[ok["reward"].idxmax()]
