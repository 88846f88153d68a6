"""Building blocks as plain nn.Modules. They know nothing of search spaces or block strings.

Every layer maps (N, in_chs, H, W) -> (N, out_chs, H/stride, W/stride). BatchNorm uses the
TensorFlow reference's momentum 0.99 / eps 1e-3 (PyTorch momentum = 1 - 0.99).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch
from torch import nn

from .ops import se_width

if TYPE_CHECKING:
    from .layers import Layer

BN_MOMENTUM = 0.01
BN_EPS = 1e-3


def make_act(name: str) -> nn.Module:
    return nn.ReLU6(inplace=True) if name == "relu6" else nn.ReLU(inplace=True)


class ConvBnAct(nn.Sequential):
    """k x k convolution (no bias), BatchNorm, optional activation."""

    def __init__(self, in_chs: int, out_chs: int, kernel: int = 1, stride: int = 1,
                 groups: int = 1, act: str | None = "relu"):
        layers = [nn.Conv2d(in_chs, out_chs, kernel, stride, kernel // 2, groups=groups,
                            bias=False),
                  nn.BatchNorm2d(out_chs, eps=BN_EPS, momentum=BN_MOMENTUM)]
        if act:
            layers.append(make_act(act))
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: global pool, 1x1 reduce, ReLU, 1x1 expand, sigmoid gate.
    The squeeze width comes from the caller (MnasNet: from the layer's input filters)."""

    def __init__(self, chs: int, squeeze_chs: int):
        super().__init__()
        self.reduce = nn.Conv2d(chs, squeeze_chs, 1)
        self.act = nn.ReLU(inplace=True)
        self.expand = nn.Conv2d(squeeze_chs, chs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(self.act(self.reduce(s))))


class Shortcut(nn.Module):
    """The skip op. 'identity' adds the input where shapes allow (stride 1, in == out) and is
    absent elsewhere, as in MobileNetV2. 'pool' always adds a 3x3 average-pooled input (strided
    like the layer), projected by a 1x1 conv + BN when the channel count changes. 'none' adds
    nothing."""

    def __init__(self, skip: str, in_chs: int, out_chs: int, stride: int):
        super().__init__()
        self.kind = skip
        self.proj = None
        if skip == "identity" and (stride != 1 or in_chs != out_chs):
            self.kind = "none"
        if self.kind == "pool":
            self.pool = nn.AvgPool2d(3, stride, 1, count_include_pad=False)
            if in_chs != out_chs:
                self.proj = ConvBnAct(in_chs, out_chs, 1, act=None)

    def forward(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        if self.kind == "identity":
            return out + x
        if self.kind == "pool":
            x = self.pool(x)
            return out + (self.proj(x) if self.proj is not None else x)
        return out


class MBConv(nn.Module):
    """Mobile inverted bottleneck: 1x1 expand, BN, act, k x k depthwise, BN, act, [SE],
    1x1 project, BN (linear), + shortcut."""

    def __init__(self, in_chs: int, out_chs: int, kernel: int, stride: int, exp_ratio: int,
                 se_ratio: float = 0.0, skip: str = "identity", act: str = "relu"):
        super().__init__()
        mid = in_chs * exp_ratio
        self.expand = ConvBnAct(in_chs, mid, 1, act=act)
        self.depthwise = ConvBnAct(mid, mid, kernel, stride, groups=mid, act=act)
        self.se = SqueezeExcite(mid, se_width(in_chs, se_ratio)) if se_ratio else nn.Identity()
        self.project = ConvBnAct(mid, out_chs, 1, act=None)
        self.shortcut = Shortcut(skip, in_chs, out_chs, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.se(self.depthwise(self.expand(x))))
        return self.shortcut(x, out)


class SepConv(nn.Module):
    """Depthwise-separable conv (the paper's dconv): k x k depthwise, BN, act, [SE],
    1x1 pointwise, BN (linear), + shortcut. Equal to an MBConv with exp_ratio 1."""

    def __init__(self, in_chs: int, out_chs: int, kernel: int, stride: int,
                 se_ratio: float = 0.0, skip: str = "identity", act: str = "relu"):
        super().__init__()
        self.depthwise = ConvBnAct(in_chs, in_chs, kernel, stride, groups=in_chs, act=act)
        self.se = SqueezeExcite(in_chs, se_width(in_chs, se_ratio)) if se_ratio else nn.Identity()
        self.project = ConvBnAct(in_chs, out_chs, 1, act=None)
        self.shortcut = Shortcut(skip, in_chs, out_chs, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x, self.project(self.se(self.depthwise(x))))


class RegularConv(nn.Module):
    """A regular k x k convolution, BN, act, [SE], + shortcut."""

    def __init__(self, in_chs: int, out_chs: int, kernel: int, stride: int,
                 se_ratio: float = 0.0, skip: str = "identity", act: str = "relu"):
        super().__init__()
        self.conv = ConvBnAct(in_chs, out_chs, kernel, stride, act=act)
        self.se = SqueezeExcite(out_chs, se_width(in_chs, se_ratio)) if se_ratio else nn.Identity()
        self.shortcut = Shortcut(skip, in_chs, out_chs, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x, self.se(self.conv(x)))


# ops.OPS name -> the module for one layer of that op (builder.build_layer reads it).
BLOCKS: dict[str, Callable[["Layer"], nn.Module]] = {
    "mbconv": lambda L: MBConv(L.in_chs, L.out_chs, L.kernel, L.stride, L.exp_ratio,
                               L.se_ratio, L.skip, L.act),
    "sepconv": lambda L: SepConv(L.in_chs, L.out_chs, L.kernel, L.stride, L.se_ratio, L.skip,
                                 L.act),
    "conv": lambda L: RegularConv(L.in_chs, L.out_chs, L.kernel, L.stride, L.se_ratio, L.skip,
                                  L.act),
}
