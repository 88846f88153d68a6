"""Charts of the reward: its curves (eq. 2-3, Figure 3) and the re-ranking slope chart."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mnas_core import viz
from tests.viz.helpers import HARD, SOFT


def test_reward_curves_follow_eq_2_3():
    fig = viz.reward_curves(HARD, accuracies=(0.5, 0.8), compare=SOFT)
    assert len(fig.data) == 4  # two accuracies, each with its dotted comparison
    x, y = np.asarray(fig.data[1].x), np.asarray(fig.data[1].y)
    assert np.allclose(y[x <= 4.0], 0.8)                   # hard: flat below T ...
    assert np.allclose(y[x > 4.0], 0.8 * (x[x > 4.0] / 4.0) ** -1)  # ... 1/LAT above it
    assert any(s.x0 == 4.0 for s in fig.layout.shapes)      # the T line


def test_rank_slope_one_line_per_ranked_trial_capped_at_top():
    table = pd.DataFrame({"trial": range(12), "rank_before": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                              11, 12],
                          "rank_now": [12, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1]})
    fig = viz.rank_slope(table, top=10)
    lines = {tr.line.color: np.asarray(tr.y, float).reshape(-1, 3)[:, :2].tolist()
             for tr in fig.data if tr.mode == "lines+markers"}
    assert lines["#E45756"] == [[1, 11]]        # trial 0 fell out of the top: red, to ">10"
    assert lines["#54A24B"] == [[11, 1]]        # trial 11 rose to the top: green
    assert len(lines["#999"]) == 9              # trials 1-9 kept their rank; trial 10 is
    labels = [t for tr in fig.data if tr.mode == "markers+text" for t in tr.text]  # outside both
    assert sorted(labels) == sorted(f"#{n}" for n in [*range(10), *range(1, 10), 11])
    assert "No ranked" in viz.rank_slope(table.iloc[:0]).layout.annotations[0].text
