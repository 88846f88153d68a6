import math
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from mnas_core.pareto import hypervolume, pareto_mask
from mnas_core.reward import RewardConfig, beta_from_tradeoff, rescore, reward


def test_equation_two_and_three():
    soft, hard = RewardConfig.preset("soft", 75), RewardConfig.preset("hard", 75)
    # Hard: no bonus below T, ACC * (LAT/T)^-1 above it.
    assert reward(0.75, 50, hard) == pytest.approx(0.75)
    assert reward(0.75, 150, hard) == pytest.approx(0.375)
    # Soft: ACC * (LAT/T)^-0.07 on both sides.
    assert reward(0.75, 150, soft) == pytest.approx(0.75 * 2 ** -0.07)
    assert reward(0.75, 37.5, soft) == pytest.approx(0.75 * 0.5 ** -0.07)
    assert reward(0.75, 75, soft) == pytest.approx(0.75)


def test_beta_derivation_reproduces_the_papers_choice():
    d = beta_from_tradeoff(2, 0.05)
    assert d.beta == pytest.approx(-0.0704, abs=1e-4)
    assert "-ln(1 + 0.05) / ln(2)" in d.working
    # The tie the derivation promises: 2x latency and +5% accuracy give equal reward.
    cfg = RewardConfig(75, d.beta, d.beta)
    assert reward(0.70 * 1.05, 100, cfg) == pytest.approx(reward(0.70, 50, cfg))
    with pytest.raises(ValueError, match="k must be > 1"):
        beta_from_tradeoff(1, 0.05)


@pytest.mark.parametrize("kwargs, message", [
    (dict(target_ms=0), "positive"), (dict(target_ms=-5), "positive"),
    (dict(target_ms=math.nan), "positive"), (dict(beta=0.1), "beta = 0.1 > 0"),
    (dict(alpha=math.inf), "alpha must be a finite"),
])
def test_invalid_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RewardConfig(**{"target_ms": 75.0, **kwargs})


def test_positive_alpha_warns():
    with pytest.warns(UserWarning, match="alpha = 0.1 > 0"):
        RewardConfig(75, 0.1, -0.07)


def test_auto_target_must_be_resolved_before_scoring():
    auto = RewardConfig.preset("hard")
    assert auto.target_ms is None and auto.kind == "hard"
    with pytest.raises(ValueError, match="still auto"):
        reward([0.5], [10.0], auto)
    assert reward(0.5, 20.0, auto.resolved(10.0)) == pytest.approx(0.25)


@pytest.mark.parametrize("value", [10 ** 400, "75", [1]])
def test_non_numbers_are_refused_in_one_line(value):
    with pytest.raises(ValueError, match="T must be a positive number"):
        RewardConfig(target_ms=value)
    with pytest.raises(ValueError, match="alpha must be a finite number"):
        RewardConfig(75.0, alpha=value)


def test_invalid_inputs_error_but_failed_trials_stay_nan():
    cfg = RewardConfig(75.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        reward([75.2], [78], cfg)  # a percentage where a fraction is expected
    with pytest.raises(ValueError, match="latency must be a positive"):
        reward([0.5], [0.0], cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = reward([0.5, np.nan], [10.0, np.nan], cfg)
    assert np.isfinite(r[0]) and np.isnan(r[1])


def test_rescoring_a_hundred_thousand_trials_is_vectorised():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"accuracy": rng.uniform(0.5, 0.9, 100_000),
                       "latency_ms": rng.uniform(5, 200, 100_000)})
    out = rescore(df, RewardConfig.preset("hard", 60))
    expected = df.accuracy * np.where(df.latency_ms <= 60, 1.0, (df.latency_ms / 60) ** -1)
    np.testing.assert_allclose(out.reward, expected)
    start = time.perf_counter()
    rescore(df, RewardConfig.preset("soft", 60))
    # Loose bound for a shared CI machine; benchmarks/search_overhead.py reports the figure.
    assert time.perf_counter() - start < 0.5


def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(1)
    acc, lat = rng.random(300).round(2), rng.integers(1, 60, 300).astype(float)
    acc[5] = np.nan
    brute = [not np.isnan(acc[i]) and not any(
        (acc[j] >= acc[i] and lat[j] <= lat[i] and (acc[j] > acc[i] or lat[j] < lat[i]))
        for j in range(300) if j != i and not np.isnan(acc[j])) for i in range(300)]
    # Exact duplicates: brute force keeps both, the mask keeps one of them.
    mask = pareto_mask(acc, lat)
    assert set(np.flatnonzero(mask)) <= set(np.flatnonzero(brute))
    assert {(acc[i], lat[i]) for i in np.flatnonzero(mask)} == \
        {(acc[i], lat[i]) for i in np.flatnonzero(brute)}


def test_hypervolume():
    assert hypervolume([0.5, 0.7], [10, 20], ref_latency_ms=30) == pytest.approx(12.0)
    # A dominated point adds nothing; a point beyond the reference adds nothing.
    assert hypervolume([0.5, 0.7, 0.4, 0.9], [10, 20, 25, 40], 30) == pytest.approx(12.0)
    assert hypervolume([], [], 30) == 0.0
    assert hypervolume([0.5], [10], 30, ref_accuracy=0.2) == pytest.approx(6.0)
