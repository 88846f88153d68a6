"""Charts of a run's trials: accuracy vs latency with the Pareto front, latency histograms
(the paper's Figure 6, hard vs soft constraint), reward and latency over the search. Each takes
trial tables as mnas_core.store.read_trials returns them (columns trial, accuracy, latency_ms,
reward) and returns a plotly figure."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import (REWARD_SCALE, WEBGL_ABOVE, empty_figure, fit_pareto_axes, front_line,
                    layout, run_color, shared_bins, successful, target_line)

REFERENCE_SYMBOLS = ("x", "diamond", "square", "cross", "star", "triangle-up", "circle")


def _scatter(n: int):
    return go.Scattergl if n > WEBGL_ABOVE else go.Scatter


def pareto_scatter(df: pd.DataFrame, target_ms: float | None = None,
                   title: str = "Accuracy vs latency", marked: int = 0) -> go.Figure:
    """Every successful trial (colour = reward) with the Pareto front and the target T;
    `marked` > 0 also rings the top trials by reward and stars the winner (after a
    re-ranking: where the new reward's choices lie)."""
    ok = successful(df)
    if ok.empty:
        return empty_figure("No finished trials yet")
    pts = _distinct(ok)
    repeated = pts["samples"] > 1
    size = 7 if len(pts) < 500 else 5
    fig = go.Figure(_scatter(len(pts))(
        x=pts["latency_ms"], y=100 * pts["accuracy"], mode="markers", name="trials",
        customdata=np.stack([pts["trial"], pts["reward"], pts["samples"]], axis=-1),
        hovertemplate="trial %{customdata[0]} (sampled %{customdata[2]}x)<br>accuracy "
                      "%{y:.2f}%<br>latency %{x:.2f} ms<br>reward %{customdata[1]:.4f}"
                      "<extra></extra>",
        # A model sampled again is one point, drawn larger: a converged controller repeats.
        marker=dict(size=np.where(repeated, size + np.minimum(2 * np.log2(pts["samples"]), 10),
                                  size), color=pts["reward"], colorscale=REWARD_SCALE,
                    opacity=0.85, colorbar=dict(title="reward", thickness=12),
                    line=dict(width=0.5, color="white") if len(pts) < 500 else None)))
    fx, fy = front_line(ok)
    fig.add_trace(go.Scatter(x=fx, y=fy, mode="lines+markers", name="Pareto front",
                             line=dict(color="#222", width=1.5, shape="hv"),
                             marker=dict(size=8, symbol="circle-open", color="#222"),
                             hoverinfo="skip"))
    if marked > 0:
        top = ok.sort_values("reward", ascending=False, na_position="last").head(marked)
        fig.add_trace(go.Scatter(x=top["latency_ms"], y=100 * top["accuracy"], mode="markers",
                                 name=f"top {len(top)} by reward", hoverinfo="skip",
                                 marker=dict(size=13, symbol="circle-open", color="#d62728",
                                             line=dict(width=2))))
        fig.add_trace(go.Scatter(x=top["latency_ms"].head(1), y=100 * top["accuracy"].head(1),
                                 mode="markers", name="winner", hoverinfo="skip",
                                 marker=dict(size=18, symbol="star", color="#d62728",
                                             line=dict(width=1, color="#222"))))
    fit_pareto_axes(fig, ok["latency_ms"], 100 * ok["accuracy"], target_ms)
    fig.update_xaxes(title="latency (ms)")
    fig.update_yaxes(title="accuracy (%)")
    fig = layout(fig, title, height=420)
    if repeated.any():
        fig.update_layout(title_subtitle_text=f"{len(ok):,} trials, {len(pts):,} distinct "
                          "models (larger: sampled more than once)")
    return fig


def _model(df: pd.DataFrame) -> list[str]:
    """What makes two trials the same model in every chart: the block string where the table
    has one, else the (latency, accuracy) point (a search scores a repeated model once)."""
    return ["arch"] if "arch" in df else ["latency_ms", "accuracy"]


def _distinct(ok: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct model sampled (its first trial and figures, how many times it was
    sampled). A 10,000-trial PPO run has ~1,900."""
    key = _model(ok)
    # A size per row, then the first row of each model: ~5x cheaper than a named groupby
    # aggregation, and this runs on every slider move.
    samples = ok.groupby(key, sort=False, dropna=False)["trial"].transform("size")
    return (ok.assign(samples=samples).drop_duplicates(key)
              [["trial", "reward", "latency_ms", "accuracy", "samples"]].reset_index(drop=True))


def pareto_overlay(runs: dict[str, pd.DataFrame], target_ms: float | None = None,
                   points: dict[str, pd.DataFrame] | None = None,
                   title: str = "Pareto fronts") -> go.Figure:
    """Pareto fronts of several runs over their (faint) trials: who dominates where.
    `points` ({legend name: trials}, e.g. findings.reference_points) marks reference networks
    trained and timed as the trials on top: a single-op network, or a zoo family over its
    widths joined by a dotted line (each point's `label` in the hover)."""
    fig = go.Figure()
    for i, (name, df) in enumerate(runs.items()):
        ok = successful(df)
        if ok.empty:
            continue
        color = run_color(i)
        fig.add_trace(_scatter(len(ok))(x=ok["latency_ms"], y=100 * ok["accuracy"],
                                        mode="markers", legendgroup=name, showlegend=False,
                                        marker=dict(color=color, size=4, opacity=0.25),
                                        hoverinfo="skip"))
        fx, fy = front_line(ok)
        fig.add_trace(go.Scatter(x=fx, y=fy, mode="lines+markers", name=name, legendgroup=name,
                                 line=dict(color=color, width=2.5, shape="hv"),
                                 marker=dict(size=7, color=color),
                                 hovertemplate="%{y:.2f}% at %{x:.2f} ms<extra>" + name
                                               + "</extra>"))
    for i, (name, d) in enumerate((points or {}).items()):
        d = successful(d).sort_values("latency_ms")
        label = d["label"] if "label" in d else pd.Series(name, index=d.index)
        fig.add_trace(go.Scatter(x=d["latency_ms"], y=100 * d["accuracy"], name=name,
                                 mode="markers+lines" if len(d) > 1 else "markers",
                                 line=dict(color="#555", width=1, dash="dot"), text=label,
                                 marker=dict(size=12, color="white",
                                             symbol=REFERENCE_SYMBOLS[i % len(REFERENCE_SYMBOLS)],
                                             line=dict(width=1.5, color="#222")),
                                 hovertemplate="%{text}: %{y:.2f}% at %{x:.2f} ms<extra></extra>"))
    if not fig.data:
        return empty_figure("Pick runs with finished trials to compare their fronts")
    shown = pd.concat([successful(d) for d in [*runs.values(), *(points or {}).values()]])
    fit_pareto_axes(fig, shown["latency_ms"], 100 * shown["accuracy"], target_ms)
    fig.update_xaxes(title="latency (ms)")
    fig.update_yaxes(title="accuracy (%)")
    return layout(fig, title, height=440)


def latency_histogram(df: pd.DataFrame, target_ms: float | None = None,
                      title: str = "Latency of sampled models") -> go.Figure:
    ok = df[df["latency_ms"].notna()]
    if ok.empty:
        return empty_figure("No latencies recorded yet")
    fig = go.Figure(go.Histogram(x=ok["latency_ms"], nbinsx=40, marker_color=run_color(0),
                                 opacity=0.85, name="models",
                                 hovertemplate="%{x} ms: %{y} models<extra></extra>"))
    target_line(fig, target_ms)
    fig.update_xaxes(title="latency (ms)")
    fig.update_yaxes(title="models")
    return layout(fig, title, height=320)


def latency_histograms(runs: dict[str, pd.DataFrame], targets: dict[str, float]) -> go.Figure:
    """Side-by-side latency distributions with shared axes: the paper's Figure 6 (hard vs
    soft constraint) when given one run of each."""
    runs = {k: v for k, v in runs.items() if v["latency_ms"].notna().any()}
    if not runs:
        return empty_figure("Pick runs with recorded latencies")
    fig = make_subplots(rows=1, cols=len(runs), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[_titled(n, d) for n, d in runs.items()])
    bins = shared_bins(pd.concat([r["latency_ms"] for r in runs.values()]).dropna())
    for i, (name, df) in enumerate(runs.items(), 1):
        fig.add_trace(go.Histogram(x=df["latency_ms"].dropna(), xbins=bins, name=name,
                                   marker_color=run_color(i - 1), showlegend=False,
                                   hovertemplate="%{x} ms: %{y} models<extra></extra>"),
                      row=1, col=i)
        target_line(fig, targets.get(name), row=1, col=i)
        fig.update_xaxes(title="latency (ms)", row=1, col=i)
    fig.update_yaxes(title="models", row=1, col=1)
    fig.update_xaxes(matches="x")  # one latency scale and bin width for every panel
    return layout(fig, "Latency distribution of sampled models", height=340)


def _titled(name: str, df: pd.DataFrame) -> str:
    """A panel title that says how many samples repeat an architecture sampled before: a
    controller that has converged samples the same model often, and each sample is counted,
    so a tall bar can be one architecture."""
    timed = df[df["latency_ms"].notna()]
    repeats = int(timed.duplicated(_model(timed)).sum())
    return f"{name} · {len(timed)} models, {repeats} repeats" if repeats else name


def figure6(runs: dict[str, pd.DataFrame], targets: dict[str, float]) -> go.Figure:
    """The paper's Figure 6, one column per run: sampled models and their Pareto front (top),
    the histogram of their latencies (bottom). Shared axes, so the columns compare at a
    glance; T is the dashed line."""
    names = list(runs)
    fig = make_subplots(rows=2, cols=len(names), shared_xaxes=True, row_heights=[0.62, 0.38],
                        vertical_spacing=0.06, horizontal_spacing=0.05,
                        subplot_titles=[_titled(n, runs[n]) for n in names])
    bins = shared_bins(pd.concat([successful(d)["latency_ms"] for d in runs.values()]))
    for col, name in enumerate(names, 1):
        ok = successful(runs[name])
        color = run_color(col - 1)
        fig.add_trace(go.Scatter(x=ok["latency_ms"], y=100 * ok["accuracy"], mode="markers",
                                 marker=dict(color=color, size=5, opacity=0.45),
                                 name="sampled models", showlegend=col == 1,
                                 legendgroup="models"), row=1, col=col)
        fx, fy = front_line(ok)
        fig.add_trace(go.Scatter(x=fx, y=fy, mode="lines+markers",
                                 line=dict(color="#222", shape="hv"),
                                 marker=dict(size=6, color="#222"), name="Pareto front",
                                 showlegend=col == 1, legendgroup="front"), row=1, col=col)
        fig.add_trace(go.Histogram(x=ok["latency_ms"], xbins=bins, marker_color=color,
                                   showlegend=False), row=2, col=col)
        for row in (1, 2):
            target_line(fig, targets.get(name), label=False, row=row, col=col)
        fig.update_xaxes(title="latency (ms)", row=2, col=col)
    fig.update_yaxes(title="accuracy (%)", row=1, col=1)
    fig.update_yaxes(title="models", row=2, col=1)
    fig.update_xaxes(matches="x")  # one latency scale for every panel
    fig.update_yaxes(matches="y", row=1)
    fig.update_yaxes(matches="y" + str(len(names) + 1), row=2)
    return layout(fig, "Sampled models, Pareto front and latency histogram "
                       "(dashed: target T)", height=620, grid=True)


def reward_over_time(runs: dict[str, pd.DataFrame]) -> go.Figure:
    """Reward of each trial (faint) and the best so far (line), by trial number."""
    fig = go.Figure()
    for i, (name, df) in enumerate(runs.items()):
        d = df.sort_values("trial")
        if d["reward"].notna().sum() == 0:
            continue
        color = run_color(i)
        fig.add_trace(_scatter(len(d))(x=d["trial"], y=d["reward"], mode="markers",
                                       marker=dict(color=color, size=4, opacity=0.3),
                                       legendgroup=name, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=d["trial"], y=d["reward"].cummax(), mode="lines", name=name,
                                 line=dict(color=color, width=2.5, shape="hv"),
                                 legendgroup=name,
                                 hovertemplate="trial %{x}: best %{y:.4f}<extra></extra>"))
    if not fig.data:
        return empty_figure("No rewards recorded yet")
    fig.update_xaxes(title="trial")
    fig.update_yaxes(title="reward (line: best so far)")
    return layout(fig, "Reward over the search", height=340)


def latency_over_trials(runs: dict[str, pd.DataFrame], targets: dict[str, float],
                        window: int = 25) -> go.Figure:
    """Latency of each sampled model by trial number (dots) and its rolling median (line):
    where each controller moves the search as it learns."""
    fig = go.Figure()
    for i, (name, df) in enumerate(runs.items()):
        d = df[df["latency_ms"].notna()].sort_values("trial")
        color = run_color(i)
        fig.add_trace(go.Scatter(x=d["trial"], y=d["latency_ms"], mode="markers",
                                 marker=dict(color=color, size=4, opacity=0.3),
                                 legendgroup=name, showlegend=False, hoverinfo="skip"))
        med = d["latency_ms"].rolling(window, min_periods=1, center=True).median()
        fig.add_trace(go.Scatter(x=d["trial"], y=med, mode="lines", name=name,
                                 line=dict(color=color, width=2.5), legendgroup=name))
    for t in targets.values():
        target_line(fig, t, label=False, horizontal=True)
    fig.update_xaxes(title="trial")
    fig.update_yaxes(title="latency (ms)")
    return layout(fig, f"Latency of sampled models over the search (line: rolling median of "
                       f"{window})", height=380)
