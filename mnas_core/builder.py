"""Architecture -> concrete layers -> nn.Module.

`expand_layers` is the single place that applies the width multiplier, the small-input stride
changes and the spatial bookkeeping; the builder, the profiler and the latency lookup table all
read its `Layer` list, so they can never disagree about what a network contains.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .arch import Architecture
from .blocks import ConvBnAct, MBConv, RegularConv, SepConv


def round_filters(chs: float, divisor: int = 8) -> int:
    """Round to a multiple of `divisor`, never going down by more than 10% (TF reference's
    round_filters; the same function as torchvision's mnasnet `_round_to_multiple_of` with its
    0.9 bias and mobilenet_v2 `_make_divisible`, so one rule serves both peers)."""
    new = max(divisor, int(chs + divisor / 2) // divisor * divisor)
    if new < 0.9 * chs:
        new += divisor
    return int(new)


def head_filters(arch: Architecture) -> int:
    """The head conv's width under `arch.head_rule` (arch.HEAD_RULES): "fixed" keeps head_chs at
    every width (the TensorFlow MnasNet reference, torchvision's mnasnet*); "widen" scales it
    above width 1.0 only (MobileNetV2, Sandler et al. 2018 sec. 4; torchvision's
    mobilenet_v2). Below 1.0 the rules agree: the head keeps its width."""
    w = arch.width
    if arch.head_rule == "widen" and w > 1.0:
        return round_filters(arch.head_chs * w)
    return arch.head_chs


@dataclass(frozen=True)
class Layer:
    """One concrete layer at its place in the network. `kind` is stem, conv, sepconv, mbconv,
    head or classifier; `res` is the input's spatial size (square). Hashable: the latency
    lookup table keys on everything but `block` and `index`."""

    kind: str
    in_chs: int
    out_chs: int
    res: int
    kernel: int = 1
    stride: int = 1
    exp_ratio: int = 1
    se_ratio: float = 0.0
    skip: str = "none"
    act: str = "relu"
    block: int = -1  # 0-based block number, -1 for stem/head/classifier
    index: int = 0   # layer number within its block

    @property
    def out_res(self) -> int:
        return (self.res - 1) // self.stride + 1

    def config(self) -> tuple:
        """Everything that determines the layer's cost (its position excluded)."""
        return (self.kind, self.in_chs, self.out_chs, self.res, self.kernel, self.stride,
                self.exp_ratio, self.se_ratio, self.skip, self.act)


def expand_layers(arch: Architecture) -> list[Layer]:
    """The network's layers in order, width-scaled, with their input resolutions."""
    w = arch.width
    res, act = arch.resolution, arch.act
    stem_stride = 1 if arch.small_input else 2
    stem = Layer("stem", arch.in_chans, round_filters(arch.stem_chs * w), res, 3, stem_stride,
                 act=act)
    layers = [stem]
    chs, res = stem.out_chs, stem.out_res
    total_stride = stem_stride
    reduced_first = False  # small_input keeps the first stride-2 block at stride 1
    for bi, b in enumerate(arch.blocks):
        stride = b.stride
        if arch.small_input and stride == 2 and not reduced_first and b.repeats:
            stride, reduced_first = 1, True
        out = round_filters(b.out_chs * w)
        for li in range(b.repeats):
            s = stride if li == 0 else 1
            layer = Layer(b.op, chs, out, res, b.kernel, s, b.exp_ratio, b.se_ratio, b.skip,
                          act, bi, li)
            layers.append(layer)
            chs, res = out, layer.out_res
            total_stride *= s
    if arch.resolution < total_stride:
        raise ValueError(f"resolution {arch.resolution} is too small for this network: its "
                         f"strides reduce the input {total_stride}x; use at least {total_stride}")
    head = head_filters(arch)
    layers.append(Layer("head", chs, head, res, 1, 1, act=act))
    layers.append(Layer("classifier", head, arch.num_classes, 1))
    return layers


def build_layer(layer: Layer) -> nn.Module:
    L = layer
    if L.kind == "mbconv":
        return MBConv(L.in_chs, L.out_chs, L.kernel, L.stride, L.exp_ratio, L.se_ratio, L.skip,
                      L.act)
    if L.kind == "sepconv":
        return SepConv(L.in_chs, L.out_chs, L.kernel, L.stride, L.se_ratio, L.skip, L.act)
    if L.kind == "conv":
        return RegularConv(L.in_chs, L.out_chs, L.kernel, L.stride, L.se_ratio, L.skip, L.act)
    if L.kind in ("stem", "head"):
        return ConvBnAct(L.in_chs, L.out_chs, L.kernel, L.stride, act=L.act)
    if L.kind == "classifier":
        return nn.Linear(L.in_chs, L.out_chs)
    raise ValueError(f"unknown layer kind {L.kind!r}")


class Network(nn.Module):
    """stem -> blocks -> head -> global average pool -> dropout -> classifier."""

    def __init__(self, layers: list[Layer], dropout: float):
        super().__init__()
        stem, *body, head, classifier = layers
        self.stem = build_layer(stem)
        self.blocks = nn.Sequential(*(build_layer(L) for L in body))
        self.head = build_layer(head)
        self.dropout = nn.Dropout(dropout)
        self.classifier = build_layer(classifier)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.blocks(self.stem(x)))             # (N, head_chs, h, w)
        return self.classifier(self.dropout(x.mean((2, 3))))  # (N, num_classes)


def init_weights(model: nn.Module) -> None:
    """He (fan-out) init for convs, as the MnasNet reference; small normal for the classifier."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)


def build_model(arch: Architecture, seed: int | None = None) -> Network:
    """Build the network for `arch`; `seed` makes the initial weights reproducible without
    touching the caller's global RNG."""
    layers = expand_layers(arch)
    with torch.random.fork_rng(enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        model = Network(layers, arch.dropout)
        init_weights(model)
    return model
