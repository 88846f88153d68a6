"""Parameters and multiply-adds (MACs) per layer, computed from the architecture alone.

Conventions (those behind the paper's and torchvision's figures): a k x k convolution with
groups g costs k*k*(in/g)*out*H_out*W_out MACs; squeeze-excite and the classifier count their
fully connected products; BatchNorm, activations, pooling, the SE gate and residual additions
cost no MACs. Parameters count conv/linear weights and biases and BatchNorm weight + bias
(running statistics are buffers, not parameters).
"""
from __future__ import annotations

import pandas as pd

from . import ops
from .arch import Architecture
from .layers import Layer, expand_layers
from .ops import ZERO, Cost, conv_bn


def _shortcut(L: Layer) -> Cost:
    if L.skip == "pool" and L.in_chs != L.out_chs:
        return conv_bn(L.in_chs, L.out_chs, 1, L.out_res)
    return ZERO


def layer_cost(L: Layer) -> Cost:
    """One layer's params and MACs: the fixed kinds here, every ConvOp from its ops.OPS row."""
    if L.kind in ("stem", "head"):
        return conv_bn(L.in_chs, L.out_chs, L.kernel, L.out_res)
    if L.kind == "classifier":
        return Cost(L.in_chs * L.out_chs + L.out_chs, L.in_chs * L.out_chs)
    return ops.get(L.kind).cost(L) + _shortcut(L)


def totals(arch: Architecture) -> Cost:
    """Total params and MACs of the network."""
    total = ZERO
    for L in expand_layers(arch):
        total = total + layer_cost(L)
    return total


def profile(arch: Architecture) -> pd.DataFrame:
    """One row per layer: position, shape, params, MACs."""
    rows = []
    for L in expand_layers(arch):
        c = layer_cost(L)
        rows.append({
            "block": L.block + 1 if L.block >= 0 else "", "layer": L.index + 1 if L.block >= 0
            else "", "kind": L.kind, "kernel": L.kernel, "stride": L.stride,
            "exp_ratio": L.exp_ratio, "se_ratio": L.se_ratio, "skip": L.skip,
            "in_chs": L.in_chs, "out_chs": L.out_chs, "in_res": L.res, "out_res": L.out_res,
            "params": c.params, "macs": c.macs,
        })
    return pd.DataFrame(rows)
