"""What every chart shares: the palette, the layout, the target line, the Pareto staircase and
shared histogram bins. One copy, so the app, the notebooks and the README images read alike.

Conventions: accuracy is a fraction in the data and shown in percent; latency in ms; the
target latency T is a dashed red line.
"""
from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from ..pareto import pareto_mask

# One qualitative palette for runs, one sequential scale for reward.
RUN_COLORS = ("#4C78A8", "#F58518", "#54A24B", "#B279A2", "#E45756", "#72B7B2", "#9D755D")
REWARD_SCALE = "Viridis"
TARGET_COLOR = "#C0392B"
FONT = dict(family="Inter, 'Source Sans Pro', sans-serif", size=13)
# Points drawn (distinct models) above which a scatter uses WebGL. Without a GPU, Chromium
# renders WebGL in software: benchmarks/slider.py settled a 10,000-trial Reward explorer in
# 0.72 s with 1,885 SVG points vs 1.19 s with WebGL, and in 1.81 s vs 1.34 s at 3,968.
WEBGL_ABOVE = 2500
HIST_BINS = 40


def run_color(i: int) -> str:
    """The i-th run's colour (the palette repeats past its end)."""
    return RUN_COLORS[i % len(RUN_COLORS)]


@cache
def _template() -> go.layout.Template:
    """plotly_white's layout part only: its per-trace-type defaults (24 trace types) made
    every figure cost ~25 ms more to build, a third of a slider move on the Reward page."""
    return go.layout.Template(layout=pio.templates["plotly_white"].layout)


def layout(fig: go.Figure, title: str | None = None, height: int = 380, *,
           grid: bool = False) -> go.Figure:
    """Title on top, the horizontal legend under it, then the plot area: nothing overlaps.
    `grid`: the figure has subplot titles, which sit between the legend and the plots, so
    both move up."""
    top, legend_y = (110, 1.06) if grid else (80 if title else 30, 1.02)
    # Title at x = 0.01, not 0: a static image has no page padding to keep it off the edge.
    fig.update_layout(template=_template(), font=FONT, height=height,
                      margin=dict(l=10, r=10, t=top, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=legend_y, x=0),
                      title=dict(text=title, x=0.01, y=0.98, yanchor="top", yref="container",
                                 font=dict(size=15)) if title else None)
    return fig


def target_line(fig: go.Figure, target_ms: float | None, *, label: bool = True,
                horizontal: bool = False, **where) -> None:
    """The dashed T line (vertical on a latency x axis, `horizontal` on a latency y axis);
    `label` writes "T = ... ms" beside it (off in grids, where the title says it once);
    `where` picks a subplot (row=, col=). No line when T is unknown (None or 0).
    A plain shape and annotation: plotly's add_vline builds the same at ~4x the cost, and
    this runs for every chart on every slider move."""
    if not target_ms:
        return
    sub = fig.get_subplot(**where) if where else None
    x, y = (sub.xaxis.plotly_name, sub.yaxis.plotly_name) if sub else ("xaxis", "yaxis")
    x, y = x.replace("axis", ""), y.replace("axis", "")
    if horizontal:  # across the plot at y = T, labelled at its right end
        at = dict(xref=f"{x} domain", yref=y, x0=0, x1=1, y0=target_ms, y1=target_ms)
        text = dict(x=1, y=target_ms, xanchor="right", yanchor="bottom")
    else:  # up the plot at x = T, labelled at its top, to the right
        at = dict(xref=x, yref=f"{y} domain", x0=target_ms, x1=target_ms, y0=0, y1=1)
        text = dict(x=target_ms, y=1, xanchor="left", yanchor="top")
    fig.add_shape(type="line", line=dict(color=TARGET_COLOR, dash="dash", width=1.5), **at)
    if label:
        fig.add_annotation(text=f"T = {target_ms:g} ms", showarrow=False, xref=at["xref"],
                           yref=at["yref"], font=dict(color=TARGET_COLOR, size=12), **text)


def fit_pareto_axes(fig: go.Figure, latency_ms, accuracy_pct, target_ms: float | None,
                    pad: float = 0.05) -> None:
    """Axis ranges that fit the trials (plus a 5% margin, 12.5% above), with the T line drawn
    when it lies within half the data's span of them. Left to autorange, a T far from the
    data (the paper's 75 ms over a 3-13 ms run) stretched the axis and squeezed every point
    into a corner; such a T is named at the edge instead."""
    lat, acc = np.asarray(latency_ms, float), np.asarray(accuracy_pct, float)
    if not len(lat):
        return target_line(fig, target_ms)
    lo, hi = float(lat.min()), float(lat.max())
    least = max(0.05 * abs(hi), 1e-3)  # one point (the first trial) still gets a readable axis
    span = max(hi - lo, least)
    shown = bool(target_ms) and lo - span / 2 <= target_ms <= hi + span / 2
    if shown:
        lo, hi = min(lo, target_ms), max(hi, target_ms)
    mid, span = (lo + hi) / 2, max(hi - lo, least)
    fig.update_xaxes(range=[mid - (0.5 + pad) * span, mid + (0.5 + pad) * span])
    a_lo, a_hi = float(acc.min()), float(acc.max())
    a_span = max(a_hi - a_lo, 1.0)
    # More room on top: the winner's star, the top-10 rings and the T label sit there; a
    # little above 100% so a perfect model's marker is not cut in half.
    fig.update_yaxes(range=[max(0.0, a_lo - pad * a_span),
                            min(102.0, a_hi + 2.5 * pad * a_span)])
    if shown:
        target_line(fig, target_ms)
    elif target_ms:
        side = "right" if target_ms > hi else "left"
        # Inside the plot's top corner: above it, the legend sits.
        fig.add_annotation(text=f"T = {target_ms:g} ms {'→' if side == 'right' else '←'}",
                           xref="paper", yref="paper", x=1 if side == "right" else 0, y=1,
                           xanchor=side, yanchor="top", showarrow=False,
                           font=dict(color=TARGET_COLOR, size=12))


def empty_figure(message: str, height: int = 300) -> go.Figure:
    """A blank chart carrying a short explanation (used for empty states)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font=dict(size=14, color="#666"),
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return layout(fig, height=height)


def successful(df: pd.DataFrame) -> pd.DataFrame:
    """Trials with both an accuracy and a latency (failed ones have neither)."""
    return df[df["accuracy"].notna() & df["latency_ms"].notna()]


def front_line(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The Pareto front of successful trials as a staircase (x = latency, y = accuracy %),
    fastest first; draw it with line shape "hv"."""
    front = df[pareto_mask(df["accuracy"], df["latency_ms"])].sort_values("latency_ms")
    return front["latency_ms"].to_numpy(), 100 * front["accuracy"].to_numpy()


def shared_bins(latency_ms: pd.Series) -> dict:
    """Histogram bins over all the runs' latencies, so side-by-side panels compare bin for
    bin (a lone value still gets a bin of positive width)."""
    lo, hi = float(latency_ms.min()), float(latency_ms.max())
    return dict(start=lo, end=hi, size=max((hi - lo) / HIST_BINS, 1e-6))
