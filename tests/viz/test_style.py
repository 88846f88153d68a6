"""What every chart shares: no Streamlit, one front staircase, shared bins, the T line."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from mnas_core.pareto import pareto_mask
from mnas_core.viz import style
from tests.viz.helpers import trials


def test_viz_never_imports_streamlit():
    code = ("import sys\nimport mnas_core.viz\n"
            "assert 'streamlit' not in sys.modules, 'streamlit was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_front_line_is_the_pareto_front_fastest_first():
    ok = style.successful(trials(120))
    x, y = style.front_line(ok)
    front = ok[pareto_mask(ok["accuracy"], ok["latency_ms"])]
    assert len(x) == len(front) and sorted(x) == list(x)
    assert np.all(np.diff(y) > 0)  # slower models on the front must be more accurate
    assert set(np.round(y, 9)) == set(np.round(100 * front["accuracy"], 9))  # shown in percent


def test_successful_drops_trials_missing_accuracy_or_latency():
    df = pd.DataFrame({"accuracy": [0.5, np.nan, 0.6], "latency_ms": [1.0, 2.0, np.nan]})
    assert style.successful(df).index.tolist() == [0]


def test_shared_bins_cover_every_run_and_never_vanish():
    bins = style.shared_bins(pd.Series([2.0, 6.0, 10.0]))
    assert (bins["start"], bins["end"]) == (2.0, 10.0)
    assert bins["size"] == pytest.approx(8.0 / style.HIST_BINS)
    assert style.shared_bins(pd.Series([3.0, 3.0]))["size"] > 0  # one latency: still a bin


def test_target_line_vertical_horizontal_labelled_or_absent():
    fig = go.Figure()
    style.target_line(fig, 4.0)
    style.target_line(fig, 2.5, label=False, horizontal=True)
    style.target_line(fig, None)
    style.target_line(fig, 0)  # T unknown: no line
    v, h = fig.layout.shapes
    assert (v.x0, v.x1, v.line.dash, v.line.color) == (4.0, 4.0, "dash", style.TARGET_COLOR)
    assert (h.y0, h.y1) == (2.5, 2.5)
    assert [a.text for a in fig.layout.annotations] == ["T = 4 ms"]


def test_layout_keeps_title_legend_and_subplot_titles_apart():
    plain = style.layout(go.Figure(), "a title", 300)
    grid = style.layout(go.Figure(), "a title", 300, grid=True)
    assert plain.layout.height == 300 and plain.layout.title.text == "a title"
    # Subplot titles sit above the plots: the legend and the top margin move up for them.
    assert grid.layout.legend.y > plain.layout.legend.y
    assert grid.layout.margin.t > plain.layout.margin.t
    assert style.layout(go.Figure()).layout.title.text is None


def test_empty_figure_says_why():
    fig = style.empty_figure("nothing yet")
    assert fig.layout.annotations[0].text == "nothing yet" and not fig.data
