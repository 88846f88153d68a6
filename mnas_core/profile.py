"""Parameters and multiply-adds (MACs) per layer, computed from the architecture alone.

Conventions (those behind the paper's and torchvision's figures): a k x k convolution with
groups g costs k*k*(in/g)*out*H_out*W_out MACs; squeeze-excite and the classifier count their
fully connected products; BatchNorm, activations, pooling, the SE gate and residual additions
cost no MACs. Parameters count conv/linear weights and biases and BatchNorm weight + bias
(running statistics are buffers, not parameters).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .arch import Architecture
from .blocks import se_width
from .builder import Layer, expand_layers


@dataclass(frozen=True)
class Cost:
    params: int
    macs: int

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(self.params + other.params, self.macs + other.macs)


ZERO = Cost(0, 0)


def _conv_bn(in_chs: int, out_chs: int, kernel: int, out_res: int, groups: int = 1) -> Cost:
    weights = kernel * kernel * (in_chs // groups) * out_chs
    return Cost(weights + 2 * out_chs, weights * out_res * out_res)


def _se(chs: int, squeeze: int) -> Cost:
    fc = 2 * chs * squeeze
    return Cost(fc + squeeze + chs, fc)


def _shortcut(L: Layer) -> Cost:
    if L.skip == "pool" and L.in_chs != L.out_chs:
        return _conv_bn(L.in_chs, L.out_chs, 1, L.out_res)
    return ZERO


def layer_cost(L: Layer) -> Cost:
    r = L.out_res
    if L.kind in ("stem", "head"):
        return _conv_bn(L.in_chs, L.out_chs, L.kernel, r)
    if L.kind == "classifier":
        return Cost(L.in_chs * L.out_chs + L.out_chs, L.in_chs * L.out_chs)
    squeeze = se_width(L.in_chs, L.se_ratio)
    if L.kind == "mbconv":
        mid = L.in_chs * L.exp_ratio
        cost = (_conv_bn(L.in_chs, mid, 1, L.res) + _conv_bn(mid, mid, L.kernel, r, mid)
                + _conv_bn(mid, L.out_chs, 1, r) + (_se(mid, squeeze) if L.se_ratio else ZERO))
    elif L.kind == "sepconv":
        cost = (_conv_bn(L.in_chs, L.in_chs, L.kernel, r, L.in_chs)
                + _conv_bn(L.in_chs, L.out_chs, 1, r)
                + (_se(L.in_chs, squeeze) if L.se_ratio else ZERO))
    elif L.kind == "conv":
        cost = (_conv_bn(L.in_chs, L.out_chs, L.kernel, r)
                + (_se(L.out_chs, squeeze) if L.se_ratio else ZERO))
    else:
        raise ValueError(f"unknown layer kind {L.kind!r}")
    return cost + _shortcut(L)


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
