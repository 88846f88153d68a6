"""The search space as an editable table (one row per block, one list cell per decision) and
back. No Streamlit here: the page only shows the table; parsing and validation live here and in
SearchSpace, which raises ValueError naming the block and option."""
from __future__ import annotations

import pandas as pd

from mnas_core.space import BlockOptions, SearchSpace

# table column -> (BlockOptions field, cast, suggestions offered in the editor's dropdown,
# column width in pixels: wide enough for the paper's default options on one line, and all
# columns together within the main area of a 1400 px window (~940 px beside the sidebar))
COLUMNS = {
    "ops": ("ops", str, ["conv", "sepconv", "mbconv3", "mbconv6", "mbconv4"], 268),
    "kernels": ("kernels", int, ["3", "5", "7"], 76),
    "SE ratios": ("se_ratios", float, ["0", "0.25", "0.5"], 84),
    "skip ops": ("skips", str, ["pool", "identity", "none"], 160),
    "filter mults": ("filter_mults", float, ["0.5", "0.75", "1", "1.25", "1.5"], 114),
    "layer deltas": ("layer_deltas", int, ["-2", "-1", "0", "1", "2"], 104),
}
# The fixed MobileNetV2 skeleton in one read-only column: "56² 24×2 s2" is a 56x56 input,
# 24 filters, 2 layers, stride 2 (separate columns pushed the options off-screen at 1400 px).
SKELETON = "skeleton"
HELP = {
    "ops": "ConvOps this block may use: conv, sepconv, mbconvN (N = expansion ratio)",
    "kernels": "depthwise / conv kernel sizes (3, 5 or 7)",
    "SE ratios": "squeeze-and-excitation ratio; 0 = no SE",
    "skip ops": "residual: identity, pool (pooled/projected shortcut) or none",
    "filter mults": "output filters as a multiple of MobileNetV2's for this block",
    "layer deltas": "layers added to (or removed from) MobileNetV2's count for this block",
}


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def space_to_table(space: SearchSpace) -> pd.DataFrame:
    rows = []
    sizes = input_sizes(space)
    for i, (opts, (out, layers, stride)) in enumerate(zip(space.blocks, space.skeleton), 1):
        # The MobileNetV2 skeleton sits beside the options it is searched around (read-only).
        row = {"block": i, SKELETON: f"{sizes[i - 1]}² {out}×{layers} s{stride}"}
        for col, (name, *_) in COLUMNS.items():
            row[col] = [_fmt(v) for v in getattr(opts, name)]
        rows.append(row)
    return pd.DataFrame(rows)


def _cast(values, cast, block: int, col: str) -> tuple:
    if values is None or (not isinstance(values, (list, tuple)) and pd.isna(values)):
        return ()
    if isinstance(values, str):  # tolerate "3, 5" typed as plain text
        values = [v for v in values.replace(";", ",").split(",")]
    out = []
    for v in values:
        text = str(v).strip()
        if not text:
            continue
        try:
            number = cast(text) if cast is str else cast(float(text))
        except ValueError:
            raise ValueError(f"block {block}: {col}: {text!r} is not a number") from None
        if cast is int and float(text) != int(float(text)):
            raise ValueError(f"block {block}: {col}: {text!r} must be a whole number")
        out.append(number)
    return tuple(out)


def table_to_space(table: pd.DataFrame, base: SearchSpace) -> SearchSpace:
    """The space the table describes, keeping `base`'s skeleton and network-wide settings.
    Raises ValueError naming the block and option at fault."""
    if len(table) != len(base.skeleton):
        raise ValueError(f"the table must keep one row per block ({len(base.skeleton)} rows); "
                         "rows cannot be added or deleted")
    blocks = []
    for i, (_, row) in enumerate(table.iterrows(), 1):
        kwargs = {name: _cast(row[col], cast, i, col)
                  for col, (name, cast, *_) in COLUMNS.items()}
        blocks.append(BlockOptions(**kwargs))
    return base.replace(blocks=tuple(blocks))


def input_sizes(space: SearchSpace) -> list[str]:
    """Input side of each block at the space's resolution ("56" for 56x56)."""
    out, res = [], (space.resolution - 1) // (1 if space.small_input else 2) + 1
    reduced = False  # small_input runs the first stride-2 block at stride 1 (builder.py)
    for _, _, stride in space.skeleton:
        out.append(str(res))
        if space.small_input and stride == 2 and not reduced:
            stride, reduced = 1, True
        res = (res - 1) // stride + 1
    return out
