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
    assert len(fig.data) == 11  # trial 10 is outside the top 10 before and after
    first = fig.data[0]
    assert list(first.y) == [1, 11] and first.line.color == "#E45756"  # fell out: red
    assert fig.data[-1].line.color == "#54A24B"  # trial 11 rose to the top: green
    assert "No ranked" in viz.rank_slope(table.iloc[:0]).layout.annotations[0].text
