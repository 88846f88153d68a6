"""Features of an architecture for the accuracy predictor (mnas_core.accuracy.predictor).

They are read from the architecture itself, never from a search space's tokens: recorded runs
sample different (restricted) spaces, and a token id means a different choice in each, while
a block's op, kernel or filter count means the same thing everywhere. Per searched block
(the seven blocks of the MobileNetV2 skeleton the paper's space is built on, section 4.1):

    layers              its layer count (0: the block is removed)
    op_<name>           one-hot of its ConvOp (ops.OPS at fit time)
    exp_ratio, kernel   numeric
    se                  1 where squeeze-excite is on (se_ratio > 0)
    skip_<name>         one-hot of its skip op (arch.SKIPS)
    filters             its output filters / MobileNetV2's filters of that block

A removed block's choices do nothing in the network (space.py), so they are zeros here: two
architectures that build the same network get the same features. Network-wide: log10 MACs,
log10 params (of the network as trained: its resolution, classes, small-input stem) and depth
(searched layers). numpy only, no torch: the instant search calls this once per batch.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from .. import config, ops
from ..arch import SKIPS, Architecture, BlockSpec, parse_blocks
from ..layers import Layer, head_filters, round_filters
from ..profile import layer_cost
from ..zoo import MOBILENET_V2

FEATURES_VERSION = 1
# MobileNetV2 1.0's output filters per block: what `filters` is relative to.
SKELETON_FILTERS = tuple(b.out_chs for b in parse_blocks(MOBILENET_V2))
GLOBAL_FEATURES = ("log10_macs", "log10_params", "depth")


@dataclass(frozen=True)
class FeatureSpec:
    """What a feature vector holds; stored with a predictor, so that a file fitted before an
    op was added keeps its columns (an op it has never seen is refused, not guessed)."""

    ops: tuple[str, ...] = field(default_factory=lambda: tuple(ops.OPS))
    skips: tuple[str, ...] = SKIPS
    skeleton: tuple[int, ...] = SKELETON_FILTERS
    version: int = FEATURES_VERSION

    def __post_init__(self):
        for name in ("ops", "skips", "skeleton"):
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)) or not value:
                raise ValueError(f"feature spec: {name} must be a non-empty list")
            object.__setattr__(self, name, tuple(value))
        if self.version != FEATURES_VERSION:
            raise ValueError(f"feature spec version {self.version!r}; this version of MNAS "
                             f"Explorer computes version {FEATURES_VERSION}")
        if any(not isinstance(c, int) or isinstance(c, bool) or c < 1 for c in self.skeleton):
            raise ValueError("feature spec: skeleton must list positive filter counts")

    def block_names(self) -> list[str]:
        return (["layers"] + [f"op_{o}" for o in self.ops] + ["exp_ratio", "kernel", "se"]
                + [f"skip_{s}" for s in self.skips] + ["filters"])

    def names(self) -> list[str]:
        per_block = self.block_names()
        return ([f"b{b}_{n}" for b in range(1, len(self.skeleton) + 1) for n in per_block]
                + list(GLOBAL_FEATURES))

    def to_dict(self) -> dict:
        return {"ops": list(self.ops), "skips": list(self.skips),
                "skeleton": list(self.skeleton), "version": self.version}

    @classmethod
    def from_dict(cls, d) -> "FeatureSpec":
        return config.load(cls, d, "feature spec")


def features(archs: list[Architecture], spec: FeatureSpec | None = None) -> np.ndarray:
    """(len(archs), len(spec.names())) float64 feature matrix; ValueError naming the
    architecture whose blocks do not fit the spec (another block count, an unknown op)."""
    spec = spec or FeatureSpec()
    op_col = {o: i for i, o in enumerate(spec.ops)}
    skip_col = {s: i for i, s in enumerate(spec.skips)}
    width = len(spec.block_names())
    n_ops, n_skips, n_blocks = len(spec.ops), len(spec.skips), len(spec.skeleton)
    out = np.zeros((len(archs), n_blocks * width + len(GLOBAL_FEATURES)))
    for row, arch in zip(out, archs):
        if len(arch.blocks) != n_blocks:
            raise ValueError(f"the predictor's features are for {n_blocks}-block networks "
                             f"(the MobileNetV2 skeleton); this one has {len(arch.blocks)}")
        depth = 0
        for b, (spec_b, base) in enumerate(zip(arch.blocks, spec.skeleton)):
            at = b * width
            row[at] = spec_b.repeats
            depth += spec_b.repeats
            if not spec_b.repeats:  # a removed block: its other choices build nothing
                continue
            if spec_b.op not in op_col:
                raise ValueError(f"block {b + 1}: op {spec_b.op!r} was not among the ops the "
                                 f"predictor was fitted with ({', '.join(spec.ops)})")
            row[at + 1 + op_col[spec_b.op]] = 1.0
            at += 1 + n_ops
            row[at] = spec_b.exp_ratio
            row[at + 1] = spec_b.kernel
            row[at + 2] = 1.0 if spec_b.se_ratio > 0 else 0.0
            row[at + 3 + skip_col[spec_b.skip]] = 1.0
            row[at + 3 + n_skips] = spec_b.out_chs / base
        params, macs = cost(arch)
        row[-3:] = (math.log10(max(macs, 1)), math.log10(max(params, 1)), depth)
    return out


# ------------------------------------------------------------ MACs and params, fast
def cost(arch: Architecture) -> tuple[int, int]:
    """(params, MACs) of `arch`, equal to profile.totals (tests/accuracy/test_features.py
    checks it over random networks of several spaces and the zoo) but about 10x faster.

    profile.totals builds every Layer of the network (layers.expand_layers), ~0.1-0.2 ms
    per network on this 2-core machine: 64 networks alone would take the whole 10 ms the
    instant search can spend on features per batch. Here each block is one cached step
    (`_block`) keyed by the block and what flows into it; its layers are built, and costed by
    profile.layer_cost from the op table, only the first time that key is seen. This walk
    mirrors expand_layers' bookkeeping (width rounding, the small-input stride, the declared
    input): a change there must be made here too, which the equality test catches."""
    w, act = arch.width, arch.act
    stem_stride = 1 if arch.small_input else 2
    stem_chs = round_filters(arch.stem_chs * w)
    params, macs = _layer("stem", arch.in_chans, stem_chs, arch.resolution, 3, stem_stride, act)
    stem_res = (arch.resolution - 1) // stem_stride + 1  # Layer.out_res
    state = (stem_chs, stem_res, arch.stem_chs, not arch.small_input, stem_stride)
    for b in arch.blocks:
        p, m, state = _block(b, state, w, act)
        params, macs = params + p, macs + m
    chs, res, _, _, total_stride = state
    if arch.resolution < total_stride:
        raise ValueError(f"resolution {arch.resolution} is too small for this network: its "
                         f"strides reduce the input {total_stride}x; use at least {total_stride}")
    head = head_filters(arch)
    p, m = _layer("head", chs, head, res, 1, 1, act)
    p2, m2 = _layer("classifier", head, arch.num_classes, 1, 1, 1, "relu")
    return params + p + p2, macs + m + m2


@functools.lru_cache(maxsize=1 << 14)
def _layer(kind: str, in_chs: int, out_chs: int, res: int, kernel: int, stride: int,
           act: str) -> tuple[int, int]:
    """A fixed layer's (params, MACs), keyed by plain values: building a Layer to look one
    up would cost more than the lookup saves."""
    c = layer_cost(Layer(kind, in_chs, out_chs, res, kernel, stride, act=act))
    return c.params, c.macs


@functools.lru_cache(maxsize=1 << 16)  # a few MB at most; a search space has far fewer keys
def _block(b: BlockSpec, state: tuple, w: float, act: str) -> tuple[int, int, tuple]:
    """One block's (params, MACs) and the state after it. state = (real input channels,
    resolution, declared input channels, whether the small-input stride change is spent,
    total stride so far), as expand_layers carries them."""
    chs, res, declared, reduced_first, total_stride = state
    stride = b.stride
    if not reduced_first and stride == 2 and b.repeats:
        stride, reduced_first = 1, True
    out = round_filters(b.out_chs * w)
    first_skip = "none" if b.in_chs != declared and b.skip == "identity" else b.skip
    declared = b.out_chs if b.repeats else declared
    params = macs = 0
    for li in range(b.repeats):
        s = stride if li == 0 else 1
        layer = Layer(b.op, chs, out, res, b.kernel, s, b.exp_ratio, b.se_ratio,
                      first_skip if li == 0 else b.skip, act)
        c = layer_cost(layer)
        params, macs = params + c.params, macs + c.macs
        chs, res = out, layer.out_res
        total_stride *= s
    return params, macs, (chs, res, declared, reduced_first, total_stride)
