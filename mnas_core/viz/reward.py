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
    return layout(fig, f"How the top {top} changes", height=420)
