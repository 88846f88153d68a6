"""Charts of networks and of the space: cost per layer, the space's size beside the paper's,
the spread of model sizes, what predicts measured latency, and one timing's per-run times."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy.stats import spearmanr

from .style import RUN_COLORS, layout


def layer_costs(prof: pd.DataFrame, latency_ms: pd.Series | None = None) -> go.Figure:
    """MACs per layer (bars; `prof` as mnas_core.profile.profile returns it), with predicted
    latency per layer on a second axis if given."""
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
    return layout(fig, "Cost per layer", height=340)


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
    return layout(fig, height=220)


def size_scatter(samples: pd.DataFrame, marked: pd.DataFrame | None = None) -> go.Figure:
    """MACs vs parameters of random models of the space (columns params, macs), with named
    reference models (columns name, params, macs) marked on top."""
    fig = go.Figure(go.Scatter(x=samples["macs"] / 1e6, y=samples["params"] / 1e6,
                               mode="markers", name="random models of the space",
                               marker=dict(color=RUN_COLORS[0], size=6, opacity=0.5)))
    if marked is not None:
        fig.add_trace(go.Scatter(x=marked["macs"] / 1e6, y=marked["params"] / 1e6,
                                 mode="markers+text", text=marked["name"],
                                 textposition="top center", name="zoo",
                                 marker=dict(color=RUN_COLORS[1], size=11, symbol="diamond")))
    fig.update_xaxes(title="MACs (millions)")
    fig.update_yaxes(title="parameters (millions)")
    return layout(fig, "How big are the models of the space? (224x224, 1000 classes)", 420)


def latency_evidence(df: pd.DataFrame, calibrated: pd.Series | None = None) -> go.Figure:
    """Measured latency (x) against MACs (left) and the lookup-table prediction (right).
    `df` has columns macs, measured_ms, predicted_ms; `calibrated` (bool per row) marks the
    models the predictor's correction was fitted on, which are drawn hollow and left out of the
    Spearman rank correlations in the titles (the paper's point: MACs rank latency worse than
    a figure built from measurements)."""
    held = ~calibrated if calibrated is not None else pd.Series(True, index=df.index)
    # Both correlations on the same (held-out) models, so they compare fairly.
    rho_macs = spearmanr(df.loc[held, "macs"], df.loc[held, "measured_ms"])[0]
    rho_pred = spearmanr(df.loc[held, "predicted_ms"], df.loc[held, "measured_ms"])[0]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=[
        f"MACs (Spearman {rho_macs:.2f})", f"lookup-table prediction (Spearman {rho_pred:.2f})"])
    fig.add_trace(go.Scatter(x=df["measured_ms"], y=df["macs"] / 1e6, mode="markers",
                             marker=dict(color=RUN_COLORS[0], size=7, opacity=0.7),
                             name="models", showlegend=False), row=1, col=1)
    for mask, name, symbol in ((held, "held-out models", "circle"),
                               (~held, "used to fit the correction", "circle-open")):
        if mask.any():
            fig.add_trace(go.Scatter(x=df.loc[mask, "measured_ms"],
                                     y=df.loc[mask, "predicted_ms"], mode="markers", name=name,
                                     marker=dict(color=RUN_COLORS[1], size=7, symbol=symbol)),
                          row=1, col=2)
    lo, hi = float(df["measured_ms"].min()), float(df["measured_ms"].max())
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="prediction = measurement",
                             line=dict(color="#888", dash="dot")), row=1, col=2)
    for col in (1, 2):
        fig.update_xaxes(title="measured latency (ms)", row=1, col=col)
    fig.update_yaxes(title="MACs (millions)", row=1, col=1)
    fig.update_yaxes(title="predicted latency (ms)", row=1, col=2)
    return layout(fig, f"What predicts measured latency? (rank correlations on the {held.sum()}"
                       " models not used to fit the table's correction)", height=430, grid=True)


def run_times(times_ms) -> go.Figure:
    """One timing's per-run times in order (warm-up dropped): drift or throttling shows as a
    trend, not as noise."""
    fig = go.Figure(go.Scatter(y=list(times_ms), mode="lines+markers",
                               line=dict(color=RUN_COLORS[0])))
    fig.update_xaxes(title="run")
    fig.update_yaxes(title="ms")
    return layout(fig, "Per-run times (warm-up dropped)", 280)


def compare_costs(costs: pd.DataFrame) -> go.Figure:
    """Cost per part of the network (stem, block 1..N, head), one bar per model side by side:
    MACs, and under it predicted latency where the table gave it (`costs` as
    mnas_core.compare.block_costs returns it)."""
    timed = costs["predicted ms"].notna().any()
    fig = make_subplots(rows=2 if timed else 1, cols=1, shared_xaxes=True,
                        vertical_spacing=0.08,
                        subplot_titles=("MACs (millions)", "predicted latency (ms)")
                        if timed else None)
    for i, (model, part) in enumerate(costs.groupby("model", sort=False)):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        fig.add_trace(go.Bar(x=part["part"], y=part["MACs M"], name=model, marker_color=color,
                             legendgroup=model, hovertemplate="%{x}: %{y:.1f} MMACs<extra>"
                             + model + "</extra>"), row=1, col=1)
        if timed:
            fig.add_trace(go.Bar(x=part["part"], y=part["predicted ms"], name=model,
                                 marker_color=color, legendgroup=model, showlegend=False,
                                 hovertemplate="%{x}: %{y:.2f} ms<extra>" + model
                                 + "</extra>"), row=2, col=1)
    # stem, the blocks (or layers) in network order, head, whichever model the first bar of
    # a part is from (a part one model lacks would otherwise join at the end)
    order = sorted(set(costs["part"]), key=_part_order)
    fig.update_xaxes(categoryorder="array", categoryarray=order)
    fig.update_layout(barmode="group")
    if not timed:
        fig.update_yaxes(title="MACs (millions)")
    by = "layer" if any("." in p for p in order) else "block"
    return layout(fig, f"Cost per {by}", height=520 if timed else 340, grid=timed)


def _part_order(part: str) -> tuple:
    """stem < "block 2" (or layer "2.1") < "block 10" < head."""
    if part in ("stem", "head"):
        return (part == "head", ())
    return (False, tuple(int(n) for n in part.removeprefix("block ").split(".")))
