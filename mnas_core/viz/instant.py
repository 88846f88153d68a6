"""Charts of an instant search: accuracy from a predictor or an estimate (mnas_core.accuracy)
and latency from the per-layer lookup table (mnas_core.latency.lut), so a search of 1,000
trials takes seconds and the charts can follow the controller as it learns.

None of those numbers is a measurement, so every chart here carries the sources' own
descriptions (`predicted_label`): a screenshot or a downloaded PNG says what it shows. The
latency histograms share one x range as well as one bin width, so hard and soft compare bin
for bin and the range is the same on every panel (the paper's Figure 6)."""
from __future__ import annotations

import textwrap
from typing import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .style import empty_figure, layout, run_color, shared_bins, successful
from .trials import latency_histograms, pareto_overlay

NOTE_COLOR = "#666"
LINE_PX = 16  # height of one subtitle line at its font size (12 px)


def predicted_label(fig: go.Figure, notes: Iterable[str], width: int = 110) -> go.Figure:
    """Write `notes` (one line per source, as its describe() says it) under the title,
    wrapped at `width` characters, and make room for them above the legend."""
    lines = [line for note in notes if note for line in textwrap.wrap(note, width,
                                                                    break_on_hyphens=False)]
    if not lines:
        return fig
    top = fig.layout.margin.t if fig.layout.margin.t is not None else 80
    fig.update_layout(title_subtitle=dict(text="<br>".join(lines),
                                          font=dict(size=12, color=NOTE_COLOR)),
                      margin_t=top + LINE_PX * len(lines),
                      height=(fig.layout.height or 380) + LINE_PX * len(lines))
    if not fig.layout.title.text:  # a subtitle shows only under a title
        fig.update_layout(title_text="Predicted, not measured")
    return fig


def shared_range(latency_ms: pd.Series, targets: Iterable[float | None] = (),
                 pad: float = 0.04) -> list[float]:
    """One x range for every latency panel: all the samples and every T, padded a little,
    so T is always on the chart and no panel rescales on its own."""
    values = [float(v) for v in latency_ms.dropna()] + [float(t) for t in targets if t]
    lo, hi = min(values), max(values)
    span = max(hi - lo, 1e-3 * max(abs(hi), 1.0))
    return [lo - pad * span, hi + pad * span]


def live_histograms(runs: dict[str, pd.DataFrame], targets: dict[str, float],
                    notes: Iterable[str] = (), title: str | None = None) -> go.Figure:
    """Side-by-side latency histograms of the runs (hard and soft: Figure 6's bottom row)
    on one shared x range and bin width, T dashed on each, labelled with `notes`."""
    fig = latency_histograms(runs, targets)
    timed = [df["latency_ms"] for df in runs.values() if df["latency_ms"].notna().any()]
    if not timed:
        return fig
    shown = [t for name, t in targets.items() if name in runs]
    fig.update_xaxes(range=shared_range(pd.concat(timed), shown))
    # The counts' range too: with a fixed x range, plotly.js (7.1 here) left the shared y
    # axis at its empty-axis default [-1, 4] and cut the bars off.
    bins = shared_bins(pd.concat(timed).dropna())
    edges = bins["start"] + bins["size"] * np.arange(
        int(np.ceil((bins["end"] - bins["start"]) / bins["size"])) + 2)
    tallest = max(int(np.histogram(t.dropna(), edges)[0].max()) for t in timed)
    fig.update_yaxes(range=[0, 1.08 * tallest])
    if title:
        fig.update_layout(title_text=title)
    return predicted_label(fig, notes, width=130)


def batch_means(df: pd.DataFrame) -> pd.DataFrame:
    """Mean reward of each batch's successful trials, with the trials done by its end:
    columns batch, trials, mean_reward, models (successful trials in the batch)."""
    ok = successful(df)
    ok = ok[ok["reward"].notna()]
    if ok.empty or "batch" not in ok:
        return pd.DataFrame(columns=["batch", "trials", "mean_reward", "models"])
    g = ok.groupby("batch")
    done = df.groupby("batch")["trial"].size().cumsum()  # all finished trials, failed too
    out = pd.DataFrame({"mean_reward": g["reward"].mean(), "models": g["reward"].size()})
    out["trials"] = done.reindex(out.index).to_numpy()
    return out.reset_index()[["batch", "trials", "mean_reward", "models"]]


def batch_rewards(runs: dict[str, pd.DataFrame], notes: Iterable[str] = (),
                  title: str = "Mean reward per batch") -> go.Figure:
    """Mean reward of each controller batch against trials done, one line per run: a
    controller that learns climbs, random search stays flat."""
    fig = go.Figure()
    for i, (name, df) in enumerate(runs.items()):
        m = batch_means(df)
        if m.empty:
            continue
        fig.add_trace(go.Scatter(
            x=m["trials"], y=m["mean_reward"], mode="lines+markers", name=name,
            line=dict(color=run_color(i), width=2), marker=dict(size=5),
            customdata=np.stack([m["batch"], m["models"]], axis=-1),
            hovertemplate="batch %{customdata[0]} (%{customdata[1]} models): mean reward "
                          "%{y:.4f}<extra>" + name + "</extra>"))
    if not fig.data:
        return empty_figure("No rewards yet")
    fig.update_xaxes(title="trials done")
    fig.update_yaxes(title="mean reward of the batch")
    return predicted_label(layout(fig, title, height=360), notes, width=66)


def fronts(runs: dict[str, pd.DataFrame], target_ms: float | None,
           notes: Iterable[str] = (), title: str = "Pareto fronts") -> go.Figure:
    """Each run's sampled models (faint) and Pareto front, T dashed, labelled."""
    fig = pareto_overlay(runs, target_ms, title=title)
    if not any(successful(df).shape[0] for df in runs.values()):
        return fig
    fig.update_layout(height=400)
    return predicted_label(fig, notes, width=66)


def verified_scatter(table: pd.DataFrame, scores: dict, title: str | None = None) -> go.Figure:
    """Trained against predicted top-1 of the architectures `mnas verify` trained (`table`
    and `scores` as mnas_core.verify.recorded returns them), with the diagonal y = x: points
    above it trained better than predicted. The title states the agreement."""
    ok = table[table["status"] == "ok"]
    if ok.empty:
        return empty_figure("No verified trainings yet: mnas verify RUN --top K")
    x, y = 100 * ok["predicted"].astype(float), 100 * ok["trained"].astype(float)
    lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    pad = max(hi - lo, 1.0) * 0.05
    fig = go.Figure([
        go.Scatter(x=[lo - pad, hi + pad], y=[lo - pad, hi + pad], mode="lines",
                   name="trained = predicted", line=dict(color="#999", dash="dot", width=1),
                   hoverinfo="skip"),
        go.Scatter(x=x, y=y, mode="markers", name="verified models",
                   marker=dict(color=run_color(0), size=9),
                   customdata=np.stack([ok["trial"], ok["arch"]], axis=-1),
                   hovertemplate="trial %{customdata[0]}: predicted %{x:.2f}%, trained "
                                 "%{y:.2f}%<br>%{customdata[1]}<extra></extra>")])
    fmt = lambda v, f: "n/a" if v is None else format(v, f)  # noqa: E731 (None below 2)
    said = (f"{len(ok)} models: Spearman {fmt(scores.get('spearman'), '.2f')}, Kendall "
            f"{fmt(scores.get('kendall'), '.2f')}, MAE {fmt(_points(scores.get('mae')), '.2f')} "
            "points")
    fig.update_xaxes(title="predicted top-1 (%)", range=[lo - pad, hi + pad])
    fig.update_yaxes(title="trained top-1 (%), mnas verify", range=[lo - pad, hi + pad])
    return layout(fig, title or f"Predicted vs trained: {said}", height=400)


def _points(mae: float | None) -> float | None:
    return None if mae is None else 100 * mae
