"""Page 3: start a search in its own process and watch it live. The search writes to a run
store file, so this page can be closed and reopened, and several runs watched in turn."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from app import analysis, diagram, nav, runs, search_form
from app.config import AppConfig
from app.views import inspector, space
from mnas_core import fidelity, findings, registry, viz
from mnas_core.arch import parse_arch
from mnas_core.background import resume_search, spawn_search, stop_search
from mnas_core.reward import PRESETS
from mnas_core.search import SearchConfig
from mnas_core.space import SearchSpace
from mnas_core.store import RunStatus, TrialStatus

URL = "search"
KEEP = ()  # its widgets need not survive a visit elsewhere (the watched run is kept itself)
# What benchmarks/quick_demo.py measured for the quick demo on this project's 2-core machine.
QUICK_DEMO_MEASURED = ("Measured on this project's 2-core machine: its first result 21 s after "
                       "the click, the default search's 70 s (benchmarks/quick_demo.py).")
LIVE = (RunStatus.CREATED, RunStatus.RUNNING)  # statuses that keep the page refreshing
# Material icons (rendered by Streamlit itself; emoji need fonts a machine may lack).
STATUS_ICON = {RunStatus.CREATED: ":material/hourglass_top:",
               RunStatus.RUNNING: ":green[:material/play_circle:]",
               RunStatus.FINISHED: ":blue[:material/check_circle:]",
               RunStatus.STOPPED: ":orange[:material/pause_circle:]",
               RunStatus.FAILED: ":red[:material/error:]"}


def _form(cfg: AppConfig) -> None:
    edited = st.session_state.get(space.SPACE)
    # Outside the form as well, so that the budget fields and the time per model follow it.
    dataset = st.selectbox("Dataset", search_form.DATASETS, accept_new_options=True,
                           key="sf_dataset", help=registry.DATASETS.describe() + "; or type "
                           "folder:PATH (a class-folder tree, one with train/ and val/ or "
                           "test/, or its .tar.gz)")
    try:
        d = search_form.defaults(dataset=str(dataset).strip())
    except ValueError as err:  # a typed name that is no dataset
        st.error(str(err), icon=":material/error:")
        return
    # Outside the form, so that picking a preset shows its exponents at once (a form's widgets
    # only report on submit); α and β are editable for a custom reward only.
    presets = ["soft", "hard", "custom"]
    preset = st.radio("Reward", presets, presets.index(d.preset), horizontal=True,
                      key="sf_preset", help="soft: α = β = -0.07; hard: α = 0, β = -1; "
                                            "custom: your own α and β below")
    shown = PRESETS.get(preset, (d.alpha, d.beta))
    with st.form("search_form", border=False):
        st.markdown("**What to search**")
        c = st.columns(4)
        name = c[0].text_input("Run name", placeholder="automatic: strategy-reward-date",
                               help="saved as NAME.db in the runs folder")
        strategy = c[1].selectbox("Strategy", search_form.STRATEGIES,
                                  help=registry.STRATEGIES.describe())
        trials = c[2].number_input("Trials", 1, 100_000, d.trials)
        batch = c[3].number_input("Batch (models per controller step)", 1, 256, d.batch_size)
        st.markdown("**Proxy task**: each candidate trains briefly on this data; its "
                    "validation accuracy is ACC(m)")
        c = st.columns(4)
        data_path = c[0].text_input(
            "CIFAR archive or folder", placeholder="empty: download once",
            disabled=d.dataset not in search_form.CIFAR,
            help="the official cifar-10-python.tar.gz (or its extracted folder) you have")
        subset = c[1].number_input("Training images (0 = all)", 0, 1_000_000, d.subset,
                                   step=100)
        epochs = c[2].number_input("Epochs per candidate", 0.1, 100.0, d.epochs, step=0.5)
        workers = c[3].number_input("Workers", 1, 64, d.workers,
                                    help="parallel training processes on this machine")
        _budget_note(cfg, d)
        st.markdown("**Reward and latency** (latency is measured on the model as deployed: "
                    "224x224, 1000 classes, as in the paper)")
        c = st.columns(4)
        target = c[0].number_input("Target T in ms (0 = auto)", 0.0, 10_000.0, d.target_ms,
                                   step=0.5, help="auto: MobileNetV2's latency on the chosen "
                                                  "source, as the paper's T = 75 ms was "
                                                  "MobileNetV2's on its phone")
        custom = preset == "custom"
        alpha = c[1].number_input(f"α ({preset})", -2.0, 1.0, shown[0], step=0.01,
                                  disabled=not custom)
        beta = c[2].number_input(f"β ({preset})", -2.0, 0.0, shown[1], step=0.01,
                                 disabled=not custom)
        source = c[3].selectbox("Latency source", search_form.LATENCY_SOURCES,
                                help=registry.LATENCY_SOURCES.describe())
        c = st.columns([1, 3], vertical_alignment="bottom")
        seed = c[0].number_input("Seed", 0, 2**31 - 1, d.seed)
        use_edited = c[1].toggle("Use the space edited on the Search space page",
                                 value=edited is not None, disabled=edited is None)
        c = st.columns([1, 1, 4], vertical_alignment="center")
        submitted = c[0].form_submit_button("Start search", type="primary",
                                            icon=":material/play_arrow:")
        estimating = c[1].form_submit_button("Estimate time", icon=":material/timer:",
                                             help="a probe training and a latency timing with "
                                                  "these settings, scaled to the whole run")
    if not (submitted or estimating):
        return
    values = search_form.FormValues(
        name=name.strip() or search_form.default_name(strategy, preset), dataset=d.dataset,
        data_path=data_path if d.dataset in search_form.CIFAR else "",
        subset=int(subset), epochs=float(epochs),
        strategy=strategy, trials=int(trials), batch_size=int(batch),
        target_ms=float(target), preset=preset, alpha=float(alpha), beta=float(beta),
        latency_source=source, workers=int(workers), seed=int(seed))
    if estimating:
        _estimate(values, edited if use_edited else SearchSpace())
        return
    _start(cfg, values.name, lambda: search_form.build_config(
        values, edited if use_edited else SearchSpace()))


def _start(cfg: AppConfig, name: str, make_config) -> None:
    """Start the search `make_config()` returns as runs_dir/NAME.db and watch it."""
    # Said at once: creating the run file opens its accuracy source (digits: a first import of
    # scikit-learn, ~3 s), and the search's own phase line follows only after the rerun.
    st.markdown("**Now:** starting the search: checking its settings, creating its run file")
    try:
        path = search_form.run_path(cfg.runs_dir, name)
        config = make_config()
        cfg.runs_dir.mkdir(parents=True, exist_ok=True)
        pid = spawn_search(config, path)
    except (ValueError, OSError) as err:
        st.error(f"Could not start the search: {err}", icon=":material/error:")
        return
    st.session_state["search_watch"] = str(path)
    runs.forget_run_list()
    st.toast(f"Search {path.stem} started (process {pid}).", icon=":material/rocket_launch:")
    st.rerun()


def _quick_demo(cfg: AppConfig) -> None:
    q = search_form.QUICK_DEMO
    c = st.columns([1, 4], vertical_alignment="center")
    c[1].caption(f"The default search at a classroom budget: {q['trials']} trials in batches "
                 f"of {q['batch_size']}, {q['subset']} digits images, {q['epochs']:g} epochs "
                 f"each. {QUICK_DEMO_MEASURED}")
    if c[0].button("Quick demo", icon=":material/bolt:", key="search_quick",
                   type="primary"):
        name = search_form.default_name("demo", "soft")
        _start(cfg, name, lambda: search_form.quick_demo_config(name, SearchSpace()))


def _estimate(values: search_form.FormValues, space: SearchSpace) -> None:
    from mnas_core.estimate import estimate  # imported on use: it trains a probe model

    try:
        config = search_form.build_config(values, space)
        with st.spinner("Measuring: loading the data, a probe training, a latency timing..."):
            found = estimate(config)
    except (ValueError, RuntimeError, OSError) as err:
        st.error(f"Could not estimate: {err}", icon=":material/error:")
        return
    st.info(f"Estimated on this machine: {found.summary()}.", icon=":material/timer:")


def _budget_note(cfg: AppConfig, d: search_form.FormValues) -> None:
    """Before Start, what the chosen dataset's proxy task is worth: digits' missing size
    signal, or real data's budget with its measured time per model and the study's verdict."""
    if d.dataset == "digits":
        _digits_note(cfg)
        return
    rows = _study(cfg)
    data, train = fidelity.proxy_task(d.dataset)
    here = fidelity.this_host()
    measured = fidelity.proxy_seconds(rows or [], here)
    run = (f" The default {d.trials} trials: about {d.trials * measured[0] / 3600:.1f} h of "
           f"training on {measured[2]}, latency timing on top; **Estimate time** measures "
           "both with your settings here." if measured else "")
    st.caption(f"{fidelity.proxy_note(data, train, rows, here)}{run} Results page: the study.")


def _digits_note(cfg: AppConfig) -> None:
    """Say what digits can and cannot teach, measured on the recorded random search."""
    listed = runs.list_runs(cfg.sample_dirs)
    found = None
    if not listed.empty:  # the largest recorded random search on digits
        rnd = listed[listed["strategy"] == "random"].sort_values("n_trials", ascending=False)
        for path in rnd["path"]:
            try:
                on_digits = runs.config(path).dataset.name == "digits"
            except ValueError:  # a run this version cannot read has no figure to give
                continue
            if on_digits:
                found = findings.size_signal(runs.trials(path))
                break
    measured = (f" (Spearman of accuracy with latency {found[0]:.2f} over the {found[1]} "
                "models of the recorded random search)" if found else "")
    st.caption("digits is the offline demo of the mechanics: on it a big network is hardly "
               f"more accurate than a small one{measured}, so searches drift to the smallest "
               "networks. For accuracy that is real, pick CIFAR-10 or your own images "
               "(`folder:PATH`: a class-folder tree, one with train/ and val/ or test/, or "
               "its .tar.gz) above: it shows their budget and time per model.")


def _study(cfg: AppConfig) -> list[dict] | None:
    """The recorded fidelity study's trainings; None without a readable one."""
    for d in cfg.sample_dirs:
        path = d / fidelity.RESULTS_FILE
        if path.is_file():
            try:
                return runs.fidelity(path)
            except ValueError:  # the Results page names the damage
                return None
    return None


def _own_runs(cfg: AppConfig) -> pd.DataFrame:
    """Runs started from this app (the runs folder); recorded samples live on Results."""
    return runs.list_runs([cfg.runs_dir]) if cfg.runs_dir.is_dir() else pd.DataFrame()


def _best(df: pd.DataFrame, conf: SearchConfig, key: str) -> None:
    best = analysis.best_row(df)
    if best is None:
        return
    arch = conf.latency.deployed(parse_arch(best["arch"]))
    st.markdown(f"**Best so far: trial {int(best['trial'])}** · {100 * best['accuracy']:.2f}% "
                f"accuracy · {best['latency_ms']:.2f} ms · reward {best['reward']:.4f} "
                f"· shown as deployed ({arch.resolution}x{arch.resolution}, the network whose "
                "latency was measured)")
    st.plotly_chart(diagram.block_diagram(arch), key=f"{key}_best")
    if st.button("Open in the model inspector", key=f"{key}_inspect", icon=":material/memory:"):
        nav.handoff(inspector.HANDOFF, arch.to_string(), inspector.URL, "Model inspector")


def _log_tail(path: Path, lines: int = 25) -> str | None:
    log = path.with_suffix(".log")  # where mnas_core.background.spawn_search sends output
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return None


def _buttons(slot, path: Path, status: str, done: int, total: int) -> None:
    if status in LIVE:
        if slot.button("Stop", icon=":material/stop:", key="search_stop", width="stretch"):
            stop_search(path)
            st.toast("Asked the search to stop; trials in flight are lost, the rest are kept.")
    elif status in (RunStatus.STOPPED, RunStatus.FAILED) and done < total:
        if slot.button("Resume", icon=":material/play_arrow:", key="search_resume",
                       width="stretch", type="primary"):
            try:
                resume_search(path)
            except (ValueError, OSError) as err:
                st.error(f"Could not resume: {err}", icon=":material/error:")
                return
            st.rerun(scope="app")


def _reap(pid) -> None:
    """Collect the exit status of a search this app process started and that has ended:
    until then it is a zombie, which still looks alive, so the run would read 'running'.
    waitpid on one pid never touches processes that are not this process's children."""
    try:
        os.waitpid(int(pid), os.WNOHANG)
    except (ChildProcessError, ValueError, TypeError, OSError):
        pass


def phase_line(meta: dict, done: int, total: int, now: float) -> str:
    """What a live search is doing (the phase its loop records) and when it should end: the
    time per finished trial so far times the trials left (none before the first one)."""
    phase = meta.get("phase") or "starting the search process"
    start = float(meta["created_at"]) if meta.get("created_at") is not None else now
    since = now - (float(meta["phase_at"]) if meta.get("phase_at") is not None else start)
    spent = now - start
    eta = (f"about {_duration(spent / done * (total - done))} left "
           f"({_duration(spent / done)} per trial so far)" if done
           else "the time left shows once the first trial finishes")
    return f"**Now:** {phase} ({_duration(since)} ago) · {eta}"


def _duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def _live(cfg: AppConfig, path: Path, was_live: bool) -> None:
    try:
        _reap(runs.meta(path).get("pid"))
        meta, conf, df = runs.meta(path), runs.config(path), runs.trials(path)
    except ValueError as err:  # the file may be mid-creation; say so and try again next tick
        st.warning(f"Cannot read {path.name} yet: {err}", icon=":material/hourglass_top:")
        return
    status = meta.get("status", "?")
    if (status in LIVE) != was_live:
        st.rerun(scope="app")  # start or stop the refresh timer
    total, done, reward = conf.trials, len(df), conf.reward
    c = st.columns([4, 1], vertical_alignment="center")
    c[0].markdown(f"#### {STATUS_ICON.get(status, '')} {path.stem} · {status}")
    _buttons(c[1], path, status, done, total)
    if status == RunStatus.CREATED and time.time() - float(meta.get("created_at") or 0) > 120:
        st.warning("The search process has not started after 2 minutes; see its log below.",
                   icon=":material/warning:")
    elapsed = float(meta.get("updated_at") or time.time()) - float(meta.get("created_at") or 0)
    in_flight = int(meta.get("n_pending") or 0) if status in LIVE else 0
    if status in LIVE:
        st.markdown(phase_line(meta, done, total, time.time()))
    st.progress(min(done / total, 1.0) if total else 0.0,
                text=f"{done} / {total} trials · {in_flight} in flight · "
                     f"{int(meta.get('n_failed') or 0)} failed · {conf.strategy} · "
                     f"{reward.kind} reward, "
                     + (f"T = {reward.target_ms:g} ms" if reward.target_ms
                        else "T being measured (MobileNetV2's latency)")
                     + f" · {elapsed / 60:.1f} min")
    target = reward.target_ms
    if df.empty:
        st.info("Waiting for the first batch: each model is timed, then trained on the proxy "
                "task; points appear here as trials finish.", icon=":material/hourglass_top:")
    else:
        left, right = st.columns([1.5, 1])
        with left:
            st.plotly_chart(viz.pareto_scatter(df, target, "Accuracy vs latency (live)"),
                            key="search_pareto")
        with right:
            st.plotly_chart(viz.latency_histogram(df, target), key="search_hist")
        _best(df, conf, "search")
    failed = df[df["status"] != TrialStatus.OK]
    if len(failed):
        with st.expander(f"{len(failed)} failed trial(s)"):
            st.dataframe(failed[["trial", "arch", "error"]], hide_index=True, width="stretch")
    log = _log_tail(path)
    if log:
        with st.expander("Search log (last lines)", expanded=status == RunStatus.FAILED):
            st.code(log, language=None)


def page(cfg: AppConfig) -> None:
    st.title("Run a search")
    df = _own_runs(cfg)
    any_running = not df.empty and df["status"].isin(LIVE).any()
    _quick_demo(cfg)
    with st.expander("New search", expanded=not any_running, icon=":material/add_circle:"):
        _form(cfg)
    if df.empty:
        st.info(f"No searches in `{cfg.runs_dir}` yet: fill in the form above and press "
                "**Start search**. Each trial times a model, then trains it briefly; the charts "
                "fill in as trials finish. Recorded runs are on **Results & comparison**.",
                icon=":material/info:")
        return
    # Name, strategy and reward only: status and progress are live below, not frozen here.
    labels = {row["path"]: " · ".join(runs.run_label(row).split(" · ")[:3])
              for _, row in df.iterrows()}
    watch = st.session_state.get("search_watch")
    index = list(labels).index(watch) if watch in labels else 0
    path = Path(st.selectbox("Watch", list(labels), index=index, format_func=labels.get))
    st.session_state["search_watch"] = str(path)
    try:
        live = runs.meta(path).get("status") in LIVE
    except Exception:
        live = True  # unreadable for now (being created): keep refreshing
    st.fragment(_live, run_every=cfg.refresh_s if live else None)(cfg, path, live)
