"""The CIFAR-10 fidelity study as a chart: does a cheap budget rank models as the reference
does, and does the reference rank big models above small ones?"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy.stats import spearmanr

from ..fidelity import SEEDS
from .style import empty_figure, layout, run_color


def _rho(x, y) -> str:
    return f"ρ = {spearmanr(x, y).statistic:.2f}" if len(x) >= 3 else "too few models"


def fidelity_scatter(per: pd.DataFrame, budgets: list[str]) -> go.Figure:
    """One panel per candidate budget: each model's top-1 under it (mean of its seeds; the
    bar spans them) against its reference top-1, Spearman in the panel title; and a last
    panel of reference top-1 against MACs, coloured by each model's layers without a shortcut
    where known (networks without shortcuts train slowly, one reason a big one can score low
    here). `per`: mnas_core.fidelity.accuracies."""
    if per.empty:
        return empty_figure("No model has its reference training yet")
    shown = [b for b in budgets if b in per and per[b].notna().any()]
    titles = [f"{b}<br>{_rho(*_pair(per, b))} vs reference" for b in shown]
    plain = "plain_layers" in per and per["plain_layers"].notna().all()
    # Two lines at most: a third ran into the panel's top tick.
    by_size = f"the reference by size<br>{_rho(per['macs'], per['ref'])} with MACs"
    if plain:
        by_size = (f"{_rho(per['macs'], per['ref'])} with MACs,<br>"
                   f"{_rho(per['plain_layers'], per['ref'])} with plain layers")
    titles.append(by_size)
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles,
                        horizontal_spacing=0.05)
    hover = "%{text}<br>reference %{x:.1f}%<br>this budget %{y:.1f}%<extra></extra>"
    for col, b in enumerate(shown, 1):
        d = per[per[b].notna()]
        seeds = d[[f"{b} seed {s}" for s in SEEDS]]
        lo, hi = seeds.min(axis=1), seeds.max(axis=1)
        fig.add_trace(go.Scatter(
            x=100 * d["ref"], y=100 * d[b], text=d["model"], mode="markers", showlegend=False,
            marker=dict(size=8, color=run_color(0)), hovertemplate=hover,
            error_y=dict(type="data", symmetric=False, array=100 * (hi - d[b]),
                         arrayminus=100 * (d[b] - lo), thickness=1, width=0)),
            row=1, col=col)
        fig.update_xaxes(title="reference top-1 (%)", row=1, col=col)
    last = len(titles)
    marker = dict(size=8, color=run_color(1))
    hover = "%{text}<br>%{x:.0f}M MACs<br>reference %{y:.1f}%"
    if plain:
        marker.update(color=per["plain_layers"], colorscale="Viridis", showscale=True,
                      colorbar=dict(title="plain<br>layers", thickness=10, len=0.8))
        hover += "<br>%{marker.color} layers without a shortcut"
    fig.add_trace(go.Scatter(
        x=per["macs"] / 1e6, y=100 * per["ref"], text=per["model"], mode="markers",
        showlegend=False, marker=marker, hovertemplate=hover + "<extra></extra>"),
        row=1, col=last)
    fig.update_xaxes(title="MMACs", row=1, col=last)
    fig.update_yaxes(title="top-1 (%) under the budget", row=1, col=1)
    fig.update_annotations(font_size=12, yshift=8)  # off the panels' top tick labels
    return layout(fig, f"Proxy budgets against the reference, {len(per)} models "
                       "(bars: the two seeds)", height=360 if plain else 340, grid=True)


def _pair(per: pd.DataFrame, budget: str):
    d = per[per[budget].notna()]
    return d[budget], d["ref"]
