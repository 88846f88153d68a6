"""Page: 2-4 models side by side (mnas_core.compare): figures with where each came from, the
reward under a chosen alpha/beta/T, blocks aligned with the differing choices marked, block
diagrams, cost per block, and a CSV of it all. Models come from the zoo, from any run's trials
here, or from the Results page ("Add to the comparison")."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app import diagram, latency_info, widgets
from app.config import AppConfig
from mnas_core import compare, viz, zoo
from mnas_core.arch import parse_arch
from mnas_core.reward import PRESETS, RewardConfig

URL = "compare"
PICKED = "cmp_models"  # session state: the models in the comparison, as plain dicts
KEPT = "cmp_keep"      # the multiselect of the models shown (clearing one removes it)
KEEP = ("cmp_from", "cmp_zoo", "cmp_run", "cmp_preset", "cmp_target", "cmp_by")
FROM = ("Trial of a run", "Zoo model")
HIGHLIGHT = "background-color: #FFF3C4"  # a block whose choices differ between the models
PNG = {"toImageButtonOptions": {"format": "png", "filename": "comparison", "scale": 2}}


def trial_entry(path: Path, row, conf) -> dict:
    """A trial of a run as the comparison keeps it: deployed (as its latency was timed),
    with its recorded figures and how each was obtained."""
    source = row.get("accuracy_source")
    if isinstance(source, str) and source != "trained":
        how = f"{source} (not a measurement)"
    else:
        budget = row.get("train_budget")
        words = compare.budget_words(budget if isinstance(budget, str) else None)
        how = f"proxy training on {conf.dataset.name}" + (f", {words}" if words else "")
    ok = pd.notna(row["accuracy"]) and pd.notna(row["latency_ms"])
    return {"label": f"{path.stem} #{int(row['trial'])}",
            "arch": conf.latency.deployed(parse_arch(row["arch"])).to_string(),
            "accuracy": float(row["accuracy"]) if ok else None, "accuracy_how": how,
            "latency_ms": float(row["latency_ms"]) if ok else None,
            "latency_how": f"{conf.latency.source} at {conf.latency.resolution}px",
            "target_ms": conf.reward.target_ms}


def zoo_entry(name: str) -> dict:
    pub = compare.published(name)
    return {"label": name, "arch": zoo.get(name).to_string(),
            "accuracy": pub["top1"] / 100 if pub else None,
            "accuracy_how": "published ImageNet top-1" if pub else "not recorded",
            "latency_ms": None,
            "latency_how": f"not timed here (Pixel 1: {pub['pixel1_ms']:g} ms)"
            if pub else "not timed here", "target_ms": None}


def add(entry: dict) -> str:
    """Put `entry` in the comparison (at most compare.MAX_MODELS; one copy of each label);
    returns what happened, in words."""
    picked = st.session_state.setdefault(PICKED, [])
    if any(e["label"] == entry["label"] for e in picked):
        return f"{entry['label']} is already in the comparison."
    if len(picked) >= compare.MAX_MODELS:
        return f"The comparison holds {compare.MAX_MODELS} models; remove one first."
    picked.append(entry)
    # The "In the comparison" multiselect keeps its own value as options change: show the
    # new model there too (this runs before that widget is drawn, or on another page).
    st.session_state[KEPT] = [e["label"] for e in picked]
    return f"Added {entry['label']} to the comparison."


def _adder(cfg: AppConfig) -> None:
    st.session_state.setdefault("cmp_from", FROM[0])
    c = st.columns([1.2, 3, 1], vertical_alignment="bottom")
    kind = c[0].segmented_control("Add a model from", FROM, key="cmp_from")
    entry = None
    if kind == FROM[1]:
        name = c[1].selectbox("Zoo model", zoo.names(), key="cmp_zoo")
        entry = zoo_entry(name)
    else:
        with c[1]:
            path = widgets.pick_run(cfg, key="cmp_run", largest_first=True)
        conf = widgets.load_config(path) if path else None
        df = widgets.load_trials(path) if conf else None
        if df is not None and not df.empty:
            df = df.sort_values("reward", ascending=False, na_position="last").head(1000)
            labels = {int(r.trial): f"#{int(r.trial)} · reward {r.reward:.4f}"
                      for r in df.itertuples() if pd.notna(r.reward)}
            trial = c[1].selectbox("Trial (best reward first)", list(labels),
                                   format_func=labels.get, key="cmp_trial")
            if trial is not None:
                entry = trial_entry(path, df[df.trial == trial].iloc[0], conf)
    if c[2].button("Add", icon=":material/add:", disabled=entry is None, key="cmp_add"):
        st.toast(add(entry))


def _reward(picked: list[dict]) -> RewardConfig:
    c = st.columns([1, 1, 3], vertical_alignment="bottom")
    preset = c[0].selectbox("Reward", list(PRESETS), key="cmp_preset",
                            help="the reward the models are scored by (eq. 2)")
    run_t = next((e["target_ms"] for e in picked if e.get("target_ms")), None)
    st.session_state.setdefault("cmp_target", float(run_t or 10.0))
    t = c[1].number_input("T (ms)", 0.01, 10_000.0, key="cmp_target", step=0.5,
                          help="default: the T of the first run a model came from")
    alpha, beta = PRESETS[preset]
    c[2].caption(f"α = {alpha:g}, β = {beta:g}: reward = ACC(m) · (LAT(m)/T)^w from the "
                 "recorded accuracy and latency; a zoo model has no latency timed here, so no "
                 "reward.")
    return RewardConfig(float(t), alpha, beta)


def _per_layer(arch) -> latency_info.LayerLatency:
    try:
        return latency_info.per_layer(arch)
    except Exception as err:  # a locked or foreign database must not take the page down
        return latency_info.LayerLatency(None, None, f"could not read the lookup table: {err}")


def _aligned(table: pd.DataFrame, differs: pd.DataFrame) -> None:
    st.markdown("**Blocks, aligned.** Highlighted: a block whose choices (op, exp_ratio, "
                "kernel, SE, skip, layers, filters) are not the same in every model.")
    styled = table.style.apply(lambda col: [HIGHLIGHT if d else "" for d in differs[col.name]])
    st.dataframe(styled, width="stretch")


def page(cfg: AppConfig) -> None:
    st.title("Compare models")
    st.markdown("Put 2-4 models side by side: from any run here, the zoo, or the Results "
                "page's **Add to the comparison**.")
    _adder(cfg)
    picked = st.session_state.setdefault(PICKED, [])
    if not picked:
        st.info("No models yet: add two or more above.", icon=":material/info:")
        return
    st.session_state.setdefault(KEPT, [e["label"] for e in picked])
    keep = st.multiselect("In the comparison", [e["label"] for e in picked], key=KEPT,
                          help="remove a model by clearing it here")
    picked[:] = [e for e in picked if e["label"] in keep]
    if not picked:
        return
    entries = [compare.Entry(e["label"], parse_arch(e["arch"]), e["accuracy"],
                             e["accuracy_how"], e["latency_ms"], e["latency_how"])
               for e in picked]
    rcfg = _reward(picked)
    lat = [_per_layer(e.arch) for e in entries]
    table = compare.summary(entries, rcfg, [info.total_ms for info in lat])
    st.dataframe(compare.side_by_side(table), width="stretch")
    sources = sorted({p["source"] for e in entries if (p := compare.published(e.label))})
    notes = "; ".join(dict.fromkeys(info.note for info in lat))  # once each, in order
    st.caption(f"Predicted latency: {notes}." + "".join(
        f" Published figures: {s} (ImageNet top-1, Pixel 1 at 224)." for s in sources))
    aligned, differs = compare.blocks(entries)
    _aligned(aligned, differs)
    with st.expander("Block diagrams", expanded=len(entries) <= 2):
        for e in entries:
            st.plotly_chart(diagram.block_diagram(e.arch, title=e.label),
                            key=f"cmp_diag_{e.label}", config=PNG)
    st.session_state.setdefault("cmp_by", "block")
    by = st.segmented_control("Cost per", ("block", "layer"), key="cmp_by") or "block"
    costs = compare.block_costs(entries, [info.per_layer for info in lat], by=by)
    st.plotly_chart(viz.compare_costs(costs), key="cmp_costs", config=PNG)
    c = st.columns([1, 3], vertical_alignment="center")
    c[0].download_button("Download CSV", compare.to_csv(table, aligned, entries),
                         file_name="comparison.csv", mime="text/csv",
                         icon=":material/download:", key="cmp_csv")
    c[1].caption("PNG: the camera icon on each chart. The CSV holds the table (rewards "
                 f"under α = {rcfg.alpha:g}, β = {rcfg.beta:g}, T = {rcfg.target_ms:g} ms), "
                 "the aligned blocks and each model's block string.")
