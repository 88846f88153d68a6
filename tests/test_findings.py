import math

import numpy as np
import pandas as pd
import pytest

from mnas_core import findings
from mnas_core.pareto import reference_latency
from mnas_core.reward import RewardConfig, beta_from_tradeoff, reward


def trials(acc, lat, rew=None) -> pd.DataFrame:
    n = len(acc)
    return pd.DataFrame({"trial": np.arange(1, n + 1), "accuracy": acc, "latency_ms": lat,
                         "reward": rew if rew is not None else np.asarray(acc, float)})


def test_latency_band_counts_the_hard_pile_under_t():
    df = trials([0.5] * 5 + [np.nan], [7.0, 8.0, 9.5, 10.0, 12.0, 9.0])  # last one failed
    band = findings.latency_band(df, target_ms=10.0)
    assert band["models"] == 5
    assert band["in [0.8T, T]"] == pytest.approx(3 / 5)  # 8, 9.5, 10
    assert band["<= T"] == pytest.approx(4 / 5)
    assert band["latency IQR ms"] == pytest.approx(10.0 - 8.0)
    assert math.isnan(findings.latency_band(df.iloc[:0], 10.0)["<= T"])


def test_tradeoff_along_a_front_is_the_beta_that_makes_the_soft_reward_flat():
    lat = np.array([10.0, 20.0, 40.0, 80.0])
    acc = 0.5 * (lat / 10) ** 0.07
    dominated = (np.array([0.40, 0.41]), np.array([30.0, 70.0]))
    t = findings.tradeoff(np.r_[acc, dominated[0]], np.r_[lat, dominated[1]])
    assert t.points == 4 and t.slope == pytest.approx(0.07)
    assert t.gain_per_doubling == pytest.approx(2 ** 0.07 - 1)
    # The implied beta is the one reward.beta_from_tradeoff derives from that gain ...
    assert t.implied_beta == pytest.approx(beta_from_tradeoff(2, t.gain_per_doubling).beta)
    # ... and under it every model on the front earns the same soft reward.
    flat = reward(acc, lat, RewardConfig(10.0, t.implied_beta, t.implied_beta))
    np.testing.assert_allclose(flat, flat[0])
    assert findings.tradeoff([0.5], [10.0]) is None


def test_published_pixel1_results_imply_the_papers_beta():
    """MobileNetV2 1.0 -> 1.4 at 224 on the Pixel 1: 73.8 -> 138 ms, 71.8 -> 75.0% top-1."""
    table = findings.published_tradeoffs().set_index("front")
    pair = table.loc["MobileNetV2 1.0 -> 1.4 at 224"]
    assert pair["points"] == 2
    assert pair["implied beta"] == pytest.approx(-0.07, abs=0.002)
    assert pair["gain per doubling"] == pytest.approx(0.05, abs=0.002)
    # Over all widths (0.35 to 1.4) small models lose more per halving: a steeper beta.
    assert (table.filter(like="widths", axis=0)["implied beta"] < -0.09).all()


def test_single_op_table_takes_the_best_searched_model_that_is_no_slower():
    singles = {"mbconv3_k3": trials([0.60], [8.0]), "mbconv6_k5": trials([0.70], [2.0])}
    searched = {"hard": trials([0.65, 0.90, 0.95], [7.0, 8.0, 9.0]),
                "soft": trials([0.80], [7.5])}
    table = findings.single_op_table(singles, searched).set_index("network")
    row = table.loc["mbconv3_k3"]
    assert (row["best searched run"], row["searched accuracy"]) == ("hard", 0.90)
    assert row["accuracy gain (points)"] == pytest.approx(30.0)
    assert pd.isna(table.loc["mbconv6_k5"]["best searched run"])  # nothing that fast


def test_reward_windows_average_consecutive_trials_and_skip_failures():
    df = trials([0.5] * 5, [1.0] * 5, rew=[1.0, np.nan, 3.0, 4.0, 5.0])
    windows = findings.reward_windows(df, window=2)
    assert list(windows.index) == ["1-2", "3-4"] and list(windows) == [1.0, 3.5]
    with pytest.raises(ValueError, match="window"):
        findings.reward_windows(df, window=0)


def test_one_reference_point_for_every_hypervolume():
    assert reference_latency([10.0, 12.0, None]) == 24.0
    with pytest.raises(ValueError, match="target latency T"):
        reference_latency([None])


def test_run_findings_on_the_recorded_runs(tmp_path):
    from pathlib import Path

    from mnas_core.pareto import hypervolume
    from mnas_core.search import load_config
    from mnas_core.store import read_trials

    folder = Path(__file__).parents[1] / "sample_runs"
    runs = {n: read_trials(folder / f"{n}_ppo.db") for n in ("hard", "soft")}
    targets = {n: load_config(folder / f"{n}_ppo.db").reward.target_ms for n in runs}
    out = findings.run_findings(runs, targets, window=100)
    fig6 = out["figure6"].set_index("run")
    ok = runs["hard"][runs["hard"].status == "ok"]
    assert fig6.loc["hard", "hypervolume (2T, 0)"] == pytest.approx(
        hypervolume(ok.accuracy, ok.latency_ms, 2 * max(targets.values())))
    assert fig6.loc["hard", "models"] == len(ok)
    assert list(out["reward_windows"].columns) == ["1-100", "101-200", "201-300"]
    assert "table6" not in out


def test_size_signal_is_the_rank_correlation_of_accuracy_with_latency():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    lat = rng.uniform(1, 10, 40)
    df = trials(np.clip(0.5 + 0.02 * lat + rng.normal(0, 0.05, 40), 0, 1), lat)
    df.loc[3, "accuracy"] = np.nan  # a failed trial
    ok = df.dropna()
    rho, n = findings.size_signal(df)
    assert n == 39 and rho == pytest.approx(spearmanr(ok.accuracy, ok.latency_ms)[0])
    assert findings.size_signal(df.head(5)) is None
    assert findings.size_signal(trials(np.arange(12) / 12, np.arange(12, 0, -1)))[0] == \
        pytest.approx(-1.0)


def test_one_point_runs_are_named_and_grouped_into_families():
    assert findings.point_name("cifar10_single_op_mbconv3_k5") == ("single op: mbconv3_k5",) * 2
    assert findings.point_name("cifar10_zoo_mnasnet_a1_x0.35") == ("mnasnet_a1",
                                                                   "mnasnet_a1 x0.35")
    assert findings.point_name("cifar10_zoo_mnasnet_a1") == ("mnasnet_a1", "mnasnet_a1 x1")
    assert findings.point_name("my_run") == ("my_run", "my_run")
    one = lambda acc: pd.DataFrame({"trial": [0], "accuracy": [acc], "latency_ms": [2.0]})  # noqa: E731
    groups = findings.reference_points({"zoo_mobilenet_v2": one(0.7),
                                        "zoo_mobilenet_v2_x0.5": one(0.6),
                                        "single_op_mbconv6_k3": one(0.5),
                                        "zoo_mnasnet_a1": one(float("nan"))})
    assert list(groups) == ["mobilenet_v2", "single op: mbconv6_k3", "mnasnet_a1"]
    assert groups["mobilenet_v2"]["label"].tolist() == ["mobilenet_v2 x1", "mobilenet_v2 x0.5"]
    assert groups["mnasnet_a1"].empty  # its one trial failed: nothing to draw


def test_family_tradeoff_is_fitted_over_every_recorded_width():
    one = lambda acc, ms: pd.DataFrame({"trial": [0], "accuracy": [acc], "latency_ms": [ms]})  # noqa: E731
    # x0.5 at 2 ms, x1 at 4 ms: one doubling, +10% relative; x1.4, slower and worse, stays in.
    points = {"zoo_mobilenet_v2_x0.5": one(0.50, 2.0), "zoo_mobilenet_v2": one(0.55, 4.0),
              "single_op_mbconv3_k3": one(0.4, 3.0), "zoo_mnasnet_a1": one(0.6, 5.0)}
    rows = findings.family_tradeoffs(points).set_index("front")
    assert list(rows.index) == ["mobilenet_v2, 2 widths (recorded here)"]  # one width: no fit
    assert rows["gain per doubling"].iloc[0] == pytest.approx(0.10)
    with_worse = findings.family_tradeoffs({**points, "zoo_mobilenet_v2_x1.4": one(0.45, 8.0)})
    assert with_worse["points"].iloc[0] == 3 and with_worse["gain per doubling"].iloc[0] < 0.10
