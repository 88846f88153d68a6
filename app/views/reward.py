"""Page 2: the reward of eq. 2-3, its presets, the beta derivation, and re-ranking a run."""
from __future__ import annotations

import time
import warnings

import streamlit as st

from app import analysis, runs, widgets
from app.config import AppConfig
from app.views import compare
from mnas_core import viz
from mnas_core.reward import PRESETS, RewardConfig, beta_from_tradeoff

URL = "reward"
# Widgets whose values survive a visit to another page (app/main.py).
KEEP = ("rw_T", "rw_alpha", "rw_beta", "rw_k", "rw_r", "rw_run")
# Target latencies offered on the slider: log-spaced so 2 ms and 200 ms are both easy to set.
T_STEPS = tuple(float(t) for t in (0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25,
                                   30, 40, 50, 60, 75, 90, 100, 120, 150, 200, 250, 300, 400,
                                   500))


def _set(alpha: float, beta: float, target: float | None = None) -> None:
    st.session_state["rw_alpha"], st.session_state["rw_beta"] = alpha, beta
    if target is not None:
        st.session_state["rw_T"] = target


def _run_target(path) -> float | None:
    try:
        return runs.config(path).reward.target_ms
    except ValueError:  # unreadable run: keep the current T (the page says why below)
        return None


def _follow_run() -> None:
    """A newly picked run brings its own T, so re-ranking starts on its scale."""
    target = _run_target(st.session_state.get("rw_run"))
    if target:
        st.session_state["rw_T"] = float(target)


def _controls(app: AppConfig) -> RewardConfig | None:
    st.session_state.setdefault("rw_alpha", PRESETS["soft"][0])
    st.session_state.setdefault("rw_beta", PRESETS["soft"][1])
    if "rw_T" not in st.session_state:  # the paper's 75 ms, or the newest run's T
        listed = runs.list_runs(app.run_folders())
        first = listed["path"].iloc[0] if len(listed) else None
        st.session_state["rw_T"] = float((first and _run_target(first)) or 75.0)
    st.session_state["rw_T"] = float(st.session_state["rw_T"])
    # A run's own T (10.545 ms) joins the steps and stays: had it left the options as soon as
    # the slider moved off it, the options (part of the widget's identity) would change and a
    # held arrow key never settled (benchmarks/slider.py).
    extra = st.session_state.setdefault("rw_T_extra", set())
    extra.add(st.session_state["rw_T"])
    steps = tuple(sorted({*T_STEPS, *extra}))
    b = st.columns([1, 1, 2], vertical_alignment="center")
    b[0].button("Hard constraint", on_click=_set, args=PRESETS["hard"], width="stretch",
                help="α = 0, β = -1: no reward for beating T, a steep penalty above it")
    b[1].button("Soft constraint", on_click=_set, args=PRESETS["soft"], width="stretch",
                help="α = β = -0.07: latency always trades off smoothly against accuracy")
    c = st.columns(3)
    target = c[0].select_slider("Target latency T (ms)", steps, key="rw_T")
    alpha = c[1].slider("α (exponent when LAT ≤ T)", -1.0, 0.5, step=0.01, key="rw_alpha")
    beta = c[2].slider("β (exponent when LAT > T)", -2.0, 0.0, step=0.01, key="rw_beta")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cfg = RewardConfig(float(target), float(alpha), float(beta))
        except ValueError as err:
            st.error(str(err), icon=":material/error:")
            return None
    for w in caught:
        st.warning(str(w.message), icon=":material/warning:")
    if cfg.alpha == cfg.beta:
        c[0].caption("With α = β, T scales every reward by the same factor T^-β, so it "
                     "cannot change the ranking; it matters when α ≠ β (the hard preset).")
    b[2].markdown(f"Current: **{cfg.kind}** reward · α = {cfg.alpha:g}, β = {cfg.beta:g}, "
                  f"T = {cfg.target_ms:g} ms")
    return cfg


def _derivation() -> None:
    with st.container(border=True):
        st.markdown("**Where −0.07 comes from.** Pick how much more accuracy a model *k* "
                    "times slower must have to be worth it.")
        c = st.columns(2)
        k = c[0].number_input("latency factor k", 1.01, 100.0, 2.0, step=0.5, key="rw_k")
        r = c[1].number_input("relative accuracy gain r (%)", 0.1, 100.0, 5.0, step=0.5,
                              key="rw_r")
        try:
            d = beta_from_tradeoff(float(k), float(r) / 100)
        except ValueError as err:
            st.error(str(err), icon=":material/error:")
            return
        st.code(d.working, language=None, wrap_lines=True)
        st.button(f"Use α = β = {d.beta:.2f}", on_click=_set, args=(round(d.beta, 2),
                                                                     round(d.beta, 2)))


def _rerank(app: AppConfig, cfg: RewardConfig) -> None:
    st.subheader("Re-rank a recorded run")
    path = widgets.pick_run(app, key="rw_run", label="Recorded run", on_change=_follow_run,
                            largest_first=True)
    if path is None:
        return
    df = widgets.load_trials(path)
    if df is None:
        return
    conf = widgets.load_config(path)
    if conf is None:
        return
    recorded = conf.reward
    if recorded.target_ms is not None:
        st.caption(f"Recorded with α = {recorded.alpha:g}, β = {recorded.beta:g}, "
                   f"T = {recorded.target_ms:g} ms ({recorded.kind}).")
        st.button("Start from the run's own reward", key="rw_from_run", on_click=_set,
                  args=(recorded.alpha, recorded.beta, recorded.target_ms))
    t0 = time.perf_counter()
    try:
        ranked = analysis.rerank(df, cfg)
    except ValueError as err:
        st.error(f"Cannot re-score this run: {err}", icon=":material/error:")
        return
    if ranked.empty:
        st.info("This run has no successful trials yet.", icon=":material/info:")
        return
    elapsed = 1000 * (time.perf_counter() - t0)
    now, before = ranked.iloc[0], ranked.sort_values("rank_before").iloc[0]
    m = st.columns(3)
    m[0].metric("Winner now", f"trial {int(now['trial'])}",
                f"{100 * now['accuracy']:.2f}% at {now['latency_ms']:.2f} ms", delta_color="off",
                delta_arrow="off", border=True)
    m[1].metric("Winner as recorded", f"trial {int(before['trial'])}",
                f"{100 * before['accuracy']:.2f}% at {before['latency_ms']:.2f} ms",
                delta_color="off", delta_arrow="off", border=True)
    top10 = ranked.head(10)
    stayed = int((top10["rank_before"] <= 10).sum())
    m[2].metric("Top 10 kept", f"{stayed} of {len(top10)}", "still in the top 10",
                delta_color="off", delta_arrow="off", border=True)
    left, right = st.columns([1.3, 1])
    with left:
        # Pixel widths: with "small" the change column fell off the table at 1400 px.
        def num(px, label=None, **kw):
            return st.column_config.NumberColumn(label, width=px, **kw)
        event = st.dataframe(analysis.top_table(ranked), hide_index=True, width="stretch",
                             on_select="rerun", selection_mode="multi-row", key="rw_top",
                             column_config={"rank": num(48), "trial": num(56),
                                            "accuracy %": num(84), "latency ms": num(82),
                                            "reward now": num(86),
                                            "recorded rank": num(
                                                46, "was",
                                                help="rank under the recorded reward"),
                                            "change": st.column_config.TextColumn(width=64)})
        rows = event.selection.rows if event is not None and hasattr(event, "selection") else []
        c = st.columns([1.4, 2], vertical_alignment="center")
        if c[0].button("Add to the comparison", icon=":material/compare:", key="rw_compare",
                       disabled=not rows, help="select rows of the table first"):
            for i in rows:
                st.toast(compare.add(compare.trial_entry(path, ranked.iloc[i], conf)))
        c[1].caption(f"Re-scored {len(ranked):,} trials in {elapsed:.0f} ms. Select rows to "
                     "add them to Compare models.")
    with right:
        st.plotly_chart(viz.rank_slope(ranked), key="rw_slope")
    shown = df.assign(reward=ranked["reward_now"].reindex(df.index))
    st.plotly_chart(viz.pareto_scatter(shown, cfg.target_ms, "Trials coloured by the new "
                                       "reward (ringed: its top 10; star: its winner)",
                                       marked=10), key="rw_pareto")


def page(app: AppConfig) -> None:
    st.title("Reward explorer")
    st.latex(r"R(m) = ACC(m)\cdot\left[\frac{LAT(m)}{T}\right]^{w},\qquad "
             r"w=\begin{cases}\alpha & LAT(m)\le T\\ \beta & \text{otherwise}\end{cases}")
    # Not a fragment: benchmarks/slider.py measured one no faster for a single move, and with
    # it a held arrow key queued one rerun per press (20 presses: 14 s instead of ~7 s).
    cfg = _controls(app)
    if cfg is None:
        return
    left, right = st.columns([2, 1])
    with left:
        other = RewardConfig(cfg.target_ms, *PRESETS["hard" if cfg.kind == "soft" else "soft"])
        st.plotly_chart(viz.reward_curves(cfg, compare=other), key="rw_curves")
        st.caption("Dotted: the other preset, for comparison (the paper's Figure 3).")
    with right:
        _derivation()
    st.divider()
    _rerank(app, cfg)
