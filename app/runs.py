"""Cached reads of run stores (mnas_core.store) for the pages.

Reads are cached with st.cache_data keyed on the file's modification stamp (the database and
its WAL file), so a finished run is read once, while a running search, whose WAL grows with
every trial, is re-read as soon as it changes.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from mnas_core import store as run_store
from mnas_core.reward import RewardConfig

if TYPE_CHECKING:
    from mnas_core.search import SearchConfig

def stamp(path: str | Path) -> tuple:
    """Changes whenever the run file (or its write-ahead log) changes."""
    out = []
    for p in (Path(path), Path(f"{path}-wal")):
        try:
            s = p.stat()
            out.append((s.st_mtime_ns, s.st_size))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


@st.cache_data(show_spinner=False, max_entries=64)
def _trials(path: str, version: tuple) -> pd.DataFrame:
    return run_store.read_trials(path)


@st.cache_data(show_spinner=False, max_entries=64)
def _config(path: str, version: tuple) -> SearchConfig:
    from mnas_core.search import load_config  # imported on use: it loads torch
    return load_config(path)


def trials(path) -> pd.DataFrame:
    return _trials(str(path), stamp(path))


@st.cache_data(show_spinner=False, max_entries=64)
def _verified(path: str, version: tuple) -> tuple[pd.DataFrame, dict] | None:
    from mnas_core import verify
    return verify.recorded(path, _trials(path, version))


def verified(path) -> tuple[pd.DataFrame, dict] | None:
    """What `mnas verify` recorded in the run (mnas_core.verify.recorded), read once per
    change of the file, from the same cached trials as the page's charts."""
    return _verified(str(path), stamp(path))


@st.cache_data(show_spinner=False, max_entries=8)
def _fidelity(path: str, version: tuple) -> list[dict]:
    from mnas_core.fidelity import read_results
    return read_results(path)


def fidelity(path) -> list[dict]:
    """The trainings of a fidelity-study results file (mnas_core.fidelity.read_results), read
    once per change: the study appends to it as it goes. ValueError for a damaged file."""
    return _fidelity(str(path), stamp(path))


def config(path) -> SearchConfig:
    """The run's config, typed (mnas_core.search.load_config); ValueError naming the file and
    the field for one this version cannot read. Its reward's T is None until a run with
    T = auto has measured it."""
    return _config(str(path), stamp(path))


def meta(path) -> dict:
    """Not cached: a run's status also depends on whether its process is still alive, which
    the file's stamp does not show (a killed search leaves the file untouched)."""
    return run_store.read_meta(path)


@st.cache_data(show_spinner=False, ttl=2)
def _list(folders: tuple[str, ...]) -> pd.DataFrame:
    existing = [f for f in folders if Path(f).is_dir()]
    if not existing:
        return pd.DataFrame()
    return run_store.list_runs(*existing)


def forget_run_list() -> None:
    """Drop the cached listing (a run was just created, so it shows at once)."""
    _list.clear()


def list_runs(folders) -> pd.DataFrame:
    """One row per run file in `folders` (see mnas_core.store.list_runs), newest first; empty
    when there is none. A short TTL lets new runs appear without a restart."""
    df = _list(tuple(str(f) for f in folders))
    if not df.empty and "created_at" in df:
        df = df.sort_values("created_at", ascending=False, kind="stable")
    return df.reset_index(drop=True)


def run_label(row) -> str:
    """'name · strategy · hard/soft · 300 trials · status' for pickers (a list_runs row),
    with the accuracy source when a training did not measure it ('predicted accuracy')."""
    try:
        kind = RewardConfig(None, float(row["alpha"]), float(row["beta"])).kind
    except (ValueError, TypeError, KeyError):  # list_runs leaves them empty when unreadable
        kind = "?"
    source = row.get("accuracy")
    said = f" · {source} accuracy" if isinstance(source, str) and source != "trained" else ""
    return (f"{row['name']} · {row.get('strategy', '?')} · {kind}{said} · "
            f"{int(row.get('n_trials', 0) or 0)} trials · {row.get('status', '?')}")
