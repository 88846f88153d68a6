"""The fidelity study's chart: a panel per candidate budget and one of reference vs MACs."""
from __future__ import annotations

import numpy as np

from mnas_core import viz
from mnas_core.fidelity import CANDIDATES, accuracies
from tests.test_fidelity import study


def test_one_panel_per_budget_with_its_spearman_and_the_seeds_as_bars():
    per = accuracies(study(6, noise=0.02))
    names = [b.name for b in CANDIDATES]
    fig = viz.fidelity_scatter(per, names)
    titles = [a.text for a in fig.layout.annotations]
    assert [t.split("<br>")[0] for t in titles] == names + ["the reference by size"]
    assert titles[-1].endswith("ρ = 1.00 with MACs")  # the synthetic reference rises with MACs
    first = fig.data[0]
    assert np.allclose(first.x, 100 * per.ref) and np.allclose(first.y, 100 * per[names[0]])
    seeds = per[[f"{names[0]} seed 0", f"{names[0]} seed 1"]]
    assert np.allclose(first.error_y.array + first.error_y.arrayminus,
                       100 * (seeds.max(axis=1) - seeds.min(axis=1)))
    assert np.allclose(fig.data[-1].x, per.macs / 1e6)


def test_budgets_nobody_completed_get_no_panel_and_an_empty_study_says_so():
    per = accuracies(study(4)).drop(columns=[CANDIDATES[0].name])
    fig = viz.fidelity_scatter(per, [b.name for b in CANDIDATES])
    assert len(fig.layout.annotations) == len(CANDIDATES)  # 3 budgets + MACs
    empty = viz.fidelity_scatter(accuracies([]), [b.name for b in CANDIDATES])
    assert "No model has its reference" in empty.layout.annotations[0].text


def test_the_size_panel_is_coloured_by_plain_layers_where_the_rows_have_an_arch():
    rows = study(4)
    for r in rows:
        r["arch"] = f"r{1 + int(r['model'][1:])}_k3_s11_e1_i32_o16_noskip"
    per = accuracies(rows)
    last = viz.fidelity_scatter(per, [b.name for b in CANDIDATES]).data[-1]
    assert list(last.marker.color) == [1, 2, 3, 4] == list(per.plain_layers)
    assert "with plain layers" in viz.fidelity_scatter(per, []).layout.annotations[-1].text
    assert viz.fidelity_scatter(accuracies(study(4)), []).data[-1].marker.showscale is None
