"""The multi-objective reward of MnasNet (paper section 3, equations 2 and 3).

    R(m) = ACC(m) * (LAT(m) / T) ** w,   w = alpha if LAT(m) <= T else beta      (eq. 2-3)

Hard constraint: alpha = 0, beta = -1 (no reward for being faster than T, a steep penalty above).
Soft constraint: alpha = beta = -0.07, the paper's choice from "doubling latency is worth about
+5% relative accuracy": a model m2 with twice the latency of m1 ties when
ACC(m2) * 2**beta = ACC(m1), i.e. beta = -ln(1 + r) / ln(k) for k = 2, r = 5%.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass

import numpy as np

PRESETS = {"hard": (0.0, -1.0), "soft": (-0.07, -0.07)}


@dataclass(frozen=True)
class RewardConfig:
    """The reward of a run: target latency T in milliseconds and the exponents of eq. 3.

    target_ms None is "auto": a search measures T when it starts, as MobileNetV2 1.0's latency
    on its own latency source (the paper's T = 75 ms was MobileNetV2's latency on its Pixel 1),
    and stores `resolved(T)`. Scoring needs a T, so `reward` refuses an unresolved config."""

    target_ms: float | None = None
    alpha: float = -0.07
    beta: float = -0.07

    def __post_init__(self):
        check_reward_config(self.target_ms, self.alpha, self.beta)

    @classmethod
    def preset(cls, name: str, target_ms: float | None = None) -> "RewardConfig":
        if name not in PRESETS:
            raise ValueError(f"unknown reward preset {name!r}; use one of {sorted(PRESETS)}")
        alpha, beta = PRESETS[name]
        return cls(target_ms, alpha, beta)

    def resolved(self, target_ms: float) -> "RewardConfig":
        """This reward with T fixed (for a run whose T was "auto")."""
        return dataclasses.replace(self, target_ms=target_ms)

    @property
    def kind(self) -> str:
        for name, ab in PRESETS.items():
            if (self.alpha, self.beta) == ab:
                return name
        return "custom"


def check_reward_config(target_ms: float | None, alpha: float, beta: float) -> None:
    """ValueError for values that make the reward meaningless; a warning for odd ones.
    target_ms None (auto) is allowed."""
    if target_ms is not None and not (_finite(target_ms) and target_ms > 0):
        raise ValueError(f"target latency T must be a positive number of ms, got "
                         f"{target_ms!r:.40}")
    for name, v in (("alpha", alpha), ("beta", beta)):
        if not _finite(v):
            raise ValueError(f"{name} must be a finite number, got {v!r:.40}")
    if beta > 0:
        raise ValueError(f"beta = {beta} > 0 would reward models for being slower than T; "
                         "use beta <= 0")
    if alpha > 0:
        warnings.warn(f"alpha = {alpha} > 0 rewards models for being slower, up to T; the "
                      "paper uses alpha <= 0", stacklevel=3)


def _finite(v) -> bool:
    try:
        return math.isfinite(v)
    except (TypeError, OverflowError):  # not a number; an int too large for a float
        return False


def reward(accuracy, latency_ms, cfg: RewardConfig) -> np.ndarray:
    """Eq. 2-3 over arrays (or scalars). Entries with NaN accuracy or latency (failed trials)
    get NaN reward; any other accuracy outside [0, 1] or latency <= 0 is an error."""
    acc = np.asarray(accuracy, dtype=float)
    lat = np.asarray(latency_ms, dtype=float)
    ok = ~(np.isnan(acc) | np.isnan(lat))
    if np.any((acc[ok] < 0) | (acc[ok] > 1)):
        raise ValueError("accuracy must be a fraction in [0, 1] (got a value outside it)")
    if np.any(~np.isfinite(lat[ok]) | (lat[ok] <= 0)):
        raise ValueError("latency must be a positive finite number of milliseconds")
    if cfg.target_ms is None:
        raise ValueError("the reward's target T is still auto (measured when a search starts)")
    ratio = lat / cfg.target_ms
    w = np.where(ratio <= 1.0, cfg.alpha, cfg.beta)
    with np.errstate(invalid="ignore"):
        return acc * ratio ** w


def rescore(df, cfg: RewardConfig, accuracy: str = "accuracy", latency: str = "latency_ms"):
    """A copy of a trials DataFrame with its `reward` column recomputed under `cfg`."""
    out = df.copy()
    out["reward"] = reward(out[accuracy].to_numpy(float), out[latency].to_numpy(float), cfg)
    return out


@dataclass(frozen=True)
class BetaDerivation:
    k: float       # latency factor
    r: float       # relative accuracy gain that factor is worth
    beta: float
    working: str


def beta_from_tradeoff(k: float = 2.0, r: float = 0.05) -> BetaDerivation:
    """beta such that k times the latency is worth r relative accuracy:
    ACC * (1 + r) * k**beta = ACC  =>  beta = -ln(1 + r) / ln(k)."""
    if not k > 1:
        raise ValueError(f"latency factor k must be > 1, got {k}")
    if not r > 0:
        raise ValueError(f"relative accuracy gain r must be > 0, got {r}")
    beta = -math.log1p(r) / math.log(k)
    working = (f"A model {k:g}x slower must be {r:.1%} more accurate to tie:\n"
               f"  (1 + {r:g}) * {k:g}^beta = 1\n"
               f"  beta = -ln(1 + {r:g}) / ln({k:g}) = -{math.log1p(r):.5f} / "
               f"{math.log(k):.5f} = {beta:.4f}")
    return BetaDerivation(k, r, beta, working)
