"""Page 6: time a model on a USB- or TCP-connected Android phone (mnas_core.phone), and compare
stored phone figures with host measurements and lookup-table predictions of the same models."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app.config import AppConfig
from mnas_core import phone as ph
from mnas_core import viz, zoo
from mnas_core.arch import parse_arch

URL = "phone"
HANDOFF = "phone_arch"  # other pages send a block string here (nav.handoff)
# Widgets whose values survive a visit to another page (app/main.py).
KEEP = ("ph_how", "ph_host", "ph_port", "ph_runner")


def _connection():
    """The connection settings from the form (kept in session state across reruns)."""
    c = st.columns([1, 2, 1, 2])
    how = c[0].radio("Connect over", ["USB", "TCP"], key="ph_how", horizontal=True)
    host = c[1].text_input("Phone IP (TCP)", key="ph_host", placeholder="192.168.1.23",
                           disabled=how == "USB",
                           help="after `adb tcpip 5555` on the USB-connected phone")
    port = c[2].number_input("Port", 1, 65535, 5555, key="ph_port", disabled=how == "USB")
    runner = c[3].text_input("executor_runner on this computer (optional)", key="ph_runner",
                             help="an Android build of ExecuTorch's executor_runner; pushed to "
                                  "the phone when it is not there yet (docs/phone.md)")
    if how == "TCP" and not host.strip():
        return None, None
    connect = ph.ConnectConfig(host=host.strip() or None, port=int(port)) if how == "TCP" \
        else ph.ConnectConfig()
    return connect, (runner.strip() or None)


def _device(connect) -> None:
    if st.button("Connect and read device info", icon=":material/usb:", disabled=connect is None):
        with st.spinner(f"Connecting to {connect.address} (tap Allow on the phone if asked)..."):
            try:
                with ph.AdbPhone(connect).connect() as phone:
                    info = ph.read_device_info(phone)
                    thermal = ph.read_thermal(phone, info)
                st.session_state["ph_info"] = (info, thermal)
            except (ph.PhoneError, ValueError, OSError) as err:
                st.session_state.pop("ph_info", None)
                st.error(f"Could not reach the phone: {err}", icon=":material/error:")
    got = st.session_state.get("ph_info")
    if got:
        info, thermal = got
        st.success(info.describe(), icon=":material/smartphone:")
        m = st.columns(3)
        m[0].metric("Big cores", ", ".join(map(str, info.big_cores())))
        m[1].metric("Thermal status", "unknown" if thermal.status is None else thermal.status,
                    help="0 = not throttling")
        m[2].metric("Hottest zone", f"{thermal.max_temp_c:.1f} °C" if thermal.max_temp_c
                    else "unknown")


def _model():
    sent = st.session_state.get(HANDOFF)
    options = (["Sent from the inspector"] if sent else []) + zoo.names()
    choice = st.selectbox("Model (at 224x224, 1000 classes unless the inspector said "
                          "otherwise)", options, key="ph_model")
    if choice == "Sent from the inspector":
        st.code(sent, language=None, wrap_lines=True)
        return parse_arch(sent)
    return zoo.get(choice)


def _time(connect, runner, arch) -> None:
    c = st.columns(3)
    runs = c[0].number_input("Timed runs", 1, 500, 30, key="ph_runs")
    threads = c[1].number_input("Threads", 1, 8, 1, key="ph_threads",
                                help="the paper used one big core")
    cool = c[2].number_input("Cool-down before timing (s)", 0, 600, 0, key="ph_cool")
    answered = "ph_info" in st.session_state  # a phone answered "Connect" this session
    if not st.button("Time it on the phone", type="primary", icon=":material/timer:",
                     disabled=connect is None or not answered,
                     help=None if answered else "connect a phone first (above)"):
        return
    try:
        run = ph.RunConfig(runs=int(runs), threads=int(threads), runner_local=runner,
                           cooldown_s=float(cool))
        with st.spinner("Exporting the .pte, pushing it and timing it on the phone..."), \
                ph.PhoneLatency(ph.PhoneConfig(connect=connect, run=run)) as source:
            result, timing = source.record(arch)
    except (ph.PhoneError, ValueError, OSError) as err:
        st.error(f"Timing failed: {err}", icon=":material/error:")
        return
    m = st.columns(4)
    m[0].metric("Median", f"{result.ms:.2f} ms")
    m[1].metric("p10 / p90", f"{result.p10:.2f} / {result.p90:.2f} ms")
    m[2].metric("CV", f"{100 * (result.cv or 0):.1f} %")
    m[3].metric("Runs", result.runs)
    for w in timing.warnings:
        st.warning(w, icon=":material/device_thermostat:")
    if timing.times_ms:
        st.plotly_chart(viz.run_times(timing.times_ms), key="ph_runs_fig")


def history_table(db_path: Path) -> pd.DataFrame:
    """Every stored phone figure beside the host measurement and prediction of the same
    architecture string (empty cells where that source never timed it)."""
    from mnas_core.latency import LatencyDB
    with LatencyDB(db_path) as db:
        rows = pd.DataFrame(db.measurements())
    if rows.empty or not (rows["source"] == "phone").any():
        return pd.DataFrame()
    wide = rows.pivot_table(index="arch", columns="source", values="ms", aggfunc="median")
    wide = wide[wide["phone"].notna()].reset_index()
    wide.columns.name = None
    return wide.rename(columns={"phone": "phone ms", "measured": "host ms",
                                "predicted": "predicted ms"})


def page(cfg: AppConfig) -> None:
    st.title("Phone")
    st.markdown("The paper timed every model on a Pixel 1's big core. Plug in an Android phone "
                "with USB debugging on (or use `adb tcpip 5555` for Wi-Fi) to time models on "
                "it with ExecuTorch's `executor_runner`.")
    if "ph_info" not in st.session_state:
        st.info("No phone connected. Connect one below to read its cores and temperature and "
                "time models on it. Without a phone you can still pick a model and see the "
                "phone figures stored so far beside this computer's (the history at the "
                "bottom), or time models on this CPU in the Model inspector.",
                icon=":material/smartphone:")
    connect, runner = _connection()
    _device(connect)
    st.divider()
    arch = _model()
    _time(connect, runner, arch)
    st.divider()
    st.subheader("History: phone vs host vs prediction")
    from mnas_core.latency import default_db_path
    path = default_db_path()
    table = history_table(path) if path.is_file() else pd.DataFrame()
    if table.empty:
        st.info("No phone measurements stored yet. Time a model above (or run `mnas phone "
                "time ARCH`); each figure is kept in the latency database next to the host's.",
                icon=":material/info:")
    else:
        st.dataframe(table, hide_index=True, width="stretch")
