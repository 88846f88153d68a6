"""mnas_core.compare: models side by side, their blocks aligned with differences marked."""
from __future__ import annotations

import dataclasses
import io
import math

import pandas as pd
import pytest

from mnas_core import compare, zoo
from mnas_core.arch import parse_arch
from mnas_core.profile import profile
from mnas_core.reward import RewardConfig, reward

A1, MBV2 = zoo.get("mnasnet_a1"), zoo.get("mobilenet_v2")


def test_summary_scores_each_model_under_the_given_reward_and_keeps_the_origins():
    es = [compare.Entry("a", A1, 0.75, "trained", 12.0, "measured"),
          compare.Entry("b", MBV2, 0.70, "predicted", None, "not timed")]
    hard = RewardConfig(10.0, 0.0, -1.0)
    t = compare.summary(es, hard, [11.5, None])
    assert list(t.model) == ["a", "b"]
    assert t.reward[0] == pytest.approx(float(reward(0.75, 12.0, hard)))  # over T: penalised
    assert t.reward[0] == pytest.approx(0.75 * (12 / 10) ** -1)
    assert t.reward[1] is None or math.isnan(t.reward[1])  # no latency, no reward
    assert t["accuracy %"][0] == pytest.approx(75.0) and t["accuracy from"][1] == "predicted"
    assert t["predicted latency ms"][0] == 11.5
    assert t["MACs M"][0] == pytest.approx(profile(A1)["macs"].sum() / 1e6)
    soft = compare.summary(es, RewardConfig(10.0, -0.07, -0.07))
    assert soft.reward[0] == pytest.approx(0.75 * 1.2 ** -0.07)


def test_side_by_side_puts_each_model_in_a_column_and_marks_missing_figures():
    es = [compare.Entry("a", A1, 0.75, "trained", 12.0, "measured"),
          compare.Entry("b", MBV2, 0.70, "predicted", None, "not timed")]
    view = compare.side_by_side(compare.summary(es, RewardConfig(10.0, 0.0, -1.0), [11.5, None]))
    assert list(view.columns) == ["a", "b"]
    assert view.loc["accuracy %", "a"] == "75.00" and view.loc["accuracy from", "b"] == "predicted"
    assert view.loc["latency ms (recorded)", "b"] == "—" and view.loc["reward", "b"] == "—"
    assert view.loc["predicted latency ms", "a"] == "11.50"
    assert view.loc["MACs M", "a"] == f"{profile(A1)['macs'].sum() / 1e6:.0f}"


def test_a_training_budget_reads_as_words():
    assert compare.budget_words('{"epochs": 2.0, "steps": null}') == "2 epochs"
    assert compare.budget_words('{"epochs": 0.5, "steps": 300}') == "0.5 epochs, 300 steps"
    assert compare.budget_words(None) == compare.budget_words("{not json") == ""
    assert compare.budget_words("[1, 2]") == ""


def test_blocks_align_by_position_and_mark_only_the_blocks_that_differ():
    k5 = dataclasses.replace(MBV2.blocks[2], kernel=5)
    other = MBV2.replace(blocks=MBV2.blocks[:2] + (k5,) + MBV2.blocks[3:])
    table, differs = compare.blocks([compare.Entry("x", MBV2), compare.Entry("y", other)])
    assert list(table.index) == [f"block {i}" for i in range(1, 8)]
    assert list(differs.index[differs["x"]]) == ["block 3"]  # only the kernel changed
    assert (differs["x"] == differs["y"]).all()
    assert table.loc["block 3", "x"].startswith("MBConv6 k3") and " k5 " in table.loc[
        "block 3", "y"]


def test_a_removed_block_shows_as_a_dash_and_differs():
    cut = parse_arch(MBV2.to_string().replace("r1_k3_s11_e6_i160_o320", "r0_k3_s11_e6_i160_o320"))
    table, differs = compare.blocks([compare.Entry("full", MBV2), compare.Entry("cut", cut)])
    assert table.loc["block 7", "cut"] == "-" and differs.loc["block 7", "full"]


def test_block_costs_sum_to_the_model_s_macs_per_part():
    costs = compare.block_costs([compare.Entry("a1", A1), compare.Entry("mbv2", MBV2)])
    for name, arch in (("a1", A1), ("mbv2", MBV2)):
        mine = costs[costs.model == name]
        assert list(mine.part) == ["stem", *[f"block {i}" for i in range(1, 8)], "head"]
        assert mine["MACs M"].sum() == pytest.approx(profile(arch)["macs"].sum() / 1e6)
    assert costs["predicted ms"].isna().all()  # none given
    ms = pd.Series(range(len(profile(A1))), dtype=float)
    timed = compare.block_costs([compare.Entry("a1", A1)], [ms])
    assert timed["predicted ms"].sum() == pytest.approx(ms.sum())


def test_layer_costs_split_each_block_into_its_layers():
    costs = compare.block_costs([compare.Entry("a1", A1)], by="layer")
    prof = profile(A1)
    assert len(costs) == len(prof) - (~prof["block"].astype(bool)).sum() + 2  # + stem, head
    assert list(costs.part[:4]) == ["stem", "1.1", "2.1", "2.2"]
    blocks = compare.block_costs([compare.Entry("a1", A1)])
    per_block = costs.assign(part=costs.part.str.split(".").str[0].map(
        lambda p: p if p in ("stem", "head") else f"block {p}")).groupby("part", sort=False)
    assert per_block["MACs M"].sum().tolist() == pytest.approx(blocks["MACs M"].tolist())
    with pytest.raises(ValueError, match="block' or 'layer"):
        compare.block_costs([compare.Entry("a1", A1)], by="op")


def test_published_figures_of_zoo_models_come_from_the_cited_table():
    a1 = compare.published("mnasnet_a1")
    assert a1["top1"] == 75.2 and a1["pixel1_ms"] == 78 and "mnasnet" in a1["source"]
    assert compare.published("mobilenet_v2_x0.5")["top1"] == 65.4
    assert compare.published("mnasnet_b1") is None  # not in the table


def test_the_csv_holds_the_table_the_aligned_blocks_and_the_block_strings():
    es = [compare.Entry("a1", A1, 0.752, "published"), compare.Entry("mbv2", MBV2)]
    table = compare.summary(es, RewardConfig(10.0, 0.0, -1.0))
    aligned, _ = compare.blocks(es)
    text = compare.to_csv(table, aligned, es)
    parts = text.split("\n\n")
    assert len(parts) == 3
    assert list(pd.read_csv(io.StringIO(parts[0])).model) == ["a1", "mbv2"]
    assert "block 7" in pd.read_csv(io.StringIO(parts[1])).columns
    strings = pd.read_csv(io.StringIO(parts[2]))
    assert parse_arch(strings["block string"][0]) == A1
