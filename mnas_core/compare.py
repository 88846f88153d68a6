"""Models side by side: each model's figures with where they came from, its blocks aligned
block by block with the choices that differ marked, and its cost per block. Used by the app's
Compare page; plain pandas, so a notebook or a script compares the same way.

A model is an `Entry`: a label, the network as deployed (the one whose latency counts), and
the figures recorded for it with how each was obtained. Nothing here measures: a searched
trial brings its run's figures, a zoo model its published ImageNet top-1 and Pixel 1 latency
(`published`), and the caller adds what a source predicts."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pandas as pd

from . import ops
from .arch import Architecture, BlockSpec
from .findings import PUBLISHED_PIXEL1
from .profile import profile
from .reward import RewardConfig, reward

MAX_MODELS = 4
# The per-block choices of the paper's space (section 4.1), in the order a cell lists them.
CHOICES = ("op", "exp_ratio", "kernel", "se_ratio", "skip", "repeats", "out_chs")


@dataclass(frozen=True)
class Entry:
    """One model to compare. `accuracy` is a fraction; `latency_ms` is what was recorded with
    it (None for none); the `*_how` strings say where each figure came from."""

    label: str
    arch: Architecture
    accuracy: float | None = None
    accuracy_how: str = ""
    latency_ms: float | None = None
    latency_how: str = ""


def published(name: str) -> dict | None:
    """The published ImageNet top-1 (%) and Pixel 1 latency (ms) of a zoo model at 224, with
    the source, from the table the README cites; None for a model it does not list."""
    base, _, width = name.partition("_x")
    model = {"mobilenet_v2": "MobileNetV2", "mnasnet_a1": "MnasNet-A1"}.get(base)
    if model is None:
        return None
    table = pd.read_csv(PUBLISHED_PIXEL1)
    row = table[(table.model == model) & (table.width == float(width or 1.0))
                & (table.resolution == 224)]
    if row.empty:
        return None
    r = row.iloc[0]
    return {"top1": float(r.top1), "pixel1_ms": float(r.pixel1_ms), "source": str(r.source)}


def summary(entries: list[Entry], rcfg: RewardConfig,
            predicted_ms: list[float | None] | None = None) -> pd.DataFrame:
    """One row per model: accuracy and latency with their origin, the latency a lookup table
    predicts (`predicted_ms`, one per entry, None where it cannot), parameters, MACs, and the
    reward ACC(m) * (LAT(m)/T)^w (eq. 2) under `rcfg` from the recorded accuracy and latency
    (None when either is missing)."""
    predicted_ms = predicted_ms or [None] * len(entries)
    rows = []
    for e, pred in zip(entries, predicted_ms):
        prof = profile(e.arch)
        r = None
        if e.accuracy is not None and e.latency_ms is not None and rcfg.target_ms:
            r = float(reward(e.accuracy, e.latency_ms, rcfg))
        rows.append({"model": e.label,
                     "accuracy %": None if e.accuracy is None else 100 * e.accuracy,
                     "accuracy from": e.accuracy_how,
                     "latency ms": e.latency_ms, "latency from": e.latency_how,
                     "predicted latency ms": pred,
                     "params M": prof["params"].sum() / 1e6,
                     "MACs M": prof["macs"].sum() / 1e6,
                     "reward": r})
    return pd.DataFrame(rows)


# summary() column -> (row label, number format) for side_by_side; text columns have none.
SHOWN = {"accuracy %": ("accuracy %", "{:.2f}"), "accuracy from": ("accuracy from", None),
         "latency ms": ("latency ms (recorded)", "{:.2f}"), "latency from": ("latency from", None),
         "predicted latency ms": ("predicted latency ms", "{:.2f}"),
         "params M": ("params M", "{:.2f}"), "MACs M": ("MACs M", "{:.0f}"),
         "reward": ("reward", "{:.4f}")}


def side_by_side(table: pd.DataFrame) -> pd.DataFrame:
    """summary() turned for reading: one column per model, one row per figure, as text
    ("—" where a figure is missing). Models as columns, like the aligned blocks, so each
    origin text has a model's whole column and 2-4 models fit a 1400 px window."""
    rows = {}
    for col, (label, fmt) in SHOWN.items():
        rows[label] = ["—" if v is None or (isinstance(v, float) and math.isnan(v))
                       else (fmt.format(v) if fmt else str(v)) for v in table[col]]
    return pd.DataFrame(rows, index=table["model"]).T


def budget_words(budget_json: str | None) -> str:
    """A run's training budget (TrainConfig fields as JSON) in words: "2 epochs, 500 steps";
    "" for none or unreadable."""
    try:
        budget = json.loads(budget_json) if budget_json else {}
    except (TypeError, ValueError):
        return ""
    if not isinstance(budget, dict):
        return ""
    return ", ".join(f"{v:g} {k}" if isinstance(v, (int, float)) else f"{k} {v}"
                     for k, v in budget.items() if v is not None and not isinstance(v, bool))


def block_cell(b: BlockSpec | None) -> str:
    """A block's choices in words, "MBConv6 k5 SE x3 -> 40 (identity)": op, kernel, SE,
    layers, filters, skip; "-" for none (a block the layer delta removed)."""
    if b is None or not b.repeats:
        return "-"
    op = ops.get(b.op).display(b.exp_ratio)
    se = " SE" if b.se_ratio else ""
    return f"{op} k{b.kernel}{se} x{b.repeats} -> {b.out_chs} ({b.skip})"


def blocks(entries: list[Entry]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The models' blocks aligned by position: a table with one row per block and one column
    per model (`block_cell`), and a same-shaped mask, True where that block's choices
    (CHOICES) are not the same in every model. A model with fewer blocks shows "-" there."""
    n = max(len(e.arch.blocks) for e in entries)
    cells, differs = {}, {}
    keys = [[_choices(e.arch.blocks[i]) if i < len(e.arch.blocks) else None for i in range(n)]
            for e in entries]
    for e, row in zip(entries, keys):
        cells[e.label] = [block_cell(e.arch.blocks[i]) if i < len(e.arch.blocks) else "-"
                          for i in range(n)]
        differs[e.label] = [len({str(k[i]) for k in keys}) > 1 for i in range(n)]
    index = [f"block {i + 1}" for i in range(n)]
    return pd.DataFrame(cells, index=index), pd.DataFrame(differs, index=index)


def _choices(b: BlockSpec) -> tuple | None:
    return None if not b.repeats else tuple(getattr(b, c) for c in CHOICES)


def block_costs(entries: list[Entry], per_layer_ms: list[pd.Series | None] | None = None,
                by: str = "block") -> pd.DataFrame:
    """Long table of each model's MACs (millions) and, where `per_layer_ms` gives one per
    entry (aligned with mnas_core.profile.profile's rows), predicted ms, per part of the
    network: stem, block 1..N (`by="layer"`: layer j of block i as "i.j"), head. Columns
    model, part, MACs M, predicted ms."""
    if by not in ("block", "layer"):
        raise ValueError(f"by must be 'block' or 'layer', not {by!r}")
    per_layer_ms = per_layer_ms or [None] * len(entries)
    out = []
    for e, ms in zip(entries, per_layer_ms):
        prof = profile(e.arch)
        # profile() numbers blocks from 1 and leaves stem, head and classifier unnumbered
        part = [("stem" if k == "stem" else "head") if b == "" else
                f"block {b}" if by == "block" else f"{b}.{j}"
                for b, j, k in zip(prof["block"], prof["layer"], prof["kind"])]
        frame = pd.DataFrame({"part": part, "macs": prof["macs"].to_numpy() / 1e6,
                              "ms": ms.to_numpy() if ms is not None else math.nan})
        g = frame.groupby("part", sort=False).sum(min_count=1)
        out.append(pd.DataFrame({"model": e.label, "part": g.index,
                                 "MACs M": g["macs"].to_numpy(),
                                 "predicted ms": g["ms"].to_numpy()}))
    return pd.concat(out, ignore_index=True)


def to_csv(table: pd.DataFrame, aligned: pd.DataFrame, entries: list[Entry]) -> str:
    """The comparison as one CSV: the summary rows, then the aligned blocks, then each
    model's block string (what rebuilds it)."""
    blocks_part = aligned.T.reset_index().rename(columns={"index": "model"})
    strings = pd.DataFrame({"model": [e.label for e in entries],
                            "block string": [e.arch.to_string() for e in entries]})
    return (table.to_csv(index=False) + "\n" + blocks_part.to_csv(index=False) + "\n"
            + strings.to_csv(index=False))
