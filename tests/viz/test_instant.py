"""Charts of an instant search: one shared latency range for the histograms, the mean reward
per batch, and the label every predicted chart carries."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mnas_core.viz import instant
from tests.viz.helpers import HARD, SOFT, trials

NOTE = ("predicted by gradient-boosted trees fitted on 904 digits trainings from 7 runs, "
        "held-out Spearman 0.81 (MACs alone 0.27); not a measurement")


def _batched(n: int, cfg, seed: int, batch: int = 8) -> pd.DataFrame:
    return trials(n, cfg, seed).assign(batch=lambda d: 1 + d["trial"] // batch)


def _hist_counts(trace, edges) -> np.ndarray:
    return np.histogram(np.asarray(trace.x, float), edges)[0]


def test_histograms_share_one_range_that_holds_every_sample_and_T():
    hard = trials(120, HARD, 1)
    soft = trials(120, SOFT, 2).assign(latency_ms=lambda d: d["latency_ms"] + 5)
    fig = instant.live_histograms({"hard": hard, "soft": soft}, {"hard": 4.0, "soft": 4.0},
                                  [NOTE], title="Latency (live)")
    h = [t for t in fig.data if t.type == "histogram"]
    assert len(h) == 2 and h[0].xbins == h[1].xbins
    ranges = {tuple(fig.layout[ax].range) for ax in ("xaxis", "xaxis2")}
    assert len(ranges) == 1
    lo, hi = ranges.pop()
    both = pd.concat([hard["latency_ms"], soft["latency_ms"]]).dropna()
    assert lo < both.min() and both.max() < hi and lo < 4.0 < hi
    # The count axis holds the tallest bar of either panel.
    b = h[0].xbins
    edges = np.arange(b.start, b.end + 2 * b.size, b.size)
    tallest = max(_hist_counts(t, edges).max() for t in h)
    assert fig.layout.yaxis.range[0] == 0 and fig.layout.yaxis.range[1] >= tallest
    assert fig.layout.title.text == "Latency (live)"
    assert "held-out Spearman 0.81" in fig.layout.title.subtitle.text.replace("<br>", " ")


def test_a_target_outside_the_samples_widens_the_range():
    df = trials(50, HARD, 3)
    fig = instant.live_histograms({"hard": df}, {"hard": 30.0})
    assert fig.layout.xaxis.range[1] > 30.0


def test_histograms_without_latencies_say_so():
    empty = trials(5).assign(latency_ms=np.nan)
    fig = instant.live_histograms({"hard": empty}, {"hard": 4.0}, [NOTE])
    assert "Pick runs with recorded latencies" in fig.layout.annotations[0].text


def test_batch_means_average_each_batch_of_successful_trials():
    df = _batched(40, SOFT, 4)
    m = instant.batch_means(df)
    ok = df[df["status"] == "ok"]
    assert list(m["batch"]) == sorted(df["batch"].unique())
    for _, row in m.iterrows():
        mine = ok[ok["batch"] == row["batch"]]["reward"]
        assert np.isclose(row["mean_reward"], mine.mean()) and row["models"] == len(mine)
    assert list(m["trials"]) == [8, 16, 24, 32, 40]  # trials done by each batch's end
    assert instant.batch_means(df.iloc[:0]).empty


def test_batch_rewards_one_line_per_run_labelled():
    runs = {"hard": _batched(32, HARD, 5), "soft": _batched(32, SOFT, 6)}
    fig = instant.batch_rewards(runs, [NOTE, "Latency predicted, not measured"])
    assert [t.name for t in fig.data] == ["hard", "soft"]
    assert list(fig.data[0].x) == [8, 16, 24, 32]
    assert "Latency predicted, not measured" in fig.layout.title.subtitle.text
    assert "No rewards yet" in instant.batch_rewards({"x": runs["hard"].iloc[:0]})\
        .layout.annotations[0].text


def test_label_wraps_whole_words_and_makes_room():
    fig = instant.fronts({"soft": trials(60, SOFT, 7)}, 4.0)
    before_top, before_height = fig.layout.margin.t, fig.layout.height
    instant.predicted_label(fig, [NOTE], width=40)
    lines = fig.layout.title.subtitle.text.split("<br>")
    assert len(lines) > 2 and all(len(line) <= 40 for line in lines)
    assert " ".join(lines) == NOTE  # "held-out" is never split at its hyphen
    assert fig.layout.margin.t == before_top + instant.LINE_PX * len(lines)
    assert fig.layout.height == before_height + instant.LINE_PX * len(lines)
    untouched = instant.predicted_label(instant.fronts({"soft": trials(9)}, 4.0), [])
    assert not untouched.layout.title.subtitle.text


def _verified_table() -> tuple[pd.DataFrame, dict]:
    table = pd.DataFrame({"trial": [3, 9, 14], "arch": ["a", "b", "c"],
                          "reward": [0.9, 0.8, 0.7], "predicted": [0.95, 0.90, 0.80],
                          "trained": [0.93, np.nan, 0.85], "difference": [-0.02, np.nan, 0.05],
                          "status": ["ok", "failed", "ok"], "error": [None, "boom", None]})
    return table, {"spearman": -1.0, "kendall": -1.0, "mae": 0.035}


def test_verified_scatter_plots_the_trained_models_against_the_diagonal_and_says_the_scores():
    table, scores = _verified_table()
    fig = instant.verified_scatter(table, scores)
    diagonal, points = fig.data
    assert list(diagonal.x) == list(diagonal.y)  # y = x
    assert list(points.x) == [95.0, 80.0] and list(points.y) == [93.0, 85.0]  # failed: left out
    lo, hi = fig.layout.xaxis.range
    assert tuple(fig.layout.yaxis.range) == (lo, hi) and lo < 80 and 95 < hi
    title = fig.layout.title.text
    assert "2 models" in title and "Spearman -1.00" in title and "MAE 3.50 points" in title


def test_verified_scatter_below_two_models_says_n_a_and_without_any_says_how():
    table, _ = _verified_table()
    one = instant.verified_scatter(table.head(1), {"spearman": None, "kendall": None,
                                                   "mae": 0.02})
    assert "Spearman n/a" in one.layout.title.text and "MAE 2.00 points" in one.layout.title.text
    none = instant.verified_scatter(table.iloc[1:2], {})
    assert "mnas verify" in none.layout.annotations[0].text
