"""An architecture as a block diagram in the style of the paper's Figure 7: a left-to-right
flow of boxes (stem, the searched blocks, head), each labelled with its ConvOp, kernel and SE,
its repeat count above and its output shape (H x W x C) below. No Streamlit here."""
from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from mnas_core import ops
from mnas_core.arch import Architecture
from mnas_core.layers import expand_layers
from mnas_core.profile import profile

# Paper-like colours per space token (ops.Op.token); any other op or MBConvN gets "other".
OP_COLORS = {"conv": "#BDBDBD", "sepconv": "#8FB8DE", "mbconv3": "#A8D5A2",
             "mbconv6": "#F7B977", "other": "#E8A0A8", "io": "#ECECEC"}
BOX_W, GAP, BOX_H = 1.0, 0.55, 4.2


@dataclass(frozen=True)
class Box:
    label: str        # text inside the box (drawn vertically, as in the paper)
    color: str
    shape: str        # output shape "HxWxC"
    repeats: str      # "x3" or ""
    hover: str
    removed: bool = False


def op_name(op: str, exp_ratio: int) -> str:
    return ops.get(op).display(exp_ratio)


def _color(op: str, exp_ratio: int) -> str:
    return OP_COLORS.get(ops.get(op).token(exp_ratio), OP_COLORS["other"])


def boxes(arch: Architecture) -> list[Box]:
    """The diagram's content, separated from drawing so it can be tested directly."""
    layers = expand_layers(arch)
    cost = profile(arch)
    by_block = cost[cost["block"] != ""].groupby("block")[["params", "macs"]].sum()
    stem, head = layers[0], layers[-2]
    out = [Box("Input", OP_COLORS["io"], f"{arch.resolution}x{arch.resolution}x{arch.in_chans}",
               "", "input image"),
           Box("Conv3x3", OP_COLORS["conv"], f"{stem.out_res}x{stem.out_res}x{stem.out_chs}", "",
               f"stem: 3x3 conv, stride {stem.stride}")]
    for bi, spec in enumerate(arch.blocks):
        mine = [L for L in layers if L.block == bi]
        name = op_name(spec.op, spec.exp_ratio)
        if not mine:
            out.append(Box(f"{name} (removed)", "#FFFFFF", "", "x0",
                           f"block {bi + 1}: removed by its layer delta", removed=True))
            continue
        last = mine[-1]
        label = f"{name} (k{spec.kernel}x{spec.kernel})" + (", SE" if spec.se_ratio else "")
        if spec.skip == "none":
            label += ", no skip"
        elif spec.skip == "pool":
            label += ", pool skip"
        params, macs = by_block.loc[bi + 1] if (bi + 1) in by_block.index else (0, 0)
        hover = (f"block {bi + 1}: {spec.repeats} x {name}, kernel {spec.kernel}, stride "
                 f"{mine[0].stride}<br>SE ratio {spec.se_ratio:g}, skip {spec.skip}<br>"
                 f"{mine[0].in_chs} -> {last.out_chs} channels<br>"
                 f"{params:,} params, {macs / 1e6:,.1f}M MACs")
        out.append(Box(label, _color(spec.op, spec.exp_ratio),
                       f"{last.out_res}x{last.out_res}x{last.out_chs}",
                       f"x{spec.repeats}" if spec.repeats > 1 else "", hover))
    out.append(Box("Conv1x1", OP_COLORS["conv"], f"{head.out_res}x{head.out_res}x{head.out_chs}",
                   "", "head: 1x1 conv"))
    out.append(Box("Pooling, FC", OP_COLORS["io"], f"{arch.num_classes}", "",
                   f"global average pool, dropout {arch.dropout:g}, {arch.num_classes} classes"))
    return out


def block_diagram(arch: Architecture, title: str | None = None) -> go.Figure:
    items = boxes(arch)
    fig = go.Figure()
    xs = [i * (BOX_W + GAP) for i in range(len(items))]
    for x, b in zip(xs, items):
        fig.add_shape(type="rect", x0=x, x1=x + BOX_W, y0=0, y1=BOX_H, fillcolor=b.color,
                      line=dict(color="#999" if b.removed else "#555", width=1.2,
                                dash="dot" if b.removed else "solid"), layer="below")
        fig.add_annotation(x=x + BOX_W / 2, y=BOX_H / 2, text=b.label, textangle=-90,
                           showarrow=False, font=dict(size=12, color="#888" if b.removed
                                                      else "#222"))
        if b.repeats:
            fig.add_annotation(x=x + BOX_W / 2, y=BOX_H + 0.35, text=f"<b>{b.repeats}</b>",
                               showarrow=False, font=dict(size=13))
        if b.shape:
            fig.add_annotation(x=x + BOX_W / 2, y=-0.45, text=b.shape, textangle=-30,
                               showarrow=False, font=dict(size=10, color="#555"))
    for x0, x1 in zip(xs, xs[1:]):  # arrows between consecutive boxes
        fig.add_annotation(x=x1, y=BOX_H / 2, ax=x0 + BOX_W, ay=BOX_H / 2, xref="x", yref="y",
                           axref="x", ayref="y", showarrow=True, arrowhead=2, arrowsize=1,
                           arrowwidth=1.2, arrowcolor="#555", text="")
    # Invisible markers carry the hover text (shapes have none).
    fig.add_trace(go.Scatter(x=[x + BOX_W / 2 for x in xs], y=[BOX_H / 2] * len(xs),
                             mode="markers", marker=dict(size=40, opacity=0),
                             text=[b.hover for b in items], hoverinfo="text", showlegend=False))
    fig.update_xaxes(visible=False, range=[-0.3, xs[-1] + BOX_W + 0.3])
    fig.update_yaxes(visible=False, range=[-1.3, BOX_H + 0.8], scaleanchor=None)
    fig.update_layout(template="plotly_white", height=330, margin=dict(l=5, r=5, t=40 if title
                                                                          else 10, b=5),
                      title=dict(text=title, x=0, font=dict(size=15)) if title else None,
                      plot_bgcolor="white", font=dict(family="Inter, sans-serif"))
    return fig


def legend_items() -> list[tuple[str, str]]:
    """(label, colour) pairs for a legend under the diagram."""
    return [("Conv", OP_COLORS["conv"]), ("SepConv", OP_COLORS["sepconv"]),
            ("MBConv3", OP_COLORS["mbconv3"]), ("MBConv6", OP_COLORS["mbconv6"]),
            ("other", OP_COLORS["other"])]
