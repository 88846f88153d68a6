"""Widgets shared by several pages: run pickers with their empty states."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app import runs
from app.config import AppConfig

NO_RUNS = ("No runs found in {folders}. Start one on the **Run a search** page (it is saved "
           "there as a `.db` file), or run `mnas search --out runs/NAME.db` in a terminal.")


def available_runs(cfg: AppConfig) -> pd.DataFrame | None:
    """The run list, or None after explaining why there is nothing to pick from."""
    try:
        df = runs.list_runs(cfg.run_folders())
    except Exception as err:  # a corrupt file in a folder must not take the page down
        st.error(f"Could not list runs: {err}", icon=":material/error:")
        return None
    if df.empty:
        folders = ", ".join(f"`{f}`" for f in cfg.run_folders())
        st.info(NO_RUNS.format(folders=folders), icon=":material/info:")
        return None
    return df


def pick_run(cfg: AppConfig, key: str, label: str = "Run", on_change=None,
             largest_first: bool = False) -> Path | None:
    """A run picker, newest run first (or the one with the most trials: a page that re-ranks
    should not open on a one-model single-op run)."""
    df = available_runs(cfg)
    if df is None:
        return None
    labels = {row["path"]: runs.run_label(row) for _, row in df.iterrows()}
    first = 0
    if largest_first:  # by position: the list may come sorted (newest first)
        first = list(df.index).index(_trained_first(df)["n_trials"].fillna(0).idxmax())
    path = st.selectbox(label, list(labels), index=first, format_func=labels.get, key=key,
                        on_change=on_change)
    return Path(path) if path else None


def _trained_first(df: pd.DataFrame) -> pd.DataFrame:
    """The runs whose accuracy a training measured, if there are any, else all of them: a
    page should open on measured figures, not on a predicted search that happens to be big."""
    trained = df[df["accuracy"] == "trained"] if "accuracy" in df else df
    return trained if len(trained) else df


def default_comparison(df: pd.DataFrame) -> list[str]:
    """A hard and a soft run when there are both (the paper's Figure 6), else the newest two.
    The pair shares a strategy where it can and has the most trials (not, say, a one-model
    single-op run that happens to use the soft reward)."""
    df = _trained_first(df)
    by_size = df.sort_values("n_trials", ascending=False, kind="stable") \
        if "n_trials" in df else df
    hard = by_size[(by_size["alpha"] == 0) & (by_size["beta"] == -1)]
    soft = by_size[(by_size["alpha"] == by_size["beta"]) & (by_size["alpha"] < 0)]
    if len(hard) and len(soft):
        first = hard.iloc[0]
        same = soft[soft["strategy"] == first["strategy"]] if "strategy" in soft else soft
        return [first["path"], (same if len(same) else soft)["path"].iloc[0]]
    return df["path"].head(2).tolist()


def pick_runs(cfg: AppConfig, key: str) -> list[Path]:
    df = available_runs(cfg)
    if df is None:
        return []
    labels = {row["path"]: runs.run_label(row) for _, row in df.iterrows()}
    chosen = st.multiselect("Runs", list(labels), default=default_comparison(df),
                            format_func=labels.get, key=key)
    return [Path(p) for p in chosen]


def load_config(path: Path):
    """A run's typed config (app.runs.config), or None after an inline error naming the file
    and the field this version cannot read."""
    try:
        return runs.config(path)
    except ValueError as err:
        st.error(f"Cannot use this run: {err}", icon=":material/error:")
        return None


def load_trials(path: Path) -> pd.DataFrame | None:
    """A run's trials, or None after an inline error (a run being written is still readable;
    a broken file is reported, not raised)."""
    try:
        return runs.trials(path)
    except Exception as err:
        st.error(f"Could not read {path.name}: {err}", icon=":material/error:")
        return None
