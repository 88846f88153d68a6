"""Plotly figures for the notebooks and the README images (plotly only, no Streamlit).

The app's own chart builders live in app/charts.py; these are the few views the notebooks need
beyond them: the paper's Figure 6 as one grid, latency drift over a search, the space's spread
of model sizes, and the latency evidence (MACs and the lookup table against measurement).
Conventions match the app: accuracy is a fraction in the data and shown in percent, latency in
ms, the target latency T is a dashed red vertical line.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy.stats import spearmanr

from .pareto import pareto_mask

COLORS = ("#4C78A8", "#F58518", "#54A24B", "#B279A2", "#E45756", "#72B7B2", "#9D755D")
TARGET_COLOR = "#C0392B"


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    # Title, then the legend, then the plots (subplot titles included): nothing overlaps.
    fig.update_layout(template="plotly_white", height=height, font=dict(size=13),
                      title=dict(text=title, x=0.01, y=0.98, yanchor="top", yref="container"),
                      margin=dict(l=10, r=10, t=110, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.06, x=0))
    return fig


def _target(fig: go.Figure, target_ms: float | None, **where) -> None:
    if target_ms:
        fig.add_vline(x=target_ms, line=dict(color=TARGET_COLOR, dash="dash", width=1.5),
                      **where)


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["accuracy"].notna() & df["latency_ms"].notna()]


def figure6(runs: dict[str, pd.DataFrame], targets: dict[str, float]) -> go.Figure:
    """The paper's Figure 6, one column per run: sampled models and their Pareto front (top),
    the histogram of their latencies (bottom). Shared axes, so the columns compare at a
    glance; T is the dashed line."""
    names = list(runs)
    fig = make_subplots(rows=2, cols=len(names), shared_xaxes=True, row_heights=[0.62, 0.38],
                        vertical_spacing=0.06, horizontal_spacing=0.05, subplot_titles=names)
    lat = pd.concat([_ok(d)["latency_ms"] for d in runs.values()])
    bins = dict(start=float(lat.min()), end=float(lat.max()),
                size=max(float(lat.max() - lat.min()) / 40, 1e-6))
    for col, name in enumerate(names, 1):
        ok = _ok(runs[name])
        color = COLORS[(col - 1) % len(COLORS)]
        front = ok[pareto_mask(ok["accuracy"], ok["latency_ms"])].sort_values("latency_ms")
        fig.add_trace(go.Scatter(x=ok["latency_ms"], y=100 * ok["accuracy"], mode="markers",
                                 marker=dict(color=color, size=5, opacity=0.45),
                                 name="sampled models", showlegend=col == 1,
                                 legendgroup="models"), row=1, col=col)
        fig.add_trace(go.Scatter(x=front["latency_ms"], y=100 * front["accuracy"],
                                 mode="lines+markers", line=dict(color="#222", shape="hv"),
                                 marker=dict(size=6, color="#222"), name="Pareto front",
                                 showlegend=col == 1, legendgroup="front"), row=1, col=col)
        fig.add_trace(go.Histogram(x=ok["latency_ms"], xbins=bins, marker_color=color,
                                   showlegend=False), row=2, col=col)
        for row in (1, 2):
            _target(fig, targets.get(name), row=row, col=col)
        fig.update_xaxes(title="latency (ms)", row=2, col=col)
    fig.update_yaxes(title="accuracy (%)", row=1, col=1)
    fig.update_yaxes(title="models", row=2, col=1)
    fig.update_xaxes(matches="x")  # one latency scale for every panel
    fig.update_yaxes(matches="y", row=1)
    fig.update_yaxes(matches="y" + str(len(names) + 1), row=2)
    return _layout(fig, "Sampled models, Pareto front and latency histogram "
                        "(dashed: target T)", height=620)


def latency_over_trials(runs: dict[str, pd.DataFrame], targets: dict[str, float],
                        window: int = 25) -> go.Figure:
    """Latency of each sampled model by trial number (dots) and its rolling median (line):
    where each controller moves the search as it learns."""
    fig = go.Figure()
    for i, (name, df) in enumerate(runs.items()):
        d = df[df["latency_ms"].notna()].sort_values("trial")
        color = COLORS[i % len(COLORS)]
        fig.add_trace(go.Scatter(x=d["trial"], y=d["latency_ms"], mode="markers",
                                 marker=dict(color=color, size=4, opacity=0.3),
                                 legendgroup=name, showlegend=False, hoverinfo="skip"))
        med = d["latency_ms"].rolling(window, min_periods=1, center=True).median()
        fig.add_trace(go.Scatter(x=d["trial"], y=med, mode="lines", name=name,
                                 line=dict(color=color, width=2.5), legendgroup=name))
    for name, t in targets.items():
        if t:
            fig.add_hline(y=t, line=dict(color=TARGET_COLOR, dash="dash", width=1.5))
    fig.update_xaxes(title="trial")
    fig.update_yaxes(title="latency (ms)")
    return _layout(fig, f"Latency of sampled models over the search (line: rolling median of "
                        f"{window})", height=380)


def size_scatter(samples: pd.DataFrame, marked: pd.DataFrame | None = None) -> go.Figure:
    """MACs vs parameters of random models of the space (columns params, macs), with named
    reference models (columns name, params, macs) marked on top."""
    fig = go.Figure(go.Scatter(x=samples["macs"] / 1e6, y=samples["params"] / 1e6,
                               mode="markers", name="random models of the space",
                               marker=dict(color=COLORS[0], size=6, opacity=0.5)))
    if marked is not None:
        fig.add_trace(go.Scatter(x=marked["macs"] / 1e6, y=marked["params"] / 1e6,
                                 mode="markers+text", text=marked["name"],
                                 textposition="top center", name="zoo",
                                 marker=dict(color=COLORS[1], size=11, symbol="diamond")))
    fig.update_xaxes(title="MACs (millions)")
    fig.update_yaxes(title="parameters (millions)")
    return _layout(fig, "How big are the models of the space? (224x224, 1000 classes)", 420)


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
                             marker=dict(color=COLORS[0], size=7, opacity=0.7),
                             name="models", showlegend=False), row=1, col=1)
    for mask, name, symbol in ((held, "held-out models", "circle"),
                               (~held, "used to fit the correction", "circle-open")):
        if mask.any():
            fig.add_trace(go.Scatter(x=df.loc[mask, "measured_ms"],
                                     y=df.loc[mask, "predicted_ms"], mode="markers", name=name,
                                     marker=dict(color=COLORS[1], size=7, symbol=symbol)),
                          row=1, col=2)
    lo, hi = float(df["measured_ms"].min()), float(df["measured_ms"].max())
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="prediction = measurement",
                             line=dict(color="#888", dash="dot")), row=1, col=2)
    for col in (1, 2):
        fig.update_xaxes(title="measured latency (ms)", row=1, col=col)
    fig.update_yaxes(title="MACs (millions)", row=1, col=1)
    fig.update_yaxes(title="predicted latency (ms)", row=1, col=2)
    return _layout(fig, f"What predicts measured latency? (rank correlations on the {held.sum()}"
                        " models not used to fit the table's correction)", height=430)

