"""The paper's findings as numbers measured on recorded runs (trials DataFrames, as
mnas_core.store.read_trials gives them) or on published results: the README, notebook 04 and
the app's Results page all compute them here, so they agree.

- Figure 6: where the hard and the soft reward put their samples (`latency_band`);
- Table 6: each single-op network against the best searched model that is no slower
  (`single_op_table`);
- the observation behind beta = -0.07, "doubling latency brings about 5% relative accuracy"
  (`tradeoff`);
- PPO against random search: mean reward per window of trials (`reward_windows`); their fronts'
  hypervolume uses mnas_core.pareto.reference_latency.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .pareto import hypervolume, pareto_mask, reference_latency

# 46 published ImageNet results with Pixel 1 latency (the paper's phone): MobileNetV2 and
# MnasNet-A1 over width multipliers and resolutions; each row names the README it is from.
PUBLISHED_PIXEL1 = Path(__file__).with_name("published_pixel1.csv")


def finished(df: pd.DataFrame) -> pd.DataFrame:
    """The trials with both an accuracy and a latency, in trial order."""
    ok = df[df["accuracy"].notna() & df["latency_ms"].notna()]
    return ok.sort_values("trial") if "trial" in ok else ok


def size_signal(df: pd.DataFrame, least: int = 10) -> tuple[float, int] | None:
    """Spearman rank correlation of accuracy with latency over a run's finished trials, and
    their count: how much the proxy task lets a bigger network score higher (None below
    `least` trials). Near 0 (digits: 0.04 over 300 random models) every search drifts to the
    smallest networks whatever the reward."""
    ok = finished(df)
    if len(ok) < least:
        return None
    rank = ok[["accuracy", "latency_ms"]].rank()
    return float(rank["accuracy"].corr(rank["latency_ms"])), len(ok)


def latency_band(df: pd.DataFrame, target_ms: float, low: float = 0.8) -> dict:
    """Figure 6's reading: the share of sampled models with latency in [low*T, T] (the hard
    constraint piles them there), the share at or under T, and the interquartile range of
    latency (the soft constraint spreads wider)."""
    lat = finished(df)["latency_ms"].to_numpy(float)
    if not len(lat):
        return {"models": 0, "in [0.8T, T]": math.nan, "<= T": math.nan,
                "latency IQR ms": math.nan, "median ms": math.nan}
    q1, q3 = np.percentile(lat, [25, 75])
    return {"models": len(lat),
            f"in [{low:g}T, T]": float(np.mean((lat >= low * target_ms) & (lat <= target_ms))),
            "<= T": float(np.mean(lat <= target_ms)),
            "latency IQR ms": float(q3 - q1), "median ms": float(np.median(lat))}


@dataclass(frozen=True)
class Tradeoff:
    """accuracy ~ latency**slope fitted along a Pareto front (least squares in log-log).

    Along such a front, doubling latency multiplies accuracy by 2**slope, a relative gain of
    `gain_per_doubling` = 2**slope - 1. The soft reward ACC * (LAT/T)**beta (eq. 2) is flat
    along that front for beta = -slope, the same -ln(1 + r) / ln 2 that
    reward.beta_from_tradeoff derives from r: `implied_beta`."""

    slope: float
    points: int
    span: tuple[float, float]  # the front's latency range, ms

    @property
    def gain_per_doubling(self) -> float:
        return 2.0 ** self.slope - 1.0

    @property
    def implied_beta(self) -> float:
        return -self.slope


def tradeoff(accuracy, latency_ms, front_only: bool = True) -> Tradeoff | None:
    """The trade-off along the front of these points (all of them with front_only=False:
    e.g. a family of width multipliers); None with fewer than two usable points."""
    acc = np.asarray(accuracy, dtype=float)
    lat = np.asarray(latency_ms, dtype=float)
    keep = np.isfinite(acc) & np.isfinite(lat) & (acc > 0) & (lat > 0)
    if front_only:
        keep &= pareto_mask(acc, lat)
    acc, lat = acc[keep], lat[keep]
    if len(acc) < 2 or np.ptp(np.log(lat)) == 0:
        return None
    slope = float(np.polyfit(np.log(lat), np.log(acc), 1)[0])
    return Tradeoff(slope, len(acc), (float(lat.min()), float(lat.max())))


def point_name(run: str) -> tuple[str, str]:
    """(family, network) for a one-point run (sample_runs/record*.sh names them
    [dataset_]single_op_<op>_k<k> and [dataset_]zoo_<zoo name>): a single-op network is its own
    family, a zoo network's family is its base over the widths. Any other name is both."""
    if "single_op_" in run:
        name = "single op: " + run.partition("single_op_")[2]
        return name, name
    if "zoo_" in run:
        base, _, width = run.partition("zoo_")[2].partition("_x")
        return base, f"{base} x{width or 1}"
    return run, run


def reference_points(points: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """One-point runs ({run name: trials}) grouped into families for
    viz.pareto_overlay(points=...): each row labelled with its network."""
    groups: dict[str, list] = {}
    for run, df in points.items():
        family, label = point_name(run)
        groups.setdefault(family, []).append(finished(df).assign(label=label))
    return {family: pd.concat(parts, ignore_index=True) for family, parts in groups.items()}


def family_tradeoffs(points: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The same trade-off as published_tradeoffs over each zoo family recorded here as
    one-point runs (two or more widths, all in the fit, not only the front's: on a proxy
    task a wider copy need not win), measured on the runs' own task and machine."""
    rows = [tradeoff_row(f"{family}, {len(d)} widths (recorded here)",
                         tradeoff(d["accuracy"], d["latency_ms"], front_only=False))
            for family, d in reference_points(points).items()
            if len(d) >= 2 and not family.startswith("single op")]
    return pd.DataFrame(rows)


def single_op_table(singles: dict[str, pd.DataFrame],
                    searched: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Table 6: for each single-op network (one trial each; or any reference network recorded
    the same way, e.g. a zoo point), its accuracy and latency beside the most accurate
    searched model (any run) at no greater latency."""
    pool = pd.concat([finished(df).assign(run=name) for name, df in searched.items()],
                     ignore_index=True) if searched else pd.DataFrame()
    rows = []
    for name, df in singles.items():
        ok = finished(df)
        if ok.empty:
            continue
        acc, lat = float(ok["accuracy"].iloc[0]), float(ok["latency_ms"].iloc[0])
        row = {"network": name, "accuracy": acc, "latency ms": lat, "best searched run": None,
               "searched accuracy": math.nan, "searched latency ms": math.nan,
               "accuracy gain (points)": math.nan}
        faster = pool[pool["latency_ms"] <= lat] if len(pool) else pool
        if len(faster):
            best = faster.loc[faster["accuracy"].idxmax()]
            row.update({"best searched run": best["run"],
                        "searched accuracy": float(best["accuracy"]),
                        "searched latency ms": float(best["latency_ms"]),
                        "accuracy gain (points)": 100 * (float(best["accuracy"]) - acc)})
        rows.append(row)
    return pd.DataFrame(rows)


def reward_windows(df: pd.DataFrame, window: int = 50) -> pd.Series:
    """Mean reward of each consecutive `window` trials in trial order (failed trials, with no
    reward, are left out of the mean); indexed "1-50", "51-100", ... (trials in order)."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    ordered = df.sort_values("trial") if "trial" in df else df
    reward = ordered["reward"].to_numpy(float)
    ends = range(window, len(reward) + 1, window)
    means = [np.nanmean(reward[e - window:e]) if np.isfinite(reward[e - window:e]).any()
             else math.nan for e in ends]
    return pd.Series(means, index=[f"{e - window + 1}-{e}" for e in ends], name="mean reward",
                     dtype=float)


def tradeoff_row(name: str, t: Tradeoff | None) -> dict:
    if t is None:
        return {"front": name, "points": 0, "latency span ms": "", "gain per doubling": math.nan,
                "implied beta": math.nan}
    return {"front": name, "points": t.points,
            "latency span ms": f"{t.span[0]:.3g}-{t.span[1]:.3g}",
            "gain per doubling": t.gain_per_doubling, "implied beta": t.implied_beta}


def published_tradeoffs(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The same trade-off on published ImageNet top-1 and Pixel 1 latency: each family over
    its width multipliers at 224, and MobileNetV2 1.0 -> 1.4 at 224, the pair that matches the
    paper's "about 5% per doubling"."""
    df = pd.read_csv(PUBLISHED_PIXEL1) if table is None else table
    at224 = df[df["resolution"] == 224]
    rows = [tradeoff_row(f"{m} widths {g.width.min():g}-{g.width.max():g} at 224",
                         tradeoff(g.top1 / 100, g.pixel1_ms))
            for m, g in at224.groupby("model", sort=False)]
    pair = at224[(at224.model == "MobileNetV2") & at224.width.isin([1.0, 1.4])]
    rows.append(tradeoff_row("MobileNetV2 1.0 -> 1.4 at 224",
                             tradeoff(pair.top1 / 100, pair.pixel1_ms)))
    return pd.DataFrame(rows)


def run_findings(runs: dict[str, pd.DataFrame], targets: dict[str, float],
                 singles: dict[str, pd.DataFrame] | None = None, window: int = 50) -> dict:
    """Every finding for these runs, as DataFrames: "figure6" (latency_band per run, with
    the front's hypervolume at the one reference point), "tradeoff" (per run's front),
    "table6" (when single-op runs are given) and "reward_windows" (runs x windows)."""
    ref = reference_latency(targets.values()) if targets else None
    oks = {name: finished(df) for name, df in runs.items()}
    fig6 = []
    for name, df in runs.items():
        ok = oks[name]
        band = latency_band(df, targets[name]) if name in targets else {}
        hv = hypervolume(ok["accuracy"], ok["latency_ms"], ref) if ref else math.nan
        fig6.append({"run": name, "T ms": targets.get(name, math.nan), **band,
                     "hypervolume (2T, 0)": hv})
    out = {"figure6": pd.DataFrame(fig6),
           "tradeoff": pd.DataFrame([tradeoff_row(name, tradeoff(ok["accuracy"],
                                                                 ok["latency_ms"]))
                                     for name, ok in oks.items()]),
           "reward_windows": pd.DataFrame({name: reward_windows(df, window)
                                           for name, df in runs.items()}).T}
    if singles:
        out["table6"] = single_op_table(singles, runs)
    return out
