"""Charts of trials: the Pareto scatter and overlay, latency histograms, the paper's Figure 6,
reward and latency over the search."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mnas_core import viz
from mnas_core.pareto import pareto_mask
from tests.viz.helpers import HARD, SOFT, trials


def _runs():
    return {"hard": trials(50, HARD, 1), "soft": trials(50, SOFT, 2)}


def test_pareto_scatter_marks_the_front_and_handles_empty():
    df = trials(80)
    fig = viz.pareto_scatter(df, 4.0)
    ok = df.dropna(subset=["accuracy", "latency_ms"])
    assert len(fig.data[0].x) == len(ok)
    assert len(fig.data[1].x) == pareto_mask(ok.accuracy, ok.latency_ms).sum()
    assert any(s.x0 == 4.0 for s in fig.layout.shapes)
    empty = viz.pareto_scatter(df.iloc[:0])
    assert "No finished trials" in empty.layout.annotations[0].text
    big = viz.pareto_scatter(trials(3000))
    assert big.data[0].type == "scattergl"  # WebGL past a few thousand points


def test_pareto_scatter_marks_the_top_trials_and_the_winner():
    df = trials(80)
    fig = viz.pareto_scatter(df, 4.0, marked=10)
    top, winner = fig.data[-2], fig.data[-1]
    ok = df.dropna(subset=["accuracy", "latency_ms"])
    best = ok.sort_values("reward", ascending=False).head(10)
    assert top.name == "top 10 by reward" and np.allclose(top.x, best.latency_ms)
    assert winner.name == "winner" and winner.x[0] == ok.loc[ok.reward.idxmax(), "latency_ms"]
    assert len(viz.pareto_scatter(df, 4.0).data) == 2  # unmarked by default


def test_a_model_sampled_again_is_one_larger_point_with_its_count():
    df = trials(40)
    ok = df.dropna(subset=["accuracy", "latency_ms"])
    again = pd.concat([df, ok.iloc[[0, 0, 0, 5]].assign(trial=[100, 101, 102, 103])])
    fig = viz.pareto_scatter(again, 4.0)
    pts = fig.data[0]
    assert len(pts.x) == len(ok)                         # 4 repeats, no new points
    samples = np.asarray(pts.customdata)[:, 2]
    assert sorted(samples[samples > 1]) == [2, 4]        # trial 0's model 4 times, the 6th's 2
    sizes = np.asarray(pts.marker.size)
    assert sizes[samples == 4][0] > sizes[samples == 2][0] > sizes[samples == 1][0]
    assert f"{len(again.dropna(subset=['accuracy'])):,} trials, {len(ok):,} distinct" \
        in fig.layout.title.subtitle.text
    assert not viz.pareto_scatter(df, 4.0).layout.title.subtitle.text  # no repeats, no note


def test_pareto_axes_fit_the_trials_and_a_far_target_is_named_at_the_edge():
    df = trials(80)  # latencies in [1, 9] ms
    near = viz.pareto_scatter(df, 4.0)
    lo, hi = near.layout.xaxis.range
    assert 0.5 < lo < 1.2 and 8.8 < hi < 9.5
    far = viz.pareto_scatter(df, 75.0)
    assert far.layout.xaxis.range[1] < 10                # not stretched to 75 ms
    assert not far.layout.shapes                         # no line off the chart ...
    assert any(a.text.startswith("T = 75 ms") for a in far.layout.annotations)  # ... named
    y_lo, y_hi = far.layout.yaxis.range
    acc = 100 * df.accuracy.dropna()
    assert y_lo <= acc.min() and acc.max() < y_hi <= 102


def test_comparison_charts_one_trace_set_per_run():
    runs = _runs()
    assert [t.name for t in viz.pareto_overlay(runs, 4.0).data if t.showlegend is not False] \
        == ["hard", "soft"]
    hist = viz.latency_histograms(runs, {"hard": 4.0, "soft": 4.0})
    titles = [a.text for a in hist.layout.annotations][:2]
    assert [t.split(" · ")[0] for t in titles] == ["hard", "soft"]  # side by side
    assert len(hist.data) == 2
    assert hist.data[0].xbins == hist.data[1].xbins  # bin for bin comparable
    assert hist.layout.xaxis2.matches == "x"  # and on one latency axis
    time_fig = viz.reward_over_time(runs)
    best = time_fig.data[1].y
    assert np.all(np.diff(np.asarray(best)[~np.isnan(best)]) >= 0)  # best-so-far never drops
    assert "Pick runs" in viz.pareto_overlay({}).layout.annotations[0].text


def test_pareto_overlay_marks_reference_networks():
    points = {"single op: mbconv6_k3": trials(3, seed=5),
              "mobilenet_v2": trials(4, seed=6).assign(label=[f"x{w}" for w in range(4)])}
    fig = viz.pareto_overlay(_runs(), 4.0, points, title="fronts")
    marked = [t for t in fig.data if t.name in points]
    assert [t.name for t in marked] == list(points)
    assert [len(t.x) for t in marked] == [(d.status == "ok").sum() for d in points.values()]
    assert marked[0].marker.symbol != marked[1].marker.symbol
    assert list(marked[1].x) == sorted(marked[1].x)  # a family's widths joined in latency order
    assert set(marked[1].text) <= {"x0", "x1", "x2", "x3"}
    assert set(marked[0].text) == {"single op: mbconv6_k3"}  # no labels: the family's name
    alone = viz.pareto_overlay({}, 4.0, points)  # reference networks without a search
    assert [t.name for t in alone.data] == list(points)
    assert fig.layout.title.text == "fronts"


def test_latency_histogram_and_its_empty_state():
    fig = viz.latency_histogram(trials(40), 4.0)
    assert len(fig.data[0].x) == trials(40)["latency_ms"].notna().sum()
    assert fig.layout.shapes[0].x0 == 4.0
    assert "No latencies" in viz.latency_histogram(trials(5).iloc[:0]).layout.annotations[0].text


def test_figure6_columns_share_scales_bins_and_mark_t():
    runs = _runs()
    fig = viz.figure6(runs, {"hard": 4.0, "soft": 5.0})
    assert len(fig.data) == 3 * len(runs)  # models, front, histogram per run
    models, front, hist = fig.data[:3]
    ok = runs["hard"].dropna(subset=["accuracy", "latency_ms"])
    assert len(models.x) == len(ok) and np.allclose(models.y, 100 * ok.accuracy)
    assert len(front.x) == pareto_mask(ok.accuracy, ok.latency_ms).sum()
    assert fig.data[2].xbins == fig.data[5].xbins
    lines = sorted(s.x0 for s in fig.layout.shapes)
    assert lines == [4.0, 4.0, 5.0, 5.0]  # each run's T in both of its panels
    assert [a.text.split(" · ")[0] for a in fig.layout.annotations] == ["hard", "soft"]


def test_histogram_titles_count_repeated_architectures():
    df = trials(30).assign(arch=[f"arch{i}" for i in range(30)])
    df.loc[10:19, "arch"] = "arch0"  # one architecture sampled 11 times
    timed = df[df.latency_ms.notna()]
    repeats = int(timed.arch.duplicated().sum())
    hist = viz.latency_histograms({"hard": df}, {"hard": 4.0})
    assert hist.layout.annotations[0].text == f"hard · {len(timed)} models, {repeats} repeats"
    assert repeats >= 9


def test_a_single_trial_gets_a_readable_latency_axis():
    df = trials(1).assign(latency_ms=[31.5582], accuracy=[0.195], status=["ok"])
    lo, hi = viz.pareto_scatter(df, 29.3).layout.xaxis.range
    assert lo < 31.5582 < hi and hi - lo >= 0.05 * 31.5582  # not 31.55816 ... 31.55824


def test_the_scatter_and_the_histograms_count_the_same_repeats():
    df = trials(30).assign(arch=[f"arch{i}" for i in range(30)])
    ok = df.dropna(subset=["accuracy"])
    first, second = ok.index[:2]
    df.loc[second, ["latency_ms", "accuracy"]] = df.loc[first, ["latency_ms", "accuracy"]]
    again = pd.concat([df, ok.loc[[first] * 3].assign(trial=[100, 101, 102])])
    # Two networks that happen to score alike stay two; one network sampled 4 times is one.
    points = len(viz.pareto_scatter(again, 4.0).data[0].x)
    assert points == len(ok)
    title = viz.latency_histograms({"hard": again}, {"hard": 4.0}).layout.annotations[0].text
    assert title == f"hard · {len(ok) + 3} models, 3 repeats"


def test_latency_over_trials_rolling_median():
    df = trials(60)
    fig = viz.latency_over_trials({"run": df}, {"T": 4.0}, window=5)
    d = df[df.latency_ms.notna()]
    assert np.allclose(fig.data[1].y, d.latency_ms.rolling(5, min_periods=1,
                                                            center=True).median())
    assert fig.layout.shapes[0].y0 == 4.0  # T is a horizontal line here
