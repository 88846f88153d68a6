"""Plotly figure builders for the app. Pure functions of data -> go.Figure: no Streamlit here,
so every chart can be tested (tests/app/test_charts.py) and reused in notebooks.

Conventions: accuracy is a fraction in the data and shown in percent; latency in ms; the
target latency T is always a dashed vertical line so every chart reads the same way.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mnas_core.pareto import pareto_mask
from mnas_core.reward import RewardConfig, reward

# One qualitative palette for runs, one sequential scale for reward, one colour per ConvOp.
RUN_COLORS = ("#4C78A8", "#F58518", "#54A24B", "#B279A2", "#E45756", "#72B7B2", "#9D755D")
REWARD_SCALE = "Viridis"
TARGET_COLOR = "#C0392B"
FONT = dict(family="Inter, 'Source Sans Pro', sans-serif", size=13)
# Scattergl keeps 10,000-trial scatters responsive; SVG is crisper below that.
WEBGL_ABOVE = 1500


def _layout(fig: go.Figure, title: str | None = None, height: int = 380) -> go.Figure:
    # Title on top, the horizontal legend just under it, both above the plot area.
    fig.update_layout(template="plotly_white", font=FONT, height=height,
                      margin=dict(l=10, r=10, t=80 if title else 30, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
                      title=dict(text=title, x=0, y=0.98, yanchor="top", yref="container",
                                 font=dict(size=15)) if title else None)
    return fig


def _target_line(fig: go.Figure, target_ms: float | None, **where) -> None:
    if target_ms:
        fig.add_vline(x=target_ms, line=dict(color=TARGET_COLOR, dash="dash", width=1.5),
                      annotation_text=f"T = {target_ms:g} ms", annotation_position="top right",
                      annotation_font=dict(color=TARGET_COLOR, size=12), **where)


def empty_figure(message: str, height: int = 300) -> go.Figure:
    """A blank chart carrying a short explanation (used for empty states)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font=dict(size=14, color="#666"),
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, height=height)


# ------------------------------------------------------------------ reward (paper Figure 3)
def reward_curves(cfg: RewardConfig, accuracies=(0.6, 0.7, 0.8),
                  max_ms: float | None = None, compare: RewardConfig | None = None) -> go.Figure:
    """R = ACC * (LAT/T)^w against latency for a few accuracy levels (eq. 2-3, Figure 3).
    `compare` adds the same curves dashed, e.g. the other preset."""
    max_ms = max_ms or 2.5 * cfg.target_ms
    lat = np.linspace(max_ms / 400, max_ms, 400)
    fig = go.Figure()
    for i, acc in enumerate(accuracies):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        fig.add_trace(go.Scatter(
            x=lat, y=reward(np.full_like(lat, acc), lat, cfg), name=f"ACC = {acc:.0%}",
            line=dict(color=color, width=2.5), legendgroup=str(i),
            hovertemplate="latency %{x:.1f} ms<br>reward %{y:.4f}<extra>ACC " + f"{acc:.0%}</extra>"))
    for i, acc in enumerate(accuracies):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        if compare is not None:
            fig.add_trace(go.Scatter(
                x=lat, y=reward(np.full_like(lat, acc), lat, compare), showlegend=i == 0,
                name=f"α={compare.alpha:g}, β={compare.beta:g}", legendgroup="compare",
                line=dict(color=color, width=1.2, dash="dot"), hoverinfo="skip"))
    _target_line(fig, cfg.target_ms)
    fig.update_xaxes(title="model latency (ms)", range=[0, max_ms])
    fig.update_yaxes(title="reward R(m)", rangemode="tozero")
    return _layout(fig, f"Reward vs latency: α = {cfg.alpha:g}, β = {cfg.beta:g}, "
                        f"T = {cfg.target_ms:g} ms")


# ------------------------------------------------------------------ trials
def _ok(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["accuracy"].notna() & df["latency_ms"].notna()]


def _hover(df: pd.DataFrame) -> tuple[np.ndarray, str]:
    data = np.stack([df["trial"].to_numpy(), df["reward"].to_numpy(float)], axis=-1)
    return data, ("trial %{customdata[0]}<br>accuracy %{y:.2f}%<br>latency %{x:.2f} ms"
                  "<br>reward %{customdata[1]:.4f}<extra></extra>")


def _front_line(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The Pareto front as a staircase (x = latency, y = accuracy %), fastest first."""
    front = df[pareto_mask(df["accuracy"], df["latency_ms"])].sort_values("latency_ms")
    return front["latency_ms"].to_numpy(), 100 * front["accuracy"].to_numpy()


def pareto_scatter(df: pd.DataFrame, target_ms: float | None = None,
                   title: str = "Accuracy vs latency") -> go.Figure:
    """Every successful trial (colour = reward) with the Pareto front and the target T."""
    ok = _ok(df)
    if ok.empty:
        return empty_figure("No finished trials yet")
    scatter = go.Scattergl if len(ok) > WEBGL_ABOVE else go.Scatter
    custom, hover = _hover(ok)
    fig = go.Figure(scatter(
        x=ok["latency_ms"], y=100 * ok["accuracy"], mode="markers", name="trials",
        customdata=custom, hovertemplate=hover,
        marker=dict(size=7 if len(ok) < 500 else 5, color=ok["reward"], colorscale=REWARD_SCALE,
                    opacity=0.85, colorbar=dict(title="reward", thickness=12),
                    line=dict(width=0.5, color="white") if len(ok) < 500 else None)))
    fx, fy = _front_line(ok)
    fig.add_trace(go.Scatter(x=fx, y=fy, mode="lines+markers", name="Pareto front",
                             line=dict(color="#222", width=1.5, shape="hv"),
                             marker=dict(size=8, symbol="circle-open", color="#222"),
                             hoverinfo="skip"))
    _target_line(fig, target_ms)
    fig.update_xaxes(title="latency (ms)")
    fig.update_yaxes(title="accuracy (%)")
    return _layout(fig, title, height=420)


def pareto_overlay(runs: dict[str, pd.DataFrame], target_ms: float | None = None) -> go.Figure:
    """Pareto fronts of several runs over their (faint) trials: who dominates where."""
    fig = go.Figure()
    for i, (name, df) in enumerate(runs.items()):
        ok = _ok(df)
        if ok.empty:
            continue
        color = RUN_COLORS[i % len(RUN_COLORS)]
        scatter = go.Scattergl if len(ok) > WEBGL_ABOVE else go.Scatter
        fig.add_trace(scatter(x=ok["latency_ms"], y=100 * ok["accuracy"], mode="markers",
                              marker=dict(color=color, size=4, opacity=0.25), legendgroup=name,
                              showlegend=False, hoverinfo="skip"))
        fx, fy = _front_line(ok)
        fig.add_trace(go.Scatter(x=fx, y=fy, mode="lines+markers", name=name, legendgroup=name,
                                 line=dict(color=color, width=2.5, shape="hv"),
                                 marker=dict(size=7, color=color),
                                 hovertemplate="%{y:.2f}% at %{x:.2f} ms<extra>" + name
                                               + "</extra>"))
    if not fig.data:
        return empty_figure("Pick runs with finished trials to compare their fronts")
    _target_line(fig, target_ms)
    fig.update_xaxes(title="latency (ms)")
    fig.update_yaxes(title="accuracy (%)")
    return _layout(fig, "Pareto fronts", height=440)


def latency_histogram(df: pd.DataFrame, target_ms: float | None = None,
                      title: str = "Latency of sampled models") -> go.Figure:
    ok = df[df["latency_ms"].notna()]
    if ok.empty:
        return empty_figure("No latencies recorded yet")
    fig = go.Figure(go.Histogram(x=ok["latency_ms"], nbinsx=40, marker_color=RUN_COLORS[0],
                                 opacity=0.85, name="models",
                                 hovertemplate="%{x} ms: %{y} models<extra></extra>"))
    _target_line(fig, target_ms)
    fig.update_xaxes(title="latency (ms)")
    fig.update_yaxes(title="models")
    return _layout(fig, title, height=320)


def latency_histograms(runs: dict[str, pd.DataFrame], targets: dict[str, float]) -> go.Figure:
    """Side-by-side latency distributions with shared axes: the paper's Figure 6 (hard vs
    soft constraint) when given one run of each."""
    runs = {k: v for k, v in runs.items() if v["latency_ms"].notna().any()}
    if not runs:
        return empty_figure("Pick runs with recorded latencies")
    fig = make_subplots(rows=1, cols=len(runs), shared_xaxes=True, shared_yaxes=True,
                        subplot_titles=list(runs), horizontal_spacing=0.04)
    lat_all = pd.concat([r["latency_ms"] for r in runs.values()]).dropna()
    bins = dict(start=float(lat_all.min()), end=float(lat_all.max()),
                size=max(float(lat_all.max() - lat_all.min()) / 40, 1e-6))
    for i, (name, df) in enumerate(runs.items(), 1):
        fig.add_trace(go.Histogram(x=df["latency_ms"].dropna(), xbins=bins, name=name,
                                   marker_color=RUN_COLORS[(i - 1) % len(RUN_COLORS)],
                                   showlegend=False,
                                   hovertemplate="%{x} ms: %{y} models<extra></extra>"),
                      row=1, col=i)
        if targets.get(name):
            _target_line(fig, targets[name], row=1, col=i)
        fig.update_xaxes(title="latency (ms)", row=1, col=i)
    fig.update_yaxes(title="models", row=1, col=1)
    return _layout(fig, "Latency distribution of sampled models", height=340)


def reward_over_time(runs: dict[str, pd.DataFrame]) -> go.Figure:
    """Reward of each trial (faint) and the best so far (line), by trial number."""
    fig = go.Figure()
    for i, (name, df) in enumerate(runs.items()):
        d = df.sort_values("trial")
        if d["reward"].notna().sum() == 0:
            continue
        color = RUN_COLORS[i % len(RUN_COLORS)]
        fig.add_trace(go.Scattergl(x=d["trial"], y=d["reward"], mode="markers",
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
    return _layout(fig, "Reward over the search", height=340)


def rank_slope(table: pd.DataFrame, top: int = 10) -> go.Figure:
    """Slope chart from the recorded rank (left) to the rank under the new reward (right).
    `table` needs columns trial, rank_before, rank_now (1 = best)."""
    t = table[(table["rank_before"] <= top) | (table["rank_now"] <= top)]
    if t.empty:
        return empty_figure("No ranked trials")
    fig = go.Figure()
    for _, row in t.iterrows():
        moved = row["rank_now"] - row["rank_before"]
        color = "#54A24B" if moved < 0 else "#E45756" if moved > 0 else "#999"
        ranks = [row["rank_before"], row["rank_now"]]
        fig.add_trace(go.Scatter(
            x=[0, 1], y=[min(r, top + 1) for r in ranks],
            mode="lines+markers+text", line=dict(color=color, width=2),
            marker=dict(size=9, color=color), showlegend=False,
            # Label only the ends inside the top: many trials share the ">top" row.
            text=[f"#{int(row['trial'])}" if r <= top else "" for r in ranks],
            textposition=["middle left", "middle right"], textfont=dict(size=11),
            hovertemplate=f"trial {int(row['trial'])}: rank {int(row['rank_before'])} -> "
                          f"{int(row['rank_now'])}<extra></extra>"))
    fig.update_xaxes(tickvals=[0, 1], ticktext=["recorded reward", "new reward"],
                     range=[-0.35, 1.35], showgrid=False)
    fig.update_yaxes(autorange="reversed", title="rank", tickvals=list(range(1, top + 2)),
                     ticktext=[str(i) for i in range(1, top + 1)] + [f">{top}"], showgrid=False)
    return _layout(fig, f"How the top {top} changes", height=420)


# ------------------------------------------------------------------ models
def layer_costs(prof: pd.DataFrame, latency_ms: pd.Series | None = None) -> go.Figure:
    """MACs per layer (bars), with predicted latency per layer on a second axis if given."""
    labels = [f"{r.kind} {r.block}.{r.layer}" if r.block != "" else r.kind
              for r in prof.itertuples()]
    fig = make_subplots(specs=[[{"secondary_y": latency_ms is not None}]])
    fig.add_trace(go.Bar(x=labels, y=prof["macs"] / 1e6, name="MMACs",
                         marker_color=RUN_COLORS[0],
                         hovertemplate="%{x}: %{y:.2f} MMACs<extra></extra>"))
    if latency_ms is not None:
        fig.add_trace(go.Scatter(x=labels, y=latency_ms, name="predicted ms", mode="lines+markers",
                                 line=dict(color=RUN_COLORS[1], width=2)), secondary_y=True)
        fig.update_yaxes(title="ms", secondary_y=True, showgrid=False)
    fig.update_yaxes(title="MMACs", secondary_y=False)
    fig.update_xaxes(tickangle=-45, tickfont=dict(size=10))
    return _layout(fig, "Cost per layer", height=340)


def space_sizes(log10_space: float, log10_per_layer: float) -> go.Figure:
    """The space's size on a log scale beside the paper's figures (10^13 and 10^39)."""
    names = ["this space", "paper (S=432, B=5)", "per-layer over these layers",
             "paper per-layer"]
    values = [log10_space, 5 * np.log10(432), log10_per_layer, 39.0]
    colors = [RUN_COLORS[0], "#BBB", RUN_COLORS[1], "#DDD"]
    fig = go.Figure(go.Bar(y=names, x=values, orientation="h", marker_color=colors,
                           text=[f"10^{v:.1f}" for v in values], textposition="outside",
                           hovertemplate="%{y}: 10^%{x:.2f}<extra></extra>"))
    fig.update_xaxes(title="log10(number of architectures)",
                     range=[0, max(values) * 1.18])
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, height=220)
