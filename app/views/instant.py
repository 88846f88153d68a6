"""Instant search: a controller search of ~1,000 trials in seconds, drawn as it samples.

Accuracy comes from a predictor fitted on recorded trainings or from the ImageNet estimate
(mnas_core.accuracy), latency from the per-layer lookup table (mnas_core.latency.lut), so a
trial costs milliseconds instead of a training. What it shows is the paper's Figure 6 as it
forms: the hard constraint piles its samples just under T, the soft one spreads them; run
one preset, then the other next to it. The search is the real loop (mnas_core.search) in this
script, writing an ordinary run file (runs folder, `instant-*.db`; the newest KEEP_FILES are
kept), so the Results and Inspector pages can open it.

Its own page rather than a section of the Reward explorer: that page re-scores samples that
were drawn under another reward, and its sliders must answer at once; here pressing Run
draws new samples under the chosen reward and runs for seconds.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from app import runs
from app.config import REPO, AppConfig
from app.views import space as space_page
from mnas_core import findings, registry, viz, zoo
from mnas_core.reward import PRESETS, RewardConfig
from mnas_core.search import AccuracySetup, LatencySetup, SearchConfig, run_search, start_run
from mnas_core.space import SearchSpace
from mnas_core.viz import instant as charts

URL = "instant"
KEEP = ("in_acc", "in_predictor", "in_preset")  # widgets kept across pages (app/main.py)
RUNS = "instant_runs"   # session: {reward kind: Kept}, the runs shown side by side
DONE = "instant_done"   # session: what the last run did, said after its closing rerun
PREFIX = "instant-"
KEEP_FILES = 12         # instant run files kept in the runs folder (older ones are removed)
PERIOD_S = 0.5          # least time between two redraws while a search runs
TEXT_S = 0.1            # least time between two updates of the progress line
SHIPPED = REPO / "sample_runs" / "predictor_digits.json"
KINDS = ("hard", "soft", "custom")  # panel order (and colours) of the kept runs
ACCURACY = {"predicted": "predicted (a predictor fitted on recorded trainings)",
            "estimated": "estimated (ImageNet top-1 from published results)"}


@dataclass(frozen=True)
class Setup:
    """Everything of an instant search but its reward: two runs with one Setup differ only
    in the reward, so their histograms compare."""

    accuracy: str           # "predicted" | "estimated"
    predictor: str          # the predictor file ("" for estimated)
    strategy: str
    trials: int
    batch: int
    target_ms: float        # 0: MobileNetV2 1.0 on the lookup table, as the paper's T
    seed: int
    space: str              # SearchSpace JSON

    def config(self, reward: RewardConfig) -> SearchConfig:
        options = {"path": self.predictor} if self.accuracy == "predicted" else {}
        return SearchConfig(strategy=self.strategy, trials=self.trials, batch_size=self.batch,
                            reward=reward, latency=LatencySetup("predicted"),
                            accuracy=AccuracySetup(self.accuracy, options),
                            space=SearchSpace.from_json(self.space), executor="inprocess",
                            workers=1, seed=self.seed)


@dataclass(frozen=True)
class Kept:
    path: str
    setup: Setup
    reward: RewardConfig  # T resolved


# ------------------------------------------------------------------ sources and labels
def _predictors(cfg: AppConfig) -> list[Path]:
    found = {SHIPPED} if SHIPPED.exists() else set()
    for folder in cfg.run_folders():
        found |= set(Path(folder).glob("predictor*.json")) if Path(folder).is_dir() else set()
    return sorted(found, key=lambda p: (p != SHIPPED, str(p)))


def _accuracy_note(setup: Setup) -> str:
    """The source's own describe() line (ValueError when it cannot open)."""
    conf = setup.config(RewardConfig.preset("soft", 1.0))
    src = conf.accuracy.make_source(conf).open()
    try:
        return f"Accuracy {src.describe()}."
    finally:
        src.close()


def _latency_note(lut) -> str:
    from mnas_core.latency.db import layer_key
    from mnas_core.latency.lut import OVERHEAD_CONFIG

    info, cal = lut.timer.fingerprint_info(), lut.calibration()
    threads = info.get("threads", "?")
    n = sum(key != layer_key(OVERHEAD_CONFIG) for key in lut.table())  # layers only
    fixed = (f"corrected by a fit on {cal[2]} whole-network measurements" if cal else
             "raw layer sums, no correction fitted yet")
    return (f"Latency predicted, not measured: the per-layer lookup table of this CPU "
            f"({info.get('backend', '?')}, {threads} thread{'s' * (threads != 1)}; {n:,} layer "
            f"timings; {fixed}), for the network as deployed at 224x224.")


def _lut():
    return LatencySetup("predicted").make_source()


# ------------------------------------------------------------------ the lookup table
@st.cache_resource(show_spinner=False, max_entries=8)
def _cover(space_json: str) -> tuple:
    """lut.covering_archs of the space, as deployed; cached per process."""
    from mnas_core.latency.lut import covering_archs

    return tuple(covering_archs(SearchSpace.from_json(space_json), LatencySetup().deployed))


def _prepare_table(lut, setup: Setup, bar) -> str:
    """Time the layers the table lacks for this space (and MobileNetV2, for T = auto), with
    the progress and an ETA; fit the correction after a build. Returns what it did."""
    import numpy as np

    space, deploy = SearchSpace.from_json(setup.space), LatencySetup().deployed
    extra = [deploy(zoo.get("mobilenet_v2"))] if not setup.target_ms else []
    rng = np.random.default_rng(1)
    bar.progress(0.0, text="Checking that the latency lookup table covers the space...")
    if not lut.missing(extra + [deploy(space.sample(rng)) for _ in range(200)]):
        return ""
    bar.progress(0.0, text="Listing the space's layer configurations...")
    archs = extra + list(_cover(setup.space))
    total = len(lut.missing(archs))
    start, timed = time.monotonic(), 0
    for arch in archs:
        n = len(lut.missing([arch]))
        if not n:
            continue
        rate = timed / (time.monotonic() - start) if timed else 0.0
        eta = f" · about {(total - timed) / rate / 60:.1f} min left" if rate else ""
        bar.progress(timed / total, text=f"Building the latency lookup table (once per "
                                         f"machine, kept for every later search): layer "
                                         f"{timed + 1:,} of {total:,}{eta}")
        timed += lut.build([arch], progress=False)
    said = f"timed {timed:,} layers in {time.monotonic() - start:.0f} s"
    k = min(8, len(archs))
    if lut.calibration() is None and k >= 2:
        bar.progress(1.0, text=f"Fitting the table's correction: timing {k} whole networks...")
        lut.calibrate([archs[i] for i in lut.pick_calibration(archs, k)])
        said += f", correction fitted on {k} whole networks"
    return said


# ------------------------------------------------------------------ drawing
@dataclass
class Slots:
    hist: object
    band: object
    front: object
    reward: object


def _slots() -> Slots:
    hist, band = st.empty(), st.empty()
    left, right = st.columns(2)
    return Slots(hist, band, left.empty(), right.empty())


def _band(data: dict, targets: dict) -> pd.DataFrame:
    rows = [{"run": k, "T ms": targets[k], **findings.latency_band(df, targets[k])}
            for k, df in data.items()]
    return pd.DataFrame(rows)


def _draw(slots: Slots, data: dict, targets: dict, notes: tuple[str, str], key: str) -> None:
    """All live charts of the runs in `data` ({kind: trials}); `notes`: (accuracy, latency)."""
    acc, lat = notes
    target = next(iter(targets.values())) if len(set(targets.values())) == 1 else None
    slots.hist.plotly_chart(charts.live_histograms(
        data, targets, [lat], title="Latency of the sampled models (Figure 6, live)"),
        key=f"in_hist{key}")
    slots.band.dataframe(_band(data, targets), hide_index=True, width="stretch",
                         column_config={**{c: st.column_config.NumberColumn(format="percent")
                                           for c in ("in [0.8T, T]", "<= T")},
                                        **{c: st.column_config.NumberColumn(format="%.2f")
                                           for c in ("T ms", "latency IQR ms", "median ms")}})
    slots.front.plotly_chart(charts.fronts(data, target, [acc, lat]), key=f"in_front{key}")
    slots.reward.plotly_chart(charts.batch_rewards(data, [acc, lat]), key=f"in_reward{key}")


class Live:
    """run_search's progress object: the phase and an ETA on the bar (at most every TEXT_S)
    and, at most every PERIOD_S (and three times as long as a redraw takes, so drawing
    stays under a quarter of the run), the charts redrawn from the run file."""

    def __init__(self, store, total: int, batch: int, bar, redraw, pressed: float):
        self.store, self.total, self.batch, self.bar = store, total, batch, bar
        self.redraw = redraw
        self.pressed, self.started = pressed, None  # started: when the loop's first tick came
        self.done, self.shown, self.draws, self.first = 0, 0, 0, None
        self.said, self.last, self.period, self.postfix = 0.0, 0.0, PERIOD_S, ""

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.started is None:  # run_search ticks once (0) when its loop starts
            self.started = now
        if now - self.last >= self.period or self.done >= self.total:
            self.refresh()
        elif now - self.said >= TEXT_S:
            self.say()

    def set_postfix_str(self, text: str) -> None:
        self.postfix = text

    def say(self) -> None:
        spent = time.monotonic() - (self.started or time.monotonic())
        eta = (f" · about {spent / self.done * (self.total - self.done):.0f} s left"
               if self.done >= self.batch else "")  # after a whole batch: a fair rate
        self.bar.progress(min(self.done / self.total, 1.0),
                          text=f"Searching: {self.done:,} of {self.total:,} trials{eta}"
                               + (f" · last: {self.postfix}" if self.postfix else ""))
        self.said = time.monotonic()

    def refresh(self) -> None:
        t0 = time.monotonic()
        self.say()
        if self.store.count() > self.shown:  # finished trials reach the file in batches
            df = self.store.trials()
            self.draws += 1
            self.redraw(df, f"_{self.draws}")  # a new key: one id per element and run
            self.shown = len(df)
            if self.first is None:
                self.first = time.monotonic() - self.pressed
        self.last = time.monotonic()
        self.period = max(PERIOD_S, 3 * (self.last - t0))


# ------------------------------------------------------------------ running
def _new_path(folder: Path, kind: str, strategy: str) -> Path:
    stem = f"{PREFIX}{kind}-{strategy}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, i = folder / f"{stem}.db", 1
    while path.exists():
        i += 1
        path = folder / f"{stem}-{i}.db"
    return path


def _prune(folder: Path, keep: set[str]) -> None:
    """Remove all but the newest KEEP_FILES instant runs (never one on show)."""
    old = sorted(folder.glob(f"{PREFIX}*.db"), key=lambda p: p.stat().st_mtime)[:-KEEP_FILES]
    for path in old:
        if str(path) in keep:
            continue
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)


def _kept() -> dict[str, Kept]:
    """The runs on show, minus any whose file has gone."""
    kept = {k: v for k, v in st.session_state.get(RUNS, {}).items() if Path(v.path).exists()}
    st.session_state[RUNS] = kept
    return kept


def _run(cfg: AppConfig, setup: Setup, kind: str, alpha: float, beta: float, bar,
         slots: Slots) -> None:
    pressed = time.monotonic()
    kept = {k: v for k, v in _kept().items() if v.setup == setup and k != kind}
    lut = _lut()
    try:
        built = _prepare_table(lut, setup, bar)
        target = setup.target_ms or round(lut.latency(
            LatencySetup().deployed(zoo.get("mobilenet_v2"))).ms, 3)
        reward = RewardConfig(float(target), float(alpha), float(beta))
        notes = (_accuracy_note(setup), _latency_note(lut))
        cfg.runs_dir.mkdir(parents=True, exist_ok=True)
        path = _new_path(cfg.runs_dir, kind, setup.strategy)
        store = start_run(setup.config(reward), path, name=path.stem)
        others = {k: runs.trials(v.path) for k, v in kept.items()}
        targets = {**{k: v.reward.target_ms for k, v in kept.items()}, kind: reward.target_ms}

        def redraw(df, key):
            data = {k: ({**others, kind: df})[k] for k in KINDS if k in others or k == kind}
            _draw(slots, data, targets, notes, key)

        if others:  # the runs beside it at once, while the controller starts
            redraw(store.trials(), "_0")
        bar.progress(0.0, text="Starting the controller (the first search after the app "
                               "starts also loads torch's optimiser code)...")
        live = Live(store, setup.trials, setup.batch, bar, redraw, pressed)
        try:
            run_search(store, progress=live, source=lut)  # its controller on one thread
            live.refresh()
        finally:
            store.close()
    finally:
        lut.timer.close()
    st.session_state[RUNS] = {**kept, kind: Kept(str(path), setup, reward)}
    _prune(cfg.runs_dir, {v.path for v in st.session_state[RUNS].values()})
    runs.forget_run_list()
    spent = time.monotonic() - (live.started or pressed)
    st.session_state[DONE] = (
        f"**{kind}**: {setup.trials:,} trials in {spent:.1f} s "
        f"({1000 * spent / setup.trials:.1f} ms per trial); the first samples were on screen "
        f"{live.first or 0:.1f} s after Run" + (f" ({built} first)" if built else "")
        + f". Saved as `{path.name}` in `{cfg.runs_dir}`: open it on Results & comparison.")


# ------------------------------------------------------------------ the page
def _controls(cfg: AppConfig) -> tuple[Setup | None, str, float, float, bool]:
    """The settings; returns (setup, reward kind, alpha, beta, Run pressed)."""
    c = st.columns([2, 1])
    acc = c[0].radio("Accuracy", list(ACCURACY), format_func=ACCURACY.get, key="in_acc",
                     horizontal=True, help=registry.ACCURACY_SOURCES.describe())
    preset = c[1].radio("Reward", ("soft", "hard", "custom"), key="in_preset", horizontal=True,
                        help="hard: α = 0, β = -1; soft: α = β = -0.07; custom: your own")
    predictor = ""
    if acc == "predicted":
        files = _predictors(cfg)
        if not files:
            st.error(f"No predictor file: {SHIPPED} is missing (`mnas predictor fit RUN... "
                     f"-o FILE` makes one).", icon=":material/error:")
            return None, preset, 0.0, 0.0, False
        predictor = str(st.selectbox("Predictor", files, key="in_predictor",
                                     format_func=lambda p: Path(p).name)
                        if len(files) > 1 else files[0])
    shown = PRESETS.get(preset, (-0.07, -0.07))
    edited = st.session_state.get(space_page.SPACE)
    with st.form("instant_form", border=False):
        c = st.columns(4)
        strategies = list(registry.STRATEGIES.names())
        strategy = c[0].selectbox("Strategy", strategies, strategies.index("ppo"),
                                  help=registry.STRATEGIES.describe())
        trials = c[1].number_input("Trials", 1, 100_000, 1000, step=100)
        batch = c[2].number_input("Batch (models per controller step)", 1, 1024, 64)
        seed = c[3].number_input("Seed", 0, 2**31 - 1, 0)
        c = st.columns(4)
        target = c[0].number_input("Target T in ms (0 = auto)", 0.0, 10_000.0, 0.0, step=0.5,
                                   help="auto: MobileNetV2's latency on the lookup table, "
                                        "as the paper's T = 75 ms was MobileNetV2's")
        alpha = c[1].number_input(f"α ({preset})", -2.0, 1.0, shown[0], step=0.01,
                                  disabled=preset != "custom")
        beta = c[2].number_input(f"β ({preset})", -2.0, 0.0, shown[1], step=0.01,
                                 disabled=preset != "custom")
        use_edited = c[3].toggle("Use the edited space", value=edited is not None,
                                 disabled=edited is None,
                                 help="the space edited on the Search space page (default: "
                                      "the paper's)")
        pressed = st.form_submit_button("Run", type="primary", icon=":material/bolt:")
    if preset == "soft":
        st.caption("Under soft, α = β: T scales every reward by the same factor, so it cannot "
                   "change what the controller prefers (it still marks T on the charts); "
                   "under hard it is the wall the samples pile up against.")
    alpha, beta = (alpha, beta) if preset == "custom" else shown
    space = edited if use_edited and edited is not None else SearchSpace()
    setup = Setup(acc, predictor, strategy, int(trials), int(batch), float(target), int(seed),
                  space.to_json())
    return setup, preset, float(alpha), float(beta), pressed


def page(cfg: AppConfig) -> None:
    st.title("Instant search")
    st.caption("A search whose accuracy is predicted (or estimated) and whose latency comes "
               "from the lookup table, so 1,000 trials take seconds: watch where the "
               "controller samples as it learns. Run one reward, then the other next to it, "
               "for the paper's Figure 6 (hard piles its samples just under T, soft spreads "
               "them). Nothing here is a measurement; every chart says what it rests on.")
    setup, kind, alpha, beta, pressed = _controls(cfg)
    kept = _kept()
    action = (setup, kind, alpha, beta) if pressed and setup is not None else None
    pair = next(iter(kept.values()), None)
    missing = [k for k in ("hard", "soft") if pair and k not in kept]
    if missing:
        c = st.columns(len(missing) + 2)
        for i, other in enumerate(missing):
            if c[i].button(f"Run {other} next to it", icon=":material/compare:",
                           help="the same settings as the runs shown, with this reward"):
                action = (pair.setup, other, *PRESETS[other])
    bar = st.empty()
    if DONE in st.session_state and action is None:
        st.success(st.session_state[DONE], icon=":material/bolt:")
    slots = _slots()
    if action is not None:
        st.session_state.pop(DONE, None)
        try:
            _run(cfg, *action, bar, slots)
        except ValueError as err:
            st.error(f"Could not run the instant search: {err}", icon=":material/error:")
            return
        st.rerun()
    if not kept:
        slots.hist.info("Press **Run**: the charts fill in as the controller samples. The "
                        "first search on a new machine builds the latency lookup table "
                        "first (each layer configuration of the space timed once, with its "
                        "progress shown here).", icon=":material/info:")
        return
    _show(cfg, kept, slots)


def _show(cfg: AppConfig, kept: dict[str, Kept], slots: Slots) -> None:
    """The runs on show, from their files, with Figure 6 once there are two."""
    lut = _lut()
    try:
        notes = (_accuracy_note(next(iter(kept.values())).setup), _latency_note(lut))
    except ValueError as err:
        st.error(f"Cannot label these runs: {err}", icon=":material/error:")
        return
    finally:
        lut.timer.close()
    data = {k: runs.trials(kept[k].path) for k in KINDS if k in kept}
    targets = {k: kept[k].reward.target_ms for k in data}
    _draw(slots, data, targets, notes, "")
    if len(data) > 1:
        with st.expander("The paper's Figure 6: sampled models, Pareto front and latency "
                         "histogram per run", expanded=True):
            st.plotly_chart(charts.predicted_label(viz.figure6(data, targets), notes,
                                                   width=130), key="in_fig6")
    st.caption("Runs on show: " + ", ".join(f"{k}: `{Path(v.path).name}`"
                                            for k, v in kept.items())
               + f" (in `{cfg.runs_dir}`; the newest {KEEP_FILES} instant runs are kept).")
