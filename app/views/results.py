"""Page 4: compare runs: Pareto fronts, hard vs soft latency histograms (the paper's Figure 6),
reward over time, and a filterable trial table with CSV download."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import analysis, nav, runs, widgets
from app.config import AppConfig
from app.views import compare, inspector
from mnas_core import fidelity, findings, viz
from mnas_core.arch import parse_arch
from mnas_core.pareto import hypervolume, pareto_mask, reference_latency
from mnas_core.store import TrialStatus

TABLE_COLUMNS = ["trial", "status", "accuracy", "latency_ms", "reward", "params", "macs",
                 "latency_source", "train_seconds", "total_seconds", "error", "arch"]
URL = "results"
KEEP = ("res_runs",)  # widgets whose values survive a visit to another page (app/main.py)


def _names(paths) -> dict:
    """Display names, unique even when two folders hold runs with the same name."""
    out = {}
    for p in paths:
        name = p.stem
        out[p] = name if name not in out.values() else f"{name} ({p.parent.name})"
    return out


def _summary(data: dict, targets: dict, ref_ms: float | None) -> pd.DataFrame:
    rows = []
    for name, df in data.items():
        ok = df[df["accuracy"].notna() & df["latency_ms"].notna()]
        rows.append({
            "run": name, "trials": len(df),
            "failed": int((df["status"] != TrialStatus.OK).sum()),
            "T (ms)": targets.get(name),
            "best accuracy %": round(100 * ok["accuracy"].max(), 2) if len(ok) else None,
            "best reward": round(ok["reward"].max(), 4) if len(ok) else None,
            "Pareto models": int(pareto_mask(ok["accuracy"], ok["latency_ms"]).sum()),
            "hypervolume": round(hypervolume(ok["accuracy"], ok["latency_ms"], ref_ms), 3)
            if ref_ms else None,
            "median latency ms": round(ok["latency_ms"].median(), 2) if len(ok) else None,
        })
    return pd.DataFrame(rows)


def _findings(searched: dict, targets: dict, points: dict) -> None:
    """The paper's findings on the picked runs (mnas_core.findings; the README and notebook 04
    compute the same). One-point runs (single-op and zoo networks) are Table 6's rows."""
    singles = {findings.point_name(n)[1]: d for n, d in points.items()}
    if not searched:
        return
    found = findings.run_findings(searched, {n: t for n, t in targets.items() if n in searched},
                                  singles, window=50)
    st.subheader("The paper's findings, measured on these runs")
    st.markdown("**Figure 6.** The hard constraint should pile its samples just under T; the "
                "soft one should spread them wider (a larger interquartile range).")
    st.dataframe(found["figure6"].drop(columns=["hypervolume (2T, 0)"]), hide_index=True,
                 width="stretch")
    st.markdown("**Why β = -0.07.** The paper: doubling latency brings about 5% relative "
                "accuracy. Fitted along each front (accuracy ∝ latency^slope), over each zoo "
                "family recorded here, and the same fit on published ImageNet / Pixel 1 "
                "results:")
    st.dataframe(pd.concat([found["tradeoff"], findings.family_tradeoffs(points),
                            findings.published_tradeoffs()]), hide_index=True, width="stretch")
    if "table6" in found:
        st.markdown("**Table 6.** Each single-op network (and each zoo network, trained and "
                    "timed the same way) against the most accurate searched model that is no "
                    "slower:")
        st.dataframe(found["table6"], hide_index=True, width="stretch")
    st.markdown("**Search vs random.** Mean reward per 50 trials: a controller that learns "
                "should rise where random search stays flat.")
    st.dataframe(found["reward_windows"], width="stretch")


def _verified(paths: dict) -> None:
    """Predicted runs that `mnas verify` checked: trained beside predicted top-1, per run."""
    checked = {}
    for name, path in paths.items():
        try:
            found = runs.verified(path)
        except ValueError:  # said by the run's own loading above
            continue
        if found is not None:
            checked[name] = found
    if not checked:
        return
    st.subheader("Predicted vs trained (mnas verify)")
    st.markdown("A predicted search ranks networks by what its predictor expects. `mnas verify "
                "RUN --top K` trains the K best with the real proxy training, on the task the "
                "predictor was fitted on: the predictor is only as good as this check says.")
    for name, (table, scores) in checked.items():
        st.plotly_chart(viz.verified_scatter(table, scores), key=f"res_ver_{name}")
        shown = table.assign(predicted=100 * table.predicted, trained=100 * table.trained,
                             difference=100 * table.difference)[
            ["trial", "predicted", "trained", "difference", "reward", "status", "error", "arch"]]
        st.dataframe(shown, hide_index=True, width="stretch", column_config={
            "predicted": st.column_config.NumberColumn("predicted top-1 %", format="%.2f"),
            "trained": st.column_config.NumberColumn("trained top-1 %", format="%.2f"),
            "difference": st.column_config.NumberColumn("trained - predicted (points)",
                                                        format="%+.2f"),
            "reward": st.column_config.NumberColumn("reward (predicted)", format="%.4f"),
            "arch": st.column_config.TextColumn("architecture (block string)")})
        st.caption(f"{name}: {len(table)} verified architecture(s), best reward first.")


def _fidelity(cfg: AppConfig) -> None:
    """The CIFAR-10 proxy-fidelity study recorded beside the sample runs (benchmarks/
    fidelity.py): which cheap budget ranks models as the long reference training does."""
    path = next((d / fidelity.RESULTS_FILE for d in cfg.sample_dirs
                 if (d / fidelity.RESULTS_FILE).is_file()), None)
    if path is None:
        return
    try:
        rows = runs.fidelity(path)
    except ValueError as err:
        st.error(f"Could not read the fidelity study: {err}", icon=":material/error:")
        return
    st.subheader("Which proxy budget ranks models? CIFAR-10, in progress")
    st.markdown(f"`{path.name}`: {fidelity.status(rows)}. Every model is trained under each "
                "cheap budget (two seeds) and once under a reference 8x longer; a budget is "
                "good when it orders models as the reference does (target: Spearman >= "
                f"{fidelity.MIN_REF_SPEARMAN} vs the reference, >= {fidelity.MIN_SEED_SPEARMAN} "
                "seed to seed) and the reference orders big models above small ones (Spearman "
                f"with MACs >= {fidelity.MIN_REF_MACS_SPEARMAN}). Until enough models are "
                "complete, read the figures as what they are: a few ranks.")
    st.plotly_chart(viz.fidelity_scatter(fidelity.accuracies(rows),
                                         [b.name for b in fidelity.CANDIDATES]),
                    key="res_fidelity")
    shown = fidelity.table(rows)
    if not shown.empty:
        # Formatted as text, so that the reference's own cells (it is not ranked against
        # itself) read "-": Streamlit draws a missing number as "None", Styler or not.
        formats = {"mean_top1": "{:.3f}", "seconds": "{:,.0f}"} | {
            c: "{:.2f}" for c in shown.columns if c.endswith(("spearman", "kendall"))}
        text = shown.assign(**{c: shown[c].map(lambda v, f=f: "-" if pd.isna(v) else f.format(v))
                               for c, f in formats.items()})
        st.dataframe(text, hide_index=True,
                     width="stretch", column_config={
                         "mean_top1": "mean top-1", "seed_spearman": "seed-to-seed ρ",
                         "ref_spearman": "ρ vs reference", "ref_kendall": "τ vs reference",
                         "macs_spearman": "ρ with MACs",
                         "latency_spearman": "ρ with latency",
                         "plain_spearman": st.column_config.Column(
                             "ρ with plain layers",
                             help="Spearman of top-1 with the count of layers without a "
                                  "shortcut"),
                         "seconds": "s per training (2 cores)"})
    st.markdown(f"**So far:** {fidelity.verdict(shown)}")


def _trial_table(data: dict, confs: dict, paths: dict) -> None:
    st.subheader("Trials")
    c = st.columns([1.2, 1.2, 1.6, 1])
    name = c[0].selectbox("Run", list(data), key="res_table_run")
    df = data[name]
    finished = [TrialStatus.OK.value, TrialStatus.FAILED.value]
    status = c[1].multiselect("Status", finished, default=finished, key="res_status")
    lat = df["latency_ms"].dropna()
    span = None
    if len(lat) and lat.max() > lat.min():
        lo, hi = float(lat.min()), float(lat.max())
        span = c[2].slider("Latency (ms)", lo, hi, (lo, hi), key=f"res_lat_{name}")
    min_acc = c[3].number_input("Min accuracy %", 0.0, 100.0, 0.0, step=1.0, key="res_acc")
    shown = analysis.filter_trials(df, status, None, span, min_acc / 100)
    cols = [col for col in TABLE_COLUMNS if col in shown]
    event = st.dataframe(
        shown[cols].sort_values("reward", ascending=False, na_position="last"),
        hide_index=True, width="stretch", height=360, on_select="rerun",
        selection_mode="single-row", key="res_table",
        column_config={"accuracy": st.column_config.NumberColumn("accuracy", format="percent"),
                       "latency_ms": st.column_config.NumberColumn("latency ms", format="%.2f"),
                       "reward": st.column_config.NumberColumn(format="%.4f"),
                       "params": st.column_config.NumberColumn(format="compact"),
                       "macs": st.column_config.NumberColumn("MACs", format="compact"),
                       "latency_source": st.column_config.TextColumn("latency from"),
                       "train_seconds": st.column_config.NumberColumn("training s",
                                                                      format="%.1f"),
                       "total_seconds": st.column_config.NumberColumn(
                           "total s", format="%.1f", help="latency timing + training"),
                       "error": st.column_config.TextColumn(width=60),
                       # Fixed so the table fits a 1400 px window; a block string is longer
                       # than any screen: the whole of it is in the CSV and the inspector.
                       "arch": st.column_config.TextColumn(
                           "architecture (block string)", width=210,
                           help="select the row and open it in the model inspector, or "
                                "download the CSV, for the whole string")})
    c = st.columns([1, 1, 1, 2], vertical_alignment="center")
    c[0].download_button("Download CSV", shown.to_csv(index=False), file_name=f"{name}.csv",
                         mime="text/csv", icon=":material/download:")
    rows = event.selection.rows if event is not None and hasattr(event, "selection") else []
    if rows:
        row = shown.sort_values("reward", ascending=False, na_position="last").iloc[rows[0]]
        if c[1].button("Open in the model inspector", icon=":material/memory:"):
            # as deployed: the network whose latency was timed
            arch = confs[name].latency.deployed(parse_arch(row["arch"]))
            nav.handoff(inspector.HANDOFF, arch.to_string(), inspector.URL, "Model inspector")
        if c[2].button("Add to the comparison", icon=":material/compare:",
                       key="res_compare"):
            st.toast(compare.add(compare.trial_entry(paths[name], row, confs[name])))
    else:
        c[1].caption("Select a row to inspect it or add it to the comparison.")
    c[3].caption(f"{len(shown):,} of {len(df):,} trials shown.")


def page(cfg: AppConfig) -> None:
    st.title("Results & comparison")
    st.markdown("Pick runs to compare. With a **hard** and a **soft** run side by side you get "
                "the paper's Figure 6. In the paper the hard constraint piled its samples up "
                "just under T while the soft one explored a much wider range of latencies; "
                "the histograms below show what your runs did.")
    paths = widgets.pick_runs(cfg, key="res_runs")
    if not paths:
        st.caption("Select at least one run above.")
        return
    names = _names(paths)
    data, targets, confs, where = {}, {}, {}, {}
    for p in paths:
        conf = widgets.load_config(p)
        df = None if conf is None else widgets.load_trials(p)
        if df is None:  # said inline; the other runs are still compared
            continue
        data[names[p]], confs[names[p]], where[names[p]] = df, conf, p
        if conf.reward.target_ms is not None:
            targets[names[p]] = conf.reward.target_ms
    if not data:
        return
    if all(df.empty for df in data.values()):
        st.info("These runs have no trials yet.", icon=":material/info:")
        return
    ref_ms = reference_latency(targets.values()) if targets else None
    st.dataframe(_summary(data, targets, ref_ms), hide_index=True, width="stretch")
    if ref_ms:
        st.caption(f"Hypervolume: area (accuracy x ms) dominated by each front, bounded by the "
                   f"reference point (latency 2T = {ref_ms:.2f} ms, accuracy 0), the one used "
                   "everywhere (README, notebooks, benchmarks); larger is better.")
    target = next(iter(targets.values()), None) if len(set(targets.values())) == 1 else None
    # A one-point run (`mnas space --of`: a single-op or zoo network) is a reference model,
    # not a search: a symbol on the fronts and a row of Table 6, not a front or a histogram.
    points = {n: d for n, d in data.items() if confs[n].space.size() == 1}
    searched = {n: d for n, d in data.items() if n not in points}
    st.plotly_chart(viz.pareto_overlay(searched, target, findings.reference_points(points)),
                    key="res_fronts")
    if searched:
        st.plotly_chart(viz.latency_histograms(searched, targets), key="res_hists")
        st.plotly_chart(viz.reward_over_time(searched), key="res_time")
    else:
        st.caption("Only reference networks are picked (one-point runs): add a search to see "
                   "where it sampled and how its reward rose.")
    _findings(searched, targets, points)
    _verified(where)
    _fidelity(cfg)
    st.divider()
    _trial_table(data, confs, where)
