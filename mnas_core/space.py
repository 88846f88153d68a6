"""The factorized hierarchical search space (paper section 4.1, Figure 4).

The network is 7 blocks over the MobileNetV2 skeleton. Each block picks, once for all its
layers: ConvOp (conv, sepconv, mbconv3, mbconv6), kernel (3, 5), SE ratio (0, 0.25), skip op
(pool, identity, none), filter multiplier (0.75, 1.0, 1.25 x MobileNetV2's filters) and layer
delta (-1, 0, +1 relative to MobileNetV2's layer count). That is S = 4*2*2*3*3*3 = 432 choices
per block; with the paper's B = 5 blocks, S^B = 1.5e13, its "about 10^13". Our default uses all
7 MobileNetV2 blocks, so the controller chooses among 432^7 = 2.8e18 decision sequences.

An architecture is a sequence of categorical decisions (token ids), six per block in the order of
`DECISIONS`; each decision has its own vocabulary. Some sequences give the same network (a block
removed by its layer delta ignores its other choices; two multipliers can round to the same
filter count); `size()` counts sequences, as the paper does.
"""
from __future__ import annotations

import dataclasses
import json
import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from . import config, ops, zoo
from .arch import (ACTS, HEAD_RULES, KERNELS, MAX_CHANNELS, MAX_CLASSES, MAX_EXP_RATIO,
                   MAX_REPEATS, MAX_RESOLUTION, MAX_WIDTH, SKIPS, Architecture, BlockSpec,
                   check_bool, check_choice, check_int, check_int_choice, check_list,
                   check_real, load_json, parse_blocks)
from .layers import round_filters

DECISIONS = ("op", "kernel", "se_ratio", "skip", "filter_mult", "layer_delta")
# MobileNetV2 1.0's blocks (zoo.MOBILENET_V2) as (out_chs, layers, stride); the stem has 32
# filters: (16, 1, 1), (24, 2, 2), (32, 3, 2), (64, 4, 2), (96, 3, 1), (160, 3, 2), (320, 1, 1).
MOBILENET_V2_SKELETON = tuple((b.out_chs, b.repeats, b.stride)
                              for b in parse_blocks(zoo.MOBILENET_V2))


def parse_op(token: str) -> tuple[str, int]:
    """A space token ('conv', 'sepconv', 'mbconvN' with 2 <= N <= MAX_EXP_RATIO; the forms of
    ops.OPS) -> (op, exp_ratio)."""
    return ops.parse_token(token, MAX_EXP_RATIO)


def op_token(op: str, exp_ratio: int) -> str:
    return ops.get(op).token(exp_ratio)


_OPTION_TYPES = {"ops": str, "kernels": int, "se_ratios": float, "skips": str,
                 "filter_mults": float, "layer_deltas": int}


def _element(name: str, value, kind: type):
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"{name}: {value!r:.40} is not a string")
        return value
    if kind is int:
        return check_int(name, value, -10**9, 10**9)  # the real range is checked by validate
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not _finite(value):
        raise ValueError(f"{name}: {value!r:.40} is not a finite number")
    return float(value)  # the range is checked by validate


def _first_difference(built: Architecture, wanted: Architecture) -> str:
    for i, (a, b) in enumerate(zip(built.blocks, wanted.blocks), 1):
        for f in dataclasses.fields(b):
            got, want = getattr(a, f.name), getattr(b, f.name)
            if got != want:
                return f"block {i} {f.name}: {got!r} instead of {want!r}"
    return "other network-wide settings"


def _finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float range
        return False


@dataclass(frozen=True)
class BlockOptions:
    """What one block may choose. Defaults are the paper's."""

    ops: tuple[str, ...] = ("conv", "sepconv", "mbconv3", "mbconv6")
    kernels: tuple[int, ...] = (3, 5)
    se_ratios: tuple[float, ...] = (0.0, 0.25)
    skips: tuple[str, ...] = ("pool", "identity", "none")
    filter_mults: tuple[float, ...] = (0.75, 1.0, 1.25)
    layer_deltas: tuple[int, ...] = (-1, 0, 1)

    def __post_init__(self):
        # Types here (lists of str/int/number, no bools, no 3.0 for an int); ranges in
        # SearchSpace.validate, which knows the block's number and skeleton.
        for name, kind in _OPTION_TYPES.items():
            values = check_list(name, getattr(self, name))
            object.__setattr__(self, name, tuple(_element(name, v, kind) for v in values))

    def vocab(self, decision: str) -> tuple:
        return getattr(self, {"op": "ops", "kernel": "kernels", "se_ratio": "se_ratios",
                              "skip": "skips", "filter_mult": "filter_mults",
                              "layer_delta": "layer_deltas"}[decision])


@dataclass(frozen=True)
class SearchSpace:
    """Per-block options over a skeleton, plus the network-wide settings of every sample."""

    blocks: tuple[BlockOptions, ...] = field(
        default_factory=lambda: tuple(BlockOptions() for _ in MOBILENET_V2_SKELETON),
        metadata={"item": "block"})
    skeleton: tuple[tuple[int, int, int], ...] = MOBILENET_V2_SKELETON
    stem_chs: int = 32
    resolution: int = 224
    num_classes: int = 1000
    in_chans: int = 3
    small_input: bool = False
    width: float = 1.0
    # The rest of Architecture's network-wide settings, at its defaults (the searched
    # MnasNets'); a one-point space of MobileNetV2 (`SearchSpace.of`) needs relu6 and "widen".
    head_chs: int = 1280
    act: str = "relu"
    dropout: float = 0.2
    head_rule: str = "fixed"

    def __post_init__(self):
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        put("blocks", check_list("blocks", self.blocks))
        for i, b in enumerate(self.blocks, 1):
            if not isinstance(b, BlockOptions):
                raise ValueError(f"block {i} must be a BlockOptions, got {b!r:.40}")
        skeleton = []
        for i, entry in enumerate(check_list("skeleton", self.skeleton), 1):
            where = f"skeleton block {i}"
            entry = check_list(where, entry)
            if len(entry) != 3:
                raise ValueError(f"{where} must be [out_chs, layers, stride], got {entry!r:.40}")
            skeleton.append((check_int(f"{where} out_chs", entry[0], 1, MAX_CHANNELS),
                             check_int(f"{where} layers", entry[1], 0, MAX_REPEATS),
                             check_int_choice(f"{where} stride", entry[2], (1, 2))))
        put("skeleton", tuple(skeleton))
        # The network-wide settings of every sample, checked as Architecture checks them.
        put("stem_chs", check_int("stem_chs", self.stem_chs, 1, MAX_CHANNELS))
        put("resolution", check_int("resolution", self.resolution, 8, MAX_RESOLUTION))
        put("num_classes", check_int("num_classes", self.num_classes, 1, MAX_CLASSES))
        put("in_chans", check_int("in_chans", self.in_chans, 1, MAX_CHANNELS))
        put("small_input", check_bool("small_input", self.small_input))
        put("width", check_real("width multiplier", self.width, 0.0, MAX_WIDTH, lo_open=True))
        put("head_chs", check_int("head_chs", self.head_chs, 1, MAX_CHANNELS))
        put("act", check_choice("act", self.act, ACTS))
        put("dropout", check_real("dropout", self.dropout, 0.0, 1.0, hi_open=True))
        put("head_rule", check_choice("head_rule", self.head_rule, HEAD_RULES))
        self.validate()

    # ------------------------------------------------------------ validation
    def validate(self) -> None:
        """Raise ValueError naming the block and option that make the space empty or invalid."""
        if len(self.blocks) != len(self.skeleton):
            raise ValueError(f"{len(self.blocks)} block option sets for a skeleton of "
                             f"{len(self.skeleton)} blocks")
        for i, (opts, (out, layers, stride)) in enumerate(zip(self.blocks, self.skeleton), 1):
            where = f"block {i}"
            for d in DECISIONS:
                vocab = opts.vocab(d)
                if not vocab:
                    raise ValueError(f"{where}: no {d} left to choose from")
                if len(set(vocab)) != len(vocab):
                    raise ValueError(f"{where}: {d} options repeat a value: {list(vocab)}")
            for tok in opts.ops:
                try:
                    parse_op(tok)
                except ValueError as err:
                    raise ValueError(f"{where}: {err}") from None
            bad = [k for k in opts.kernels if k not in KERNELS]
            if bad:
                raise ValueError(f"{where}: kernel {bad[0]} not supported (use {KERNELS})")
            bad = [s for s in opts.se_ratios if not 0 <= s < 1]
            if bad:
                raise ValueError(f"{where}: SE ratio {bad[0]} must be in [0, 1)")
            bad = [s for s in opts.skips if s not in SKIPS]
            if bad:
                raise ValueError(f"{where}: unknown skip op {bad[0]!r} (use {SKIPS})")
            bad = [m for m in opts.filter_mults if not m > 0]
            if bad:
                raise ValueError(f"{where}: filter multiplier {bad[0]} must be > 0")
            bad = [m for m in opts.filter_mults if m > MAX_WIDTH
                   or round_filters(out * m) > MAX_CHANNELS]
            if bad:
                raise ValueError(f"{where}: filter multiplier {bad[0]} is too large (at most "
                                 f"{MAX_WIDTH:g} and {MAX_CHANNELS} filters)")
            counts = [layers + d for d in opts.layer_deltas]
            if max(counts) > MAX_REPEATS:
                raise ValueError(f"{where}: layer delta {max(opts.layer_deltas)} gives more "
                                 f"than {MAX_REPEATS} layers")
            if min(counts) < 0:
                raise ValueError(f"{where}: layer delta {min(opts.layer_deltas)} on its "
                                 f"{layers} layer(s) gives a negative layer count")
            if max(counts) == 0:
                raise ValueError(f"{where}: every layer delta leaves it with 0 layers")
            if stride == 2 and min(counts) == 0:
                raise ValueError(f"{where}: layer delta {min(opts.layer_deltas)} would remove "
                                 "this stride-2 block and the downsampling it does")
        # Every sample downsamples alike (stride-2 blocks cannot be removed), so the resolution
        # can be checked once here rather than fail in the builder after a run has started.
        total = 1 if self.small_input else 2
        strides = [s for _, _, s in self.skeleton]
        if self.small_input and 2 in strides:
            strides.remove(2)  # the first stride-2 block runs at stride 1 (builder.py)
        total *= math.prod(strides)
        if self.resolution < total:
            raise ValueError(f"resolution {self.resolution} is too small for this skeleton: "
                             f"it downsamples {total}x; use at least {total}")

    # ------------------------------------------------------------ size
    def decisions(self) -> list[tuple[int, str, tuple]]:
        """(block, decision name, vocabulary) for every token, in encoding order."""
        return [(b, d, opts.vocab(d)) for b, opts in enumerate(self.blocks) for d in DECISIONS]

    def vocab_sizes(self) -> list[int]:
        return [len(v) for _, _, v in self.decisions()]

    def block_choices(self) -> list[int]:
        """S_b, the number of choices of each block."""
        return [math.prod(len(opts.vocab(d)) for d in DECISIONS) for opts in self.blocks]

    def log10_size(self) -> float:
        return sum(math.log10(s) for s in self.block_choices())

    def size(self) -> int:
        return math.prod(self.block_choices())

    def log10_per_layer_size(self) -> float:
        """Size of a flat per-layer space over the skeleton's layers, each layer choosing S_b
        on its own: the paper's S^(B*N) comparison (10^39 for S=432, B=5, N=3)."""
        return sum(n * math.log10(s) for s, (_, n, _) in zip(self.block_choices(),
                                                              self.skeleton))

    # ------------------------------------------------------------ tokens <-> architectures
    def decode(self, tokens) -> Architecture:
        tokens = [int(t) for t in tokens]
        sizes = self.vocab_sizes()
        if len(tokens) != len(sizes):
            raise ValueError(f"expected {len(sizes)} tokens, got {len(tokens)}")
        for i, (t, n) in enumerate(zip(tokens, sizes)):
            if not 0 <= t < n:
                raise ValueError(f"token {i} = {t} is outside its vocabulary of {n}")
        specs, chs, k = [], self.stem_chs, len(DECISIONS)
        for b, (opts, (out, layers, stride)) in enumerate(zip(self.blocks, self.skeleton)):
            choice = {d: opts.vocab(d)[tokens[b * k + j]] for j, d in enumerate(DECISIONS)}
            op, exp = parse_op(choice["op"])
            spec = BlockSpec(op=op, kernel=choice["kernel"], stride=stride, exp_ratio=exp,
                             in_chs=chs, out_chs=round_filters(out * choice["filter_mult"]),
                             repeats=layers + int(choice["layer_delta"]),
                             se_ratio=float(choice["se_ratio"]), skip=choice["skip"])
            specs.append(spec)
            chs = spec.out_chs if spec.repeats else chs
        return Architecture(blocks=tuple(specs), width=self.width, resolution=self.resolution,
                            in_chans=self.in_chans, num_classes=self.num_classes,
                            stem_chs=self.stem_chs, small_input=self.small_input,
                            head_chs=self.head_chs, act=self.act, dropout=self.dropout,
                            head_rule=self.head_rule)

    def encode(self, arch: Architecture) -> list[int]:
        """Token ids of `arch`; ValueError if it is not in the space."""
        if len(arch.blocks) != len(self.blocks):
            raise ValueError(f"architecture has {len(arch.blocks)} blocks, space has "
                             f"{len(self.blocks)}")
        tokens = []
        for b, (spec, opts, (out, layers, stride)) in enumerate(
                zip(arch.blocks, self.blocks, self.skeleton), 1):
            mults = [m for m in opts.filter_mults if round_filters(out * m) == spec.out_chs]
            values = {"op": op_token(spec.op, spec.exp_ratio), "kernel": spec.kernel,
                      "se_ratio": spec.se_ratio, "skip": spec.skip,
                      "filter_mult": mults[0] if mults else None,
                      "layer_delta": spec.repeats - layers}
            if spec.stride != stride:
                raise ValueError(f"block {b}: stride {spec.stride}, skeleton has {stride}")
            for d in DECISIONS:
                vocab = opts.vocab(d)
                if values[d] not in vocab:
                    raise ValueError(f"block {b}: {d} {values[d]} is not among {list(vocab)}")
                tokens.append(vocab.index(values[d]))
        return tokens

    def sample_tokens(self, rng: np.random.Generator) -> list[int]:
        return [int(rng.integers(n)) for n in self.vocab_sizes()]

    def sample(self, rng: np.random.Generator) -> Architecture:
        """A uniformly random architecture (uniform over decision sequences)."""
        return self.decode(self.sample_tokens(rng))

    @classmethod
    def of(cls, arch: Architecture) -> "SearchSpace":
        """The one-point space whose only sample is `arch`: its blocks as the skeleton, one
        option per decision. A search over it trains and times a reference network exactly
        as a search's trials are (the zoo points of sample_runs/). ValueError if no space
        decodes to `arch` (e.g. a block declaring an input other than the previous output)."""
        blocks = tuple(BlockOptions(ops=(op_token(b.op, b.exp_ratio),), kernels=(b.kernel,),
                                    se_ratios=(b.se_ratio,), skips=(b.skip,),
                                    filter_mults=(1.0,), layer_deltas=(0,))
                       for b in arch.blocks)
        settings = {f: getattr(arch, f) for f in ("resolution", "num_classes", "in_chans",
                                                  "small_input", "width", "stem_chs",
                                                  "head_chs", "act", "dropout", "head_rule")}
        space = cls(blocks=blocks, skeleton=tuple((b.out_chs, b.repeats, b.stride)
                                                  for b in arch.blocks), **settings)
        decoded = space.decode([0] * len(space.vocab_sizes()))
        if decoded != arch:
            raise ValueError("no search space has this network as a sample: it would build "
                             + _first_difference(decoded, arch))
        return space

    # ------------------------------------------------------------ (de)serialization
    def replace(self, **changes) -> "SearchSpace":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, d) -> "SearchSpace":
        """The inverse of `to_dict`; ValueError naming the field for anything else. Absent
        fields take the paper's defaults."""
        return config.load(cls, d, "search space")

    @classmethod
    def from_json(cls, text: str) -> "SearchSpace":
        return cls.from_dict(load_json(text, "search space"))
