"""The app's Streamlit-free helpers (analysis, diagram, space table, search form); the chart
builders are mnas_core.viz, tested in tests/viz/."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from app import analysis, diagram, search_form, space_table
from mnas_core import zoo
from mnas_core.arch import parse_arch
from mnas_core.reward import RewardConfig
from mnas_core.search import SearchConfig
from mnas_core.space import SearchSpace
from tests.app.rundata import make_trials

HARD, SOFT = RewardConfig.preset("hard", 4.0), RewardConfig.preset("soft", 4.0)
PURE = ("app.diagram", "app.space_table", "app.analysis", "app.search_form",
        "app.latency_info", "app.config")


def test_figure_modules_never_import_streamlit():
    code = (f"import sys\nimport {', '.join(PURE)}\n"
            "assert 'streamlit' not in sys.modules, 'streamlit was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_rerank():
    df = make_trials(100, HARD)
    ranked = analysis.rerank(df, SOFT)
    assert ranked["rank_now"].tolist() == list(range(1, len(ranked) + 1))
    assert ranked["reward_now"].is_monotonic_decreasing
    same = analysis.rerank(df, HARD)
    assert (same["moved"] == 0).all()  # the run's own reward changes nothing
    top = analysis.top_table(ranked)
    assert len(top) == 10 and set(top["change"].str[0]) <= {"▲", "▼", "="}


def test_filter_trials():
    df = make_trials(100, SOFT)
    assert set(analysis.filter_trials(df, ["failed"], None, None, 0)["status"]) == {"failed"}
    high = analysis.filter_trials(df, ["ok"], None, None, 0.7)
    assert (high["accuracy"] >= 0.7).all()
    assert analysis.best_row(df)["reward"] == df["reward"].max()


def test_block_diagram_shows_figure_7_content():
    arch = zoo.get("mnasnet_a1")
    items = diagram.boxes(arch)
    assert len(items) == 2 + 7 + 2  # input, stem, 7 blocks, head, pool/FC
    b3 = items[4]
    assert b3.label == "MBConv3 (k5x5), SE" and b3.repeats == "x3" and b3.shape == "28x28x40"
    assert items[2].label == "SepConv (k3x3), no skip"
    assert items[-3].shape == "7x7x320"
    fig = diagram.block_diagram(arch)
    assert len(fig.layout.shapes) == len(items)


def test_block_diagram_shows_removed_blocks():
    arch = parse_arch("r0_k5_s11_e1_i32_o16_se0.25_pool_conv,r2_k3_s22_e3_i32_o24,"
                      "r1_k3_s22_e6_i24_o40;resolution=32;num_classes=10")
    items = diagram.boxes(arch)
    assert items[2].removed and "removed" in items[2].label
    assert items[3].label.startswith("MBConv3")


def test_space_table_round_trip_and_inline_errors():
    space = SearchSpace()
    table = space_table.space_to_table(space)
    assert len(table) == 7 and table.loc[0, "kernels"] == ["3", "5"]
    assert space_table.table_to_space(table, space) == space
    table.at[2, "kernels"] = ["3"]
    assert space_table.table_to_space(table, space).block_choices()[2] == 216
    table.at[1, "kernels"] = ["9"]
    with pytest.raises(ValueError, match="block 2: kernel 9"):
        space_table.table_to_space(table, space)
    table.at[1, "kernels"] = ["x"]
    with pytest.raises(ValueError, match="block 2: kernels: 'x' is not a number"):
        space_table.table_to_space(table, space)


def test_the_quick_demo_is_the_default_search_at_a_small_budget():
    demo = search_form.quick_demo_config("demo", SearchSpace())
    default = search_form.build_config(search_form.defaults("d"), SearchSpace())
    q = search_form.QUICK_DEMO
    assert (demo.trials, demo.batch_size, demo.dataset.train_images, demo.train.epochs) == (
        q["trials"], q["batch_size"], q["subset"], q["epochs"])
    assert demo.executor == "inprocess"  # no worker processes to start
    assert demo.latency.source_config().runs == search_form.QUICK_DEMO_LATENCY["runs"]
    same = ("strategy", "reward", "space", "seed")  # what it searches is the default search's
    assert all(getattr(demo, f) == getattr(default, f) for f in same)
    assert demo.dataset.name == default.dataset.name == "digits"  # offline


def test_search_form_starts_real_data_at_the_proxy_budget():
    from mnas_core.fidelity import PROXY, proxy_task

    d = search_form.defaults("c", dataset="cifar10")
    assert (d.subset, d.epochs) == (PROXY.images, PROXY.epochs)
    cfg = search_form.build_config(dataclasses.replace(d, data_path=" /data/c10.tar.gz "),
                                   SearchSpace())
    data, train = proxy_task("cifar10")
    assert cfg.dataset == dataclasses.replace(data, path="/data/c10.tar.gz")
    assert cfg.train == train
    with pytest.raises(ValueError, match="a data path is for CIFAR"):
        search_form.build_config(search_form.FormValues(name="x", data_path="/x"), SearchSpace())


def test_search_form_builds_the_core_config(tmp_path):
    v = search_form.FormValues(name="t", trials=4, batch_size=2, subset=200, epochs=0.5,
                               target_ms=10, preset="hard", workers=1, strategy="random")
    cfg = search_form.build_config(v, SearchSpace())
    assert (cfg.strategy, cfg.trials, cfg.batch_size, cfg.workers) == ("random", 4, 2, 1)
    assert (cfg.reward.alpha, cfg.reward.beta, cfg.reward.target_ms) == (0.0, -1.0, 10.0)
    assert cfg.dataset.train_images == 200 and cfg.train.epochs == 0.5
    auto = search_form.build_config(search_form.FormValues(name="a"), SearchSpace())
    assert auto.reward == SearchConfig().reward  # soft, T = auto: measured when the run starts
    hard_auto = search_form.FormValues(name="a", preset="hard", target_ms=0)
    assert search_form.build_config(hard_auto, SearchSpace()).reward == RewardConfig(None, 0, -1)
    with pytest.raises(ValueError, match="run name"):
        search_form.run_path(tmp_path, "../escape")
    (tmp_path / "taken.db").write_text("")
    with pytest.raises(ValueError, match="already exists"):
        search_form.run_path(tmp_path, "taken")
