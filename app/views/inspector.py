"""Page 5: any zoo model or searched trial as a Figure-7 block diagram, its per-layer costs,
predicted latency, and an ExecuTorch export; hands the model to the Phone page."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from app import diagram, latency_info, nav, widgets
from app.config import AppConfig
from app.views import phone
from mnas_core import viz, zoo
from mnas_core.arch import Architecture, parse_arch
from mnas_core.profile import profile
from mnas_core.store import read_verified

SOURCES = ("Zoo model", "Trial of a run", "Block string")
URL = "inspector"
HANDOFF = "inspect_arch"  # other pages send a block string here (nav.handoff)
# Widgets whose values survive a visit to another page (app/main.py).
KEEP = ("insp_source", "insp_zoo", "insp_res", "insp_classes", "insp_text", "insp_run")


def _take_handoff() -> None:
    """Another page sent an architecture: show it as a block string."""
    sent = st.session_state.pop(HANDOFF, None)
    if sent:
        st.session_state["insp_source"] = "Block string"
        st.session_state["insp_text"] = sent


def _from_zoo() -> Architecture | None:
    c = st.columns([2, 1, 1])
    name = c[0].selectbox("Model", zoo.names(), key="insp_zoo",
                          index=zoo.names().index("mnasnet_a1"))
    res = c[1].number_input("resolution", 32, 512, 224, step=16, key="insp_res")
    classes = c[2].number_input("classes", 2, 100_000, 1000, key="insp_classes")
    return zoo.get(name, resolution=int(res), num_classes=int(classes))


def _trial_label(row) -> str:
    if pd.isna(row["accuracy"]):
        return f"#{row['trial']} · failed"
    return (f"#{row['trial']} · {100 * row['accuracy']:.2f}% · {row['latency_ms']:.2f} ms · "
            f"reward {row['reward']:.4f}")


def _from_run(cfg: AppConfig) -> Architecture | None:
    path = widgets.pick_run(cfg, key="insp_run")
    if path is None:
        return None
    df = widgets.load_trials(path)
    if df is None or df.empty:
        st.info("This run has no trials yet.", icon=":material/info:")
        return None
    # The best 1,000 keep the picker quick on 10,000-trial runs.
    df = df.sort_values("reward", ascending=False, na_position="last").head(1000)
    rows = {int(r["trial"]): _trial_label(r) for _, r in df.iterrows()}
    c = st.columns([3, 2], vertical_alignment="bottom")
    trial = c[0].selectbox("Trial (best reward first)", list(rows), format_func=rows.get,
                           key="insp_trial")
    row = df.loc[df["trial"] == trial].iloc[0]
    arch = parse_arch(row["arch"])
    deployed = c[1].toggle("As deployed (the network whose latency was measured)", True,
                           key="insp_deployed",
                           help="off: as trained on the proxy task (its small resolution "
                                "and classes)")
    conf = widgets.load_config(path)
    if conf is None:
        return None
    _trial_cards(row, conf)
    _verified_card(path, int(row["trial"]))
    return conf.latency.deployed(arch) if deployed else arch


def _trial_cards(row, conf) -> None:
    """What the run measured for this trial, and how (the proxy task behind the accuracy)."""
    m = st.columns(3)
    source = row.get("accuracy_source")
    if isinstance(source, str) and source != "trained":  # a stand-in, never a measurement
        label, how = f"Accuracy ({source})", (
            f"{source} by the run's {source} source ({conf.accuracy.options or 'defaults'}); "
            "not a measurement")
    else:
        trained = (f"{conf.dataset.name}, {row['train_budget']}" if isinstance(
            row.get("train_budget"), str) else conf.dataset.name)
        label, how = "Accuracy (proxy)", f"validation top-1 after the proxy training: {trained}"
    m[0].metric(label, "failed" if pd.isna(row["accuracy"])
                else f"{100 * row['accuracy']:.2f}%", help=how, border=True)
    m[1].metric("Latency (as recorded)", "—" if pd.isna(row["latency_ms"])
                else f"{row['latency_ms']:.2f} ms",
                help=f"from the run's {conf.latency.source} source, at "
                     f"{conf.latency.resolution}x{conf.latency.resolution}", border=True)
    m[2].metric("Reward (as recorded)", "—" if pd.isna(row["reward"])
                else f"{row['reward']:.4f}", help=f"{conf.reward.kind}: α = "
                f"{conf.reward.alpha:g}, β = {conf.reward.beta:g}, T = " + (
                    f"{conf.reward.target_ms:g} ms" if conf.reward.target_ms else "auto"),
                border=True)


def _verified_card(path, trial: int) -> None:
    """A predicted trial that `mnas verify` trained: the measured top-1 beside the figure."""
    try:
        done = read_verified(path)
    except ValueError:
        return
    done = done[(done["trial"] == trial) & (done["status"] == "ok")]
    if done.empty:
        return
    v = done.iloc[0]
    data, budget = json.loads(v["dataset"]), json.loads(v["train_budget"])
    spent = (f"{budget['steps']} steps" if budget.get("steps") is not None
             else f"{budget.get('epochs')} epochs")
    st.metric("Accuracy (trained by mnas verify)", f"{100 * v['accuracy']:.2f}%",
              delta=f"{100 * (v['accuracy'] - v['predicted']):+.2f} points vs predicted",
              delta_color="off", border=True,
              help=f"a real proxy training on {data.get('name')} for {spent}, the task the "
                   "predictor was fitted on")


def _from_text() -> Architecture | None:
    st.session_state.setdefault("insp_text", zoo.MNASNET_A1)
    text = st.text_area("Block string (blocks joined by commas, optional ;key=value fields)",
                        key="insp_text", height=90)
    return parse_arch(text)


def _export(arch: Architecture) -> None:
    key = arch.to_string()
    built = st.session_state.get("insp_pte")
    if st.button("Build ExecuTorch .pte", icon=":material/deployed_code:",
                 help="batch 1, XNNPACK delegate, untrained weights (seed 0): for timing"):
        with st.spinner("Exporting and lowering to XNNPACK..."):
            try:
                from mnas_core.latency.export import export_pte
                with tempfile.TemporaryDirectory() as tmp:
                    data = export_pte(arch, Path(tmp) / "model.pte").read_bytes()
                st.session_state["insp_pte"] = built = (key, data)
            except (ValueError, ImportError, RuntimeError) as err:
                st.error(f"Export failed: {err}", icon=":material/error:")
                return
    if built and built[0] == key:
        st.download_button(f"Download model.pte ({len(built[1]) / 1e6:.1f} MB)", built[1],
                           file_name="model.pte", mime="application/octet-stream",
                           icon=":material/download:", type="primary")


def page(cfg: AppConfig) -> None:
    st.title("Model inspector")
    _take_handoff()
    st.session_state.setdefault("insp_source", SOURCES[0])
    source = st.segmented_control("Inspect", SOURCES, key="insp_source")
    try:
        arch = (_from_run(cfg) if source == SOURCES[1] else _from_text()
                if source == SOURCES[2] else _from_zoo())
        if arch is None:
            return
        prof = profile(arch)
    except ValueError as err:
        st.error(f"Cannot build this architecture: {err}", icon=":material/error:")
        return
    try:
        info = latency_info.per_layer(arch)
    except Exception as err:  # a locked or foreign database must not take the page down
        info = latency_info.LayerLatency(None, None, f"could not read the lookup table: {err}")
    lat = info.per_layer
    m = st.columns(4)
    m[0].metric("Parameters", f"{prof['params'].sum() / 1e6:.2f} M")
    m[1].metric("MACs", f"{prof['macs'].sum() / 1e6:,.0f} M")
    m[2].metric("Predicted latency", f"{info.total_ms:.2f} ms" if info.total_ms else "—",
                help=info.note)
    m[3].metric("Input", f"{arch.resolution}x{arch.resolution}x{arch.in_chans}")
    st.plotly_chart(diagram.block_diagram(arch), key="insp_diagram")
    st.markdown(" ".join(f"<span style='background:{c};padding:2px 8px;border-radius:4px;"
                         f"border:1px solid #888;font-size:0.8em'>{n}</span>"
                         for n, c in diagram.legend_items()), unsafe_allow_html=True)
    st.code(arch.to_string(), language=None, wrap_lines=True)
    st.caption(f"Per-layer latency: {info.note}")
    # profile() leaves block/layer empty for stem/head/classifier: strings keep Arrow happy.
    table = prof.assign(block=prof["block"].astype(str), layer=prof["layer"].astype(str),
                        **({"predicted ms": lat.round(3).to_numpy()} if lat is not None else {}))
    # The whole width: beside the cost chart its last columns were off-screen at 1400 px.
    num, text = st.column_config.NumberColumn, st.column_config.TextColumn
    st.dataframe(table, hide_index=True, width="stretch", height=380, column_config={
        "kind": text("op"), "exp_ratio": num("exp_ratio", help="expansion ratio"),
        "se_ratio": num("se_ratio", help="squeeze-and-excitation ratio; 0 = no SE"),
        "in_chs": num("in channels"), "out_chs": num("out channels"),
        "in_res": num("in size", help="input side in pixels"),
        "out_res": num("out size", help="output side in pixels"),
        "params": num("params", format="compact"), "macs": num("MACs", format="compact")})
    st.plotly_chart(viz.layer_costs(prof, lat), key="insp_costs")
    c = st.columns([1, 1, 2])
    with c[0]:
        _export(arch)
    with c[1]:
        if st.button("Time it on a phone", icon=":material/smartphone:"):
            nav.handoff(phone.HANDOFF, arch.to_string(), phone.URL, "Phone")
