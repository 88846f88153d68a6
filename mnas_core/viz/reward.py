"""Charts of the reward (paper eq. 2-3): its curves against latency (Figure 3) and how the
top trials of a run re-rank under another reward."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..reward import RewardConfig, reward
from .style import empty_figure, layout, run_color, target_line


def reward_curves(cfg: RewardConfig, accuracies=(0.6, 0.7, 0.8),
                  max_ms: float | None = None, compare: RewardConfig | None = None) -> go.Figure:
    """R = ACC * (LAT/T)^w against latency for a few accuracy levels (eq. 2-3, Figure 3).
    `compare` adds the same curves dashed, e.g. the other preset."""
    max_ms = max_ms or 2.5 * cfg.target_ms
    lat = np.linspace(max_ms / 400, max_ms, 400)
    fig = go.Figure()
    for i, acc in enumerate(accuracies):
        fig.add_trace(go.Scatter(
            x=lat, y=reward(np.full_like(lat, acc), lat, cfg), name=f"ACC = {acc:.0%}",
            line=dict(color=run_color(i), width=2.5), legendgroup=str(i),
            hovertemplate="latency %{x:.1f} ms<br>reward %{y:.4f}<extra>ACC "
                          + f"{acc:.0%}</extra>"))
    for i, acc in enumerate(accuracies):
        if compare is not None:
            fig.add_trace(go.Scatter(
                x=lat, y=reward(np.full_like(lat, acc), lat, compare), showlegend=i == 0,
                name=f"α={compare.alpha:g}, β={compare.beta:g}", legendgroup="compare",
                line=dict(color=run_color(i), width=1.2, dash="dot"), hoverinfo="skip"))
    target_line(fig, cfg.target_ms)
    fig.update_xaxes(title="model latency (ms)", range=[0, max_ms])
    fig.update_yaxes(title="reward R(m)", rangemode="tozero")
    return layout(fig, f"Reward vs latency: α = {cfg.alpha:g}, β = {cfg.beta:g}, "
                       f"T = {cfg.target_ms:g} ms")


def rank_slope(table: pd.DataFrame, top: int = 10) -> go.Figure:
    """Slope chart from the recorded rank (left) to the rank under the new reward (right).
    `table` needs columns trial, rank_before, rank_now (1 = best)."""
    t = table[(table["rank_before"] <= top) | (table["rank_now"] <= top)]
    if t.empty:
        return empty_figure("No ranked trials")
    before = t["rank_before"].to_numpy()
    now = t["rank_now"].to_numpy()
    left, right = np.minimum(before, top + 1), np.minimum(now, top + 1)
    fig = go.Figure()
    # One trace per direction (lines split by NaN gaps), not one per trial: a slider move redraws
    # this chart, and 20 traces cost 20 validations here and 20 SVG groups in the browser.
    for moved, color in ((now < before, "#54A24B"), (now > before, "#E45756"),
                         (now == before, "#999")):
        if not moved.any():
            continue
        xs = np.tile([0.0, 1.0, np.nan], moved.sum())
        ys = np.column_stack([left[moved], right[moved], np.full(moved.sum(), np.nan)]).ravel()
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", showlegend=False,
                                 line=dict(color=color, width=2), marker=dict(size=9, color=color),
                                 hoverinfo="skip"))
    # Labels and hover on the ends inside the top only: many trials share the ">top" row.
    trial = t["trial"].astype(int).to_numpy()
    for x, ranks, pos in ((0, before, "middle left"), (1, now, "middle right")):
        inside = ranks <= top
        fig.add_trace(go.Scatter(
            x=np.full(inside.sum(), x), y=ranks[inside], mode="markers+text", showlegend=False,
            marker=dict(size=9, color="rgba(0,0,0,0)"),  # keeps the label clear of the dot
            text=[f"#{n}" for n in trial[inside]], textposition=pos, textfont=dict(size=11),
            customdata=np.column_stack([trial, before, now])[inside],
            hovertemplate="trial %{customdata[0]}: rank %{customdata[1]} -> "
                          "%{customdata[2]}<extra></extra>"))
    fig.update_xaxes(tickvals=[0, 1], ticktext=["recorded reward", "new reward"],
                     range=[-0.5, 1.5], showgrid=False)
    fig.update_yaxes(autorange="reversed", title="rank", tickvals=list(range(1, top + 2)),
                     ticktext=[str(i) for i in range(1, top + 1)] + [f">{top}"], showgrid=False)
    return layout(fig, f"How the top {top} changes", height=420)
