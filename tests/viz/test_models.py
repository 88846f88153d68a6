"""Charts of networks and latency: cost per layer, the space's size, model sizes, what
predicts measured latency, per-run times."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from mnas_core import viz, zoo
from mnas_core.profile import profile


def test_layer_costs_adds_latency_on_a_second_axis():
    prof = profile(zoo.get("mnasnet_a1"))
    bars = viz.layer_costs(prof)
    assert len(bars.data) == 1 and np.allclose(bars.data[0].y, prof["macs"] / 1e6)
    both = viz.layer_costs(prof, pd.Series(np.linspace(0.1, 1, len(prof))))
    assert len(both.data) == 2 and both.data[1].yaxis == "y2"


def test_space_sizes_beside_the_papers():
    fig = viz.space_sizes(18.45, 40.0)
    assert list(fig.data[0].x) == pytest.approx([18.45, 5 * np.log10(432), 40.0, 39.0])


def test_size_scatter_marks_reference_models():
    samples = pd.DataFrame({"macs": [1e8, 2e8], "params": [1e6, 3e6]})
    marked = pd.DataFrame({"name": ["mnasnet_a1"], "macs": [3.12e8], "params": [3.89e6]})
    fig = viz.size_scatter(samples, marked)
    assert list(fig.data[0].x) == [100.0, 200.0] and list(fig.data[1].text) == ["mnasnet_a1"]
    assert len(viz.size_scatter(samples).data) == 1


def test_latency_evidence_correlates_on_held_out_models_only():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"macs": rng.uniform(1e8, 5e8, 20), "measured_ms": rng.uniform(1, 9, 20),
                       "predicted_ms": rng.uniform(1, 9, 20)})
    calibrated = pd.Series(np.arange(20) < 5)
    fig = viz.latency_evidence(df, calibrated)
    held = df[~calibrated]
    rho = spearmanr(held.macs, held.measured_ms)[0]
    assert fig.layout.annotations[0].text == f"MACs (Spearman {rho:.2f})"
    hollow = next(t for t in fig.data if t.name == "used to fit the correction")
    assert hollow.marker.symbol == "circle-open" and len(hollow.x) == 5
    assert "15 models" in fig.layout.title.text


def test_run_times_in_order():
    fig = viz.run_times((3.0, 3.1, 2.9))
    assert list(fig.data[0].y) == [3.0, 3.1, 2.9] and "warm-up" in fig.layout.title.text


def test_compare_costs_groups_models_per_part_in_network_order():
    from mnas_core import compare, zoo
    from mnas_core.arch import parse_arch
    mbv2 = zoo.get("mobilenet_v2")
    cut = parse_arch(mbv2.to_string().replace("r3_k3_s11_e6_i64_o96,r3_k3_s22_e6_i96_o160",
                                              "r0_k3_s11_e6_i64_o96,r3_k3_s22_e6_i64_o160"))
    costs = compare.block_costs([compare.Entry("cut", cut), compare.Entry("full", mbv2)])
    fig = viz.compare_costs(costs)
    assert [t.name for t in fig.data] == ["cut", "full"] and fig.layout.barmode == "group"
    # block 5 is removed in the first model, and still sits between block 4 and block 6
    assert list(fig.layout.xaxis.categoryarray) == [
        "stem", *[f"block {i}" for i in range(1, 8)], "head"]
    assert len(fig.layout.annotations) == 0  # no latency row without predicted figures
    timed = viz.compare_costs(costs.assign(**{"predicted ms": 1.0}))
    assert len(timed.data) == 4 and len(timed.layout.annotations) == 2  # two subplot titles
    layers = viz.compare_costs(compare.block_costs([compare.Entry("cut", cut),
                                                    compare.Entry("full", mbv2)], by="layer"))
    order = list(layers.layout.xaxis.categoryarray)
    assert order[:4] == ["stem", "1.1", "2.1", "2.2"] and order[-1] == "head"
    assert order.index("4.4") < order.index("5.1") < order.index("6.1")  # 5.x: "full" only
    assert "per layer" in layers.layout.title.text
