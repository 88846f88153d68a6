"""Every page through streamlit.testing's AppTest: load, change a widget, see the effect."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT, SOFT, page_app
from tests.app.rundata import make_trials, write_run


def _button(at, label):
    return next(b for b in at.button if b.label.startswith(label))


def _metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def _ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_main_routes_to_the_search_space_page(tmp_path):
    at = _ok(AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=60)
             .run())
    assert at.title[0].value == "Search space"
    assert set(at.session_state["_nav"]) == {"space", "reward", "instant", "search",
                                             "results", "compare", "inspector", "phone"}


# ------------------------------------------------------------------ 1. search space
def test_space_page_live_size_edit_and_inline_error():
    at = _ok(page_app("space").run())
    assert _metrics(at)["Space size"] == "10^18.45"
    # Edit the data editor through its session state: block 1 keeps only kernel 3.
    at.session_state["space_editor_0"] = {"edited_rows": {0: {"kernels": ["3"]}},
                                          "added_rows": [], "deleted_rows": []}
    _ok(at.run())
    assert _metrics(at)["Space size"] == "10^18.15"
    assert at.session_state["space"].blocks[0].kernels == (3,)
    at.session_state["space_editor_0"] = {"edited_rows": {1: {"layer deltas": ["-2", "0"]}},
                                          "added_rows": [], "deleted_rows": []}
    _ok(at.run())
    assert "block 2" in at.error[0].value and "layer delta -2" in at.error[0].value
    assert "Space size" not in _metrics(at)


def test_space_page_samples_an_architecture():
    at = _ok(page_app("space").run())
    _ok(_button(at, "Sample a random architecture").click().run())
    assert at.code[0].value.startswith("r")  # the block string of the sample
    assert len(at.get("plotly_chart")) == 2   # size bars and the block diagram
    _ok(_button(at, "Open in the model inspector").click().run())
    assert at.session_state["inspect_arch"] == at.code[0].value


# ------------------------------------------------------------------ 2. reward explorer
def test_reward_page_presets_and_rerank(run_dirs):
    runs, samples = run_dirs
    at = _ok(page_app("reward", runs, samples).run())
    assert any("**soft**" in m.value for m in at.markdown)
    assert any("cannot change the ranking" in c.value for c in at.caption)  # soft: alpha = beta
    _ok(_button(at, "Hard constraint").click().run())
    assert not any("cannot change the ranking" in c.value for c in at.caption)
    assert (at.slider(key="rw_alpha").value, at.slider(key="rw_beta").value) == (0.0, -1.0)
    assert any("**hard**" in m.value for m in at.markdown)
    before = _metrics(at)["Winner now"]
    _ok(at.select_slider(key="rw_T").set_value(2.0).run())
    assert _metrics(at)["Winner now"] != before or _metrics(at)["Top 10 kept"] != "10 of 10"
    assert any("Re-scored" in c.value for c in at.caption)
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any('"name":"winner"' in sp and '"name":"top 10 by reward"' in sp for sp in specs)


def test_reward_page_reranks_the_largest_run_first(run_dirs):
    runs, samples = run_dirs
    write_run(samples / "single_op_x.db", make_trials(1, SOFT), SOFT)  # the newest, one model
    at = _ok(page_app("reward", runs, samples).run())
    from pathlib import Path

    assert Path(at.selectbox(key="rw_run").value).stem.startswith("ppo-")  # 60 trials, not 1


def test_reward_page_beta_derivation():
    at = _ok(page_app("reward").run())
    assert "-0.0704" in at.code[0].value
    _ok(at.number_input(key="rw_k").set_value(3.0).run())
    assert "ln(3)" in at.code[0].value
    _ok(_button(at, "Use α = β").click().run())
    assert at.slider(key="rw_beta").value == round(-math.log1p(0.05) / math.log(3), 2)


def test_rescoring_10000_trials_follows_the_slider(tmp_path):
    # How fast it settles is a benchmark's business (issue 16's slider benchmark), not a test's:
    # a timed assertion here failed whenever the shared machine was busy.
    write_run(tmp_path / "big.db", make_trials(10_000, SOFT, archs=200), SOFT)
    at = _ok(page_app("reward", tmp_path / "none", tmp_path).run())
    for alpha in (-0.2, -0.3, -0.4):
        _ok(at.slider(key="rw_alpha").set_value(alpha).run())
        assert at.slider(key="rw_alpha").value == alpha
    assert any(c.value.startswith("Re-scored 9,") for c in at.caption)  # ~5% failed


# ------------------------------------------------------------------ 3. run a search
def test_search_page_form_and_empty_state(tmp_path):
    at = _ok(page_app("search", tmp_path / "runs").run())
    assert any("No searches" in i.value for i in at.info)
    at.text_input[0].input("bad name/with slash")
    _ok(_button(at, "Start search").click().run())
    assert "run name" in at.error[0].value


def test_search_form_shows_the_presets_exponents_and_edits_only_custom_ones(tmp_path):
    at = _ok(page_app("search", tmp_path / "runs").run())
    exponents = lambda: [n for n in at.number_input if n.label[0] in "αβ"]  # noqa: E731
    assert [(n.value, n.disabled) for n in exponents()] == [(-0.07, True), (-0.07, True)]
    _ok(at.radio(key="sf_preset").set_value("hard").run())
    assert [(n.value, n.disabled) for n in exponents()] == [(0.0, True), (-1.0, True)]
    _ok(at.radio(key="sf_preset").set_value("custom").run())
    assert all(not n.disabled for n in exponents())


def test_search_page_estimates_the_cost_before_start(tmp_path, monkeypatch):
    monkeypatch.setenv("MNAS_HOME", str(tmp_path / "mnas"))  # the latency database
    at = _ok(page_app("search", tmp_path / "runs", timeout=180).run())
    at.number_input[2].set_value(300)  # training images: a quick probe
    _ok(_button(at, "Estimate time").click().run())
    said = next(i.value for i in at.info if i.value.startswith("Estimated on this machine"))
    assert "s per model" in said and "100 trials" in said
    assert not (tmp_path / "runs").exists()  # nothing started


def test_search_page_says_what_digits_can_teach_from_the_recorded_run(tmp_path):
    """The figure is computed from sample_runs/random.db, the 300-model random search."""
    at = _ok(page_app("search", tmp_path / "runs", ROOT / "sample_runs").run())
    note = next(c.value for c in at.caption if c.value.startswith("digits is the offline"))
    assert "Spearman of accuracy with latency 0.04 over the 300 models" in note


def test_search_page_states_real_datas_budget_and_time_per_model_before_start(tmp_path):
    from mnas_core.fidelity import PROXY, RESULTS_FILE, proxy_seconds, read_results, this_host

    at = _ok(page_app("search", tmp_path / "runs", ROOT / "sample_runs").run())
    archive = next(t for t in at.text_input if t.label == "CIFAR archive or folder")
    assert archive.disabled  # digits is built in
    _ok(at.selectbox(key="sf_dataset").set_value("cifar10").run())
    note = next(c.value for c in at.caption if c.value.startswith("Real data trains at"))
    secs, n, where = proxy_seconds(read_results(ROOT / "sample_runs" / RESULTS_FILE),
                                   this_host())
    assert f"{secs:.0f} s a model on {where} (median of {n} trainings)" in note
    assert f"{100 * secs / 3600:.1f} h of training on {where}" in note
    assert at.number_input[2].value == PROXY.images  # the budget's training images
    assert not next(t for t in at.text_input if t.label == "CIFAR archive or folder").disabled


def test_search_page_watches_a_run_with_resume(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    trials = make_trials(30, SOFT)
    path = write_run(runs / "stopped.db", trials, SOFT, status="stopped")
    from mnas_core.store import RunStore
    store = RunStore(path)  # claim a bigger budget: the run stopped part way
    store.db.execute("UPDATE meta SET value = json_set(value, '$.trials', 100) "
                     "WHERE key = 'config'")
    store.close()
    at = _ok(page_app("search", runs).run())
    assert at.get("progress")[0].proto.value == 30
    assert any(b.label == "Resume" for b in at.button)
    assert len(at.get("plotly_chart")) >= 3  # Pareto scatter, histogram, best model


def test_search_page_lists_a_run_whose_target_is_still_being_measured(tmp_path):
    """The default Start (T = auto): until MobileNetV2 is timed the run has no reward."""
    from mnas_core.search import SearchConfig
    from mnas_core.store import RunStore
    runs = tmp_path / "runs"
    runs.mkdir()
    write_run(runs / "done.db", make_trials(10, SOFT), SOFT)
    RunStore.create(runs / "auto.db", SearchConfig().to_dict()).close()  # newest
    at = _ok(page_app("search", runs).run())
    assert any("T being measured" in p.proto.text for p in at.get("progress"))


def test_search_page_stop_button_signals_the_search(tmp_path):
    import subprocess
    import sys
    from mnas_core.store import RunStore
    runs = tmp_path / "runs"
    runs.mkdir()
    path = write_run(runs / "live.db", make_trials(10, SOFT), SOFT)
    # A stand-in search process: the page must send it the stop signal (SIGINT). Like
    # `mnas search`, it installs its SIGINT handler itself: a child of a backgrounded shell
    # (CI) starts with SIGINT ignored.
    proc = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal("
                             "signal.SIGINT, signal.default_int_handler); time.sleep(60)"])
    try:
        store = RunStore(path)
        store.set_status("running", proc.pid)
        store.close()
        at = _ok(page_app("search", runs).run())
        assert any("live · running" in m.value for m in at.markdown)
        _ok(_button(at, "Stop").click().run())
        assert proc.wait(timeout=10) != 0  # interrupted
    finally:
        proc.kill()


# ------------------------------------------------------------------ 4. results
def test_results_page_compares_hard_and_soft(run_dirs):
    runs, samples = run_dirs
    at = _ok(page_app("results", runs, samples).run())
    summary = at.dataframe[0].value
    assert sorted(summary["run"]) == ["ppo-hard", "ppo-soft"]
    assert len(at.get("plotly_chart")) == 3
    fig6 = at.dataframe[1].value.set_index("run")  # the findings: Figure 6 in numbers
    assert {"in [0.8T, T]", "<= T", "latency IQR ms"} <= set(fig6.columns)
    assert fig6["<= T"].between(0, 1).all() and (fig6["T ms"] == 4.0).all()
    fronts = at.dataframe[2].value["front"].tolist()
    assert "MobileNetV2 1.0 -> 1.4 at 224" in fronts and "ppo-hard" in fronts
    shown = next(c.value for c in at.caption if "trials shown" in c.value)
    _ok(at.number_input(key="res_acc").set_value(70.0).run())
    fewer = next(c.value for c in at.caption if "trials shown" in c.value)
    assert int(fewer.split()[0]) < int(shown.split()[0])
    assert at.get("download_button")


def test_results_page_shows_one_point_runs_as_reference_networks(run_dirs):
    """A single-op or zoo network recorded as a one-point run is a symbol on the fronts and a
    row of Table 6, not a front of its own."""
    from mnas_core import zoo
    from mnas_core.space import SearchSpace
    from tests.app.rundata import point_trials

    runs, samples = run_dirs
    for name, acc, ms in (("mobilenet_v2", 0.75, 9.0), ("mobilenet_v2_x0.5", 0.70, 6.0)):
        arch = zoo.get(name, resolution=32, num_classes=10, small_input=True)
        write_run(samples / f"cifar10_zoo_{name}.db", point_trials(arch, SOFT, acc, ms), SOFT,
                  strategy="random", space=SearchSpace.of(arch))
    at = page_app("results", runs, samples).run()
    at.multiselect(key="res_runs").set_value(sorted(str(p) for p in samples.glob("*.db")))
    _ok(at.run())
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    assert not any("zoo" in str(t.get("name")) for t in traces)  # no front of its own
    family = next(t for t in traces if t.get("name") == "mobilenet_v2")
    assert list(family["text"]) == ["mobilenet_v2 x0.5", "mobilenet_v2 x1"]  # by latency
    table6 = next(d.value for d in at.dataframe if "best searched run" in d.value.columns)
    assert sorted(table6["network"]) == ["mobilenet_v2 x0.5", "mobilenet_v2 x1"]
    assert set(at.dataframe[1].value["run"]) == {"ppo-hard", "ppo-soft"}  # Figure 6: searches
    fronts = next(d.value for d in at.dataframe if "implied beta" in d.value.columns)["front"]
    assert "mobilenet_v2, 2 widths (recorded here)" in set(fronts)
    # Only the zoo points: one family on the chart, no search charts.
    at.multiselect(key="res_runs").set_value(sorted(str(p) for p in samples.glob("*zoo*.db")))
    _ok(at.run())
    (chart,) = at.get("plotly_chart")
    assert [t.get("name") for t in json.loads(chart.proto.spec)["data"]] == ["mobilenet_v2"]
    assert any("Only reference networks are picked" in c.value for c in at.caption)


def test_results_page_names_a_run_whose_config_it_cannot_read(run_dirs):
    """The run is left out with one line naming the file and the field; the other is shown."""
    import json
    import sqlite3

    runs, samples = run_dirs
    with sqlite3.connect(samples / "ppo-soft.db") as db:
        (text,) = db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
        db.execute("UPDATE meta SET value = ? WHERE key = 'config'",
                   (json.dumps({**json.loads(text), "trials": "many"}),))
    at = _ok(page_app("results", runs, samples).run())
    assert any("ppo-soft.db" in e.value and "trials must be an integer" in e.value
               for e in at.error)
    assert list(at.dataframe[0].value["run"]) == ["ppo-hard"]


def _verify_best(samples, top: int = 1, off: float = 0.1234) -> None:
    """Record each run's `top` best trials as `mnas verify` does, trained `off` below."""
    import json

    from mnas_core.store import RunStore, read_trials
    for path in samples.glob("*.db"):
        df = read_trials(path).sort_values("reward", ascending=False).drop_duplicates("arch")
        store = RunStore(path)
        try:
            for _, t in df.head(top).iterrows():
                store.add_verified(int(t.trial), {
                    "status": "ok", "predicted": float(t.accuracy),
                    "accuracy": float(t.accuracy) - off,
                    "dataset": json.dumps({"name": "digits"}),
                    "train_budget": json.dumps({"epochs": 2.0, "steps": None})})
        finally:
            store.close()


def test_results_page_shows_trained_beside_predicted_for_verified_runs(run_dirs):
    runs, samples = run_dirs
    at = _ok(page_app("results", runs, samples).run())
    assert not any("Predicted vs trained" in h.value for h in at.subheader)  # none verified
    _verify_best(samples, top=3)
    at = _ok(page_app("results", runs, samples).run())
    assert any("Predicted vs trained" in h.value for h in at.subheader)
    tables = [d.value for d in at.dataframe if "trained" in d.value.columns]
    assert len(tables) == 2  # one per run
    for t in tables:
        assert len(t) == 3 and np.allclose(t.trained - t.predicted, -12.34)
    assert len(at.get("plotly_chart")) == 5  # the three run charts, one scatter per run


def test_results_page_shows_the_fidelity_study_beside_the_sample_runs(run_dirs):
    import json

    from tests.test_fidelity import study
    runs, samples = run_dirs
    at = _ok(page_app("results", runs, samples).run())
    assert not any("proxy budget" in h.value for h in at.subheader)  # no study recorded
    rows = study(5, noise=0.02)
    (samples / "fidelity_cifar10.jsonl").write_text("\n".join(map(json.dumps, rows)))
    at = _ok(page_app("results", runs, samples).run())
    assert any("proxy budget" in h.value for h in at.subheader)
    assert any(f"{len(rows)} of 261 trainings recorded, 5 of 29 models complete" in m.value
               for m in at.markdown)
    table = next(d.value for d in at.dataframe if "ref_spearman" in d.value.columns)
    assert len(table) == 5 and (table.models == 5).all()
    assert any(m.value.startswith("**So far:** Over 5 models") for m in at.markdown)
    (samples / "fidelity_cifar10.jsonl").write_text("[1, 2, 3]\n" + json.dumps(rows[0]))
    at = page_app("results", runs, samples).run()
    assert not at.exception
    assert any("line 1 is not a training" in e.value for e in at.error)


def test_results_page_empty_state(tmp_path):
    at = _ok(page_app("results", tmp_path / "none").run())
    assert any("No runs found" in i.value for i in at.info)


# ------------------------------------------------------------------ 5. inspector
def test_inspector_zoo_text_and_errors():
    at = _ok(page_app("inspector").run())
    assert _metrics(at)["Parameters"] == "3.89 M"  # MnasNet-A1, docs/facts.md
    _ok(at.selectbox(key="insp_zoo").set_value("mobilenet_v2").run())
    assert _metrics(at)["Parameters"] == "3.50 M"
    _ok(at.segmented_control(key="insp_source").set_value("Block string").run())
    _ok(at.text_area(key="insp_text").input("r1_k4_s11_e1_i32_o16").run())
    assert "kernel must be one of" in at.error[0].value


def test_inspector_takes_a_trial_and_hands_it_to_the_phone(run_dirs):
    runs, samples = run_dirs
    at = page_app("inspector", runs, samples)
    at.session_state["insp_source"] = "Trial of a run"
    _ok(at.run())
    assert _metrics(at)["Input"] == "224x224x3"  # as deployed, where latency was measured
    cards = _metrics(at)  # the trial's own figures, best reward first
    assert cards["Accuracy (proxy)"].endswith("%") and cards["Reward (as recorded)"] != "—"
    _ok(at.toggle(key="insp_deployed").set_value(False).run())
    assert _metrics(at)["Input"] == "32x32x3"
    _ok(_button(at, "Time it on a phone").click().run())
    assert at.session_state["phone_arch"].endswith("small_input=1")


def test_inspector_shows_a_verified_training_beside_the_trial_s_figure(run_dirs):
    runs, samples = run_dirs
    _verify_best(samples)  # each run's best trial, as `mnas verify` records it
    at = page_app("inspector", runs, samples)
    at.session_state["insp_source"] = "Trial of a run"
    _ok(at.run())
    card = next(m for m in at.metric if m.label == "Accuracy (trained by mnas verify)")
    assert "-12.34 points vs predicted" in str(card.delta)


def test_inspector_reads_per_layer_latency_from_the_table(tmp_path, monkeypatch):
    from mnas_core import zoo
    from mnas_core.layers import expand_layers
    from mnas_core.latency import LatencyDB, LutConfig, LutPredictor
    monkeypatch.setenv("MNAS_HOME", str(tmp_path))
    arch = zoo.get("mnasnet_a1")
    with LatencyDB(tmp_path / "latency.db") as db:  # a table as build-table would leave it
        fp = LutPredictor(LutConfig(), db=db).table_fingerprint()
        for L in expand_layers(arch):
            db.put_layer(L.config(), fp, 0.5)
    at = _ok(page_app("inspector").run())
    n = len(expand_layers(arch))
    assert _metrics(at)["Predicted latency"] == f"{0.5 * n:.2f} ms"
    assert "predicted ms" in at.dataframe[0].value.columns


@pytest.mark.slow
def test_inspector_exports_a_pte():
    at = page_app("inspector", timeout=180)
    at.session_state["insp_source"] = "Block string"
    at.session_state["insp_text"] = "r1_k3_s11_e1_i32_o16,r1_k3_s22_e6_i16_o24;resolution=32"
    _ok(at.run())
    _ok(_button(at, "Build ExecuTorch .pte").click().run())
    assert not at.error
    assert any("model.pte" in str(d.proto) for d in at.get("download_button"))


# ------------------------------------------------------------------ 6. phone
def test_phone_page_shows_the_model_it_was_sent(tmp_path, monkeypatch):
    monkeypatch.setenv("MNAS_HOME", str(tmp_path))  # no latency database yet
    at = page_app("phone")
    at.session_state["phone_arch"] = "r1_k3_s11_e1_i32_o16"
    _ok(at.run())
    assert at.title[0].value == "Phone"
    assert any(c.value == "r1_k3_s11_e1_i32_o16" for c in at.code)
    assert any("No phone measurements" in i.value for i in at.info)


def test_phone_page_explains_an_unreachable_phone(tmp_path, monkeypatch):
    import socket
    monkeypatch.setenv("MNAS_HOME", str(tmp_path))
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    at = page_app("phone")
    for key, value in {"ph_how": "TCP", "ph_host": "127.0.0.1", "ph_port": port}.items():
        at.session_state[key] = value
    _ok(at.run())
    assert any(i.value.startswith("No phone connected") for i in at.info)
    assert _button(at, "Time it on the phone").disabled  # until a phone answers
    _ok(_button(at, "Connect and read device info").click().run())
    assert "Could not reach the phone" in at.error[0].value
    assert _button(at, "Time it on the phone").disabled


def test_phone_page_history_beside_host_figures(tmp_path, monkeypatch):
    from mnas_core import zoo
    from mnas_core.latency import LatencyDB, LatencyResult
    monkeypatch.setenv("MNAS_HOME", str(tmp_path))
    key = zoo.get("mnasnet_a1").to_string()
    with LatencyDB(tmp_path / "latency.db") as db:  # as PhoneLatency and the host leave them
        db.put(key, LatencyResult(ms=78.0, source="phone", fingerprint="pixel", runs=30))
        db.put(key, LatencyResult(ms=9.7, source="measured", fingerprint="host", runs=60))
    at = _ok(page_app("phone").run())
    table = at.dataframe[0].value
    assert table.iloc[0]["phone ms"] == 78.0 and table.iloc[0]["host ms"] == 9.7


def test_space_edits_survive_a_visit_to_another_page():
    at = _ok(page_app("space").run())
    at.session_state["space_editor_0"] = {"edited_rows": {0: {"kernels": ["3"]}},
                                          "added_rows": [], "deleted_rows": []}
    _ok(at.run())
    del at.session_state["space_editor_0"]  # what Streamlit does when another page runs
    _ok(at.run())
    assert _metrics(at)["Space size"] == "10^18.15"


# ------------------------------------------------------------------ compare models
def test_compare_page_puts_three_models_side_by_side_and_exports_them(run_dirs):
    runs, samples = run_dirs
    at = _ok(page_app("compare", runs, samples).run())
    assert any("No models yet" in i.value for i in at.info)
    for trial_rank in (0, 1):  # the two best trials of the largest run
        sel = at.selectbox(key="cmp_trial")  # options read "#60 · reward 0.7477"
        _ok(sel.set_value(int(sel.options[trial_rank].split()[0][1:])).run())
        _ok(_button(at, "Add").click().run())
    _ok(at.segmented_control(key="cmp_from").set_value("Zoo model").run())
    _ok(at.selectbox(key="cmp_zoo").set_value("mnasnet_a1").run())
    _ok(_button(at, "Add").click().run())
    summary = at.dataframe[0].value  # side by side: one column per model
    assert list(summary.columns)[2] == "mnasnet_a1" and summary.shape[1] == 3
    assert summary.loc["accuracy %", "mnasnet_a1"] == "75.20"  # published, and said so
    assert summary.loc["accuracy from", "mnasnet_a1"] == "published ImageNet top-1"
    rewards = summary.loc["reward"]
    assert "—" not in list(rewards.iloc[:2]) and rewards.iloc[2] == "—"
    assert any("tensorflow/tpu" in c.value for c in at.caption)  # the source is named
    hard = rewards.iloc[:2].astype(float).to_numpy()
    _ok(at.selectbox(key="cmp_preset").set_value("soft").run())
    assert not np.allclose(at.dataframe[0].value.loc["reward"].iloc[:2].astype(float),
                           hard)  # rescored
    aligned = at.dataframe[1].value
    assert aligned.shape == (7, 3)
    assert any("CSV" in b.proto.label for b in at.get("download_button"))
    assert len(at.get("plotly_chart")) >= 1
    _ok(at.multiselect(key="cmp_keep").unselect("mnasnet_a1").run())
    assert at.dataframe[0].value.shape[1] == 2


def test_search_page_phase_line_says_what_the_search_does_and_the_time_left():
    from app.views.search import phase_line
    meta = {"phase": "batch 2: 1 of 8 models trained on 2 workers", "phase_at": 100.0,
            "created_at": 0.0}
    line = phase_line(meta, 4, 10, now=120.0)
    assert "batch 2: 1 of 8 models trained on 2 workers (20 s ago)" in line
    assert "about 3.0 min left (30 s per trial so far)" in line  # 120 s / 4 trials x 6 left
    first = phase_line({"created_at": 0.0}, 0, 10, now=1.0)
    assert "starting the search process" in first and "first trial finishes" in first
