"""The concrete layers of a network: the one place that applies the width multiplier, the
small-input stride changes and the spatial bookkeeping (torch-free).

The builder, the profiler, the latency lookup table and the diagram all read `expand_layers`'s
`Layer` list, so they can never disagree about what a network contains.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .arch import Architecture


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
    """One concrete layer at its place in the network. `kind` is an op of ops.OPS or one of
    ops.FIXED_KINDS (stem, head, classifier); `res` is the input's spatial size (square).
    Hashable: the latency lookup table keys on everything but the position."""

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

    @property
    def adds_input(self) -> bool:
        """Whether the layer adds its input to its output (blocks.Shortcut builds this rule):
        'pool' always does, 'identity' only where shapes allow (stride 1, in == out), as in
        MobileNetV2; 'none' never."""
        if self.skip == "identity":
            return self.stride == 1 and self.in_chs == self.out_chs
        return self.skip == "pool"

    def config(self) -> tuple:
        """Everything that determines the layer's cost: every field but the position, in
        field order (the latency tables' keys, so a new field changes every key)."""
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self)
                     if f.name not in _POSITION)


_POSITION = ("block", "index")


def expand_layers(arch: Architecture) -> list[Layer]:
    """The network's layers in order, width-scaled, with their input resolutions."""
    w = arch.width
    res, act = arch.resolution, arch.act
    stem_stride = 1 if arch.small_input else 2
    stem = Layer("stem", arch.in_chans, round_filters(arch.stem_chs * w), res, 3, stem_stride,
                 act=act)
    layers = [stem]
    chs, res = stem.out_chs, stem.out_res
    declared = arch.stem_chs  # the previous layer's output before the width multiplier
    total_stride = stem_stride
    reduced_first = False  # small_input keeps the first stride-2 block at stride 1
    for bi, b in enumerate(arch.blocks):
        stride = b.stride
        if arch.small_input and stride == 2 and not reduced_first and b.repeats:
            stride, reduced_first = 1, True
        out = round_filters(b.out_chs * w)
        # A declared input that differs from the real one (the TF reference's mnasnet-small,
        # block 1): the layer is built from the real input, as the reference's Keras layers
        # are, and its identity skip is dropped, as the reference tests the declared filters
        # (arch.Architecture accepts this only where the declared width changes nothing else).
        first_skip = "none" if b.in_chs != declared and b.skip == "identity" else b.skip
        declared = b.out_chs if b.repeats else declared
        for li in range(b.repeats):
            s = stride if li == 0 else 1
            layer = Layer(b.op, chs, out, res, b.kernel, s, b.exp_ratio, b.se_ratio,
                          first_skip if li == 0 else b.skip, act, bi, li)
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


def network_key(arch: Architecture) -> tuple:
    """What the network computes: its layers' configs in order, and its dropout. Block strings
    that differ only in the settings of a removed block (repeats 0: the space's layer delta -1
    on a one-layer block) build the same network and share a key."""
    return (*(layer.config() for layer in expand_layers(arch)), ("dropout", arch.dropout))
