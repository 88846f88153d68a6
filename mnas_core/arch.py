"""Architectures as data: block specs, whole networks, and the block-string format.

A block string follows the TensorFlow MnasNet reference, e.g. ``r2_k3_s22_e6_i16_o24_se0.25``:

    r<repeats>  k<kernel>  s<stride><stride>  e<exp_ratio>  i<in_chs>  o<out_chs>
    se<se_ratio> (optional)   noskip | pool (optional skip op; identity residual by default)
    conv (optional: a regular k x k convolution instead of a depthwise one)

The conv op is implied where the reference leaves it implicit: ``e1`` is a depthwise-separable
block (``sepconv``: depthwise, BN, act, [SE], pointwise, BN) and ``e>1`` an inverted bottleneck
(``mbconv``). These are the paper's ConvOps: conv, dconv (sepconv) and MBConv; ops.py's table
defines them and their flag tokens.

A whole network is its blocks joined by commas, optionally followed by ``;key=value`` fields for
the network-wide settings that differ from the defaults (width, resolution, classes...).
`parse_arch` and `format_arch` are the one parse/format pair; they round-trip exactly, as do
`to_json` and `from_json`. Every constructor validates types and ranges and raises ValueError
naming the field, so anything accepted can be profiled and built.
"""
from __future__ import annotations

import dataclasses
import json
import math
import numbers
import re
from dataclasses import dataclass
from decimal import Decimal

from . import config, ops

SKIPS = ("none", "identity", "pool")
KERNELS = (3, 5, 7)
ACTS = ("relu", "relu6")
# How the 1x1 head conv follows the width multiplier w (layers.expand_layers applies it):
#   "fixed"  head_chs at every width: the TensorFlow MnasNet reference (mnasnet_model.py builds
#            the head with filters=1280 whatever the depth multiplier) and torchvision's mnasnet*;
#   "widen"  round_filters(head_chs * max(1, w)): MobileNetV2 (Sandler et al. 2018, sec. 4,
#            "trade-off hyper parameters": below 1 the multiplier spares the last conv layer),
#            as in torchvision's mobilenet_v2.
# The two differ only above w = 1. The default is the MnasNet reference's.
HEAD_RULES = ("fixed", "widen")

# Bounds that keep every accepted network finite to profile (width x channels stays a float,
# the layer arithmetic stays exact); all far beyond any mobile network.
MAX_CHANNELS = 16_384
MAX_WIDTH = 16.0
MAX_RESOLUTION = 4096
MAX_REPEATS = 64
MAX_EXP_RATIO = 32
MAX_CLASSES = 1_000_000


# ---------------------------------------------------------------- field validation
def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_int(name: str, value, lo: int, hi: int) -> int:
    """`value` as an int in [lo, hi]; bools and floats (even 3.0) are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {_show(value)}")
    value = int(value)
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {_show(value)}")
    return value


def check_real(name: str, value, lo: float, hi: float, *, lo_open: bool = False,
               hi_open: bool = False) -> float:
    """`value` as a finite float in the interval; bools and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {_show(value)}")
    try:
        value = float(value)
    except OverflowError:  # an integer beyond float range
        raise ValueError(f"{name} must be a finite number, got {_show(value)}") from None
    low_ok = value > lo if lo_open else value >= lo
    high_ok = value < hi if hi_open else value <= hi
    if not (math.isfinite(value) and low_ok and high_ok):
        interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ValueError(f"{name} must be a finite number in {interval}, got {_show(value)}")
    return value


def check_int_choice(name: str, value, choices: tuple) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, one of {choices}, got {_show(value)}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {_show(value)}")
    return int(value)


def check_choice(name: str, value, choices: tuple) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {_show(value)}")
    return value


def check_bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {_show(value)}")
    return value


def check_list(name: str, value) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} must be a list, got {type(value).__name__}")
    return tuple(value)


def load_json(text, what: str):
    """json.loads with every failure (syntax, nesting depth, giant numbers) as ValueError."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
        raise ValueError(f"{what} JSON is malformed: {str(err).splitlines()[0]}") from None


# ---------------------------------------------------------------- specs
@dataclass(frozen=True)
class BlockSpec:
    """One block of the network: `repeats` identical layers; the first has `stride` and maps
    in_chs -> out_chs, the others keep out_chs at stride 1. Channel counts are before the
    network's width multiplier. repeats == 0 removes the block (the search space's layer delta
    -1 on a one-layer block)."""

    op: str
    kernel: int
    stride: int
    exp_ratio: int
    in_chs: int
    out_chs: int
    repeats: int = 1
    se_ratio: float = 0.0
    skip: str = "identity"

    def __post_init__(self):
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        put("op", check_choice("op", self.op, tuple(ops.OPS)))
        put("kernel", check_int_choice("kernel", self.kernel, KERNELS))
        put("stride", check_int_choice("stride", self.stride, (1, 2)))
        put("exp_ratio", check_int("exp_ratio", self.exp_ratio, 1, MAX_EXP_RATIO))
        if ops.OPS[self.op].expands:
            _check(self.exp_ratio > 1, f"{self.op} needs exp_ratio > 1 (e1 is a "
                                       f"{ops.implied(False).name} block)")
        else:
            _check(self.exp_ratio == 1, f"{self.op} has no expansion: exp_ratio must be 1")
        put("in_chs", check_int("in_chs", self.in_chs, 1, MAX_CHANNELS))
        put("out_chs", check_int("out_chs", self.out_chs, 1, MAX_CHANNELS))
        put("repeats", check_int("repeats", self.repeats, 0, MAX_REPEATS))
        put("se_ratio", check_real("se_ratio", self.se_ratio, 0.0, 1.0, hi_open=True))
        put("skip", check_choice("skip", self.skip, SKIPS))

    @classmethod
    def from_dict(cls, d, where: str = "block") -> "BlockSpec":
        return config.load(cls, d, where)


@dataclass(frozen=True)
class Architecture:
    """A whole network: stem conv, blocks, 1x1 head conv, global pool, dropout, classifier.

    `small_input` adapts a 224-style network to 32x32 inputs (CIFAR): the stem and the first
    stride-2 block run at stride 1, so the network downsamples 8x instead of 32x and still ends
    on a 4x4 map. `head_rule` says how the head follows the width multiplier (see HEAD_RULES);
    the default "fixed" is the TensorFlow MnasNet reference's rule."""

    blocks: tuple[BlockSpec, ...] = dataclasses.field(metadata={"item": "block"})
    width: float = 1.0
    resolution: int = 224
    in_chans: int = 3
    num_classes: int = 1000
    stem_chs: int = 32
    head_chs: int = 1280
    act: str = "relu"
    dropout: float = 0.2
    small_input: bool = False
    head_rule: str = "fixed"

    def __post_init__(self):
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        if isinstance(self.blocks, (str, bytes, dict)) or not hasattr(self.blocks, "__iter__"):
            raise ValueError(f"blocks must be a sequence of BlockSpec, got {_show(self.blocks)}")
        put("blocks", tuple(self.blocks))
        _check(len(self.blocks) > 0, "an architecture needs at least one block")
        for i, b in enumerate(self.blocks, 1):
            _check(isinstance(b, BlockSpec), f"block {i} must be a BlockSpec, got {_show(b)}")
        put("width", check_real("width multiplier", self.width, 0.0, MAX_WIDTH, lo_open=True))
        put("resolution", check_int("resolution", self.resolution, 8, MAX_RESOLUTION))
        put("in_chans", check_int("in_chans", self.in_chans, 1, MAX_CHANNELS))
        put("num_classes", check_int("num_classes", self.num_classes, 1, MAX_CLASSES))
        put("stem_chs", check_int("stem_chs", self.stem_chs, 1, MAX_CHANNELS))
        put("head_chs", check_int("head_chs", self.head_chs, 1, MAX_CHANNELS))
        put("act", check_choice("act", self.act, ACTS))
        put("dropout", check_real("dropout", self.dropout, 0.0, 1.0, hi_open=True))
        put("small_input", check_bool("small_input", self.small_input))
        put("head_rule", check_choice("head_rule", self.head_rule, HEAD_RULES))
        chs = self.stem_chs
        for i, b in enumerate(self.blocks):
            # The TF reference builds each layer from its real input, so a declared input that
            # differs loads there (its mnasnet-small does it); it changes nothing but the skip
            # where the block neither expands nor squeezes and declares i != o. Anything
            # else is a slip in the string: refuse it.
            if not (b.in_chs == chs or (b.exp_ratio == 1 and not b.se_ratio and
                                        b.skip != "pool" and b.in_chs != b.out_chs)):
                # formatted only here: an eager f-string cost a third of this check's time
                raise ValueError(f"block {i + 1} ({format_block(b)}) has i{b.in_chs} but the "
                                 f"previous layer outputs {chs} channels")
            chs = b.out_chs if b.repeats else chs

    def replace(self, **changes) -> "Architecture":
        return dataclasses.replace(self, **changes)

    def to_string(self) -> str:
        return format_arch(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d) -> "Architecture":
        """The inverse of `to_dict`; ValueError naming the field for anything else."""
        return config.load(cls, d, "architecture")

    @classmethod
    def from_json(cls, text: str) -> "Architecture":
        return cls.from_dict(load_json(text, "architecture"))


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


# ---------------------------------------------------------------- block strings
# ASCII digits only: re's \d would also take e.g. Arabic-Indic digits, which int() accepts.
_TOKEN = re.compile(r"^(r|k|s|e|i|o|se)(\d+(?:\.\d+)?)$", re.ASCII)


def parse_block(text: str) -> BlockSpec:
    """Parse one block string; raise ValueError naming the offending token."""
    if not text.strip():
        raise ValueError("empty block string: expected e.g. r2_k3_s22_e6_i16_o24")
    fields: dict[str, str] = {}
    flags: list[str] = []
    op_flags = ops.flags()
    for tok in text.strip().split("_"):
        if tok in ops.SKIP_FLAGS or tok in op_flags:
            if tok in flags:
                raise ValueError(f"block {text!r}: token {tok!r} given twice")
            flags.append(tok)
            continue
        m = _TOKEN.match(tok)
        if not m:
            raise ValueError(f"block {text!r}: unknown token {tok!r}")
        key, val = m.groups()
        if key in fields:
            raise ValueError(f"block {text!r}: token {tok!r} repeats field {key!r}")
        fields[key] = val
    missing = [k for k in ("r", "k", "s", "e", "i", "o") if k not in fields]
    if missing:
        raise ValueError(f"block {text!r}: missing field(s) {', '.join(missing)}")
    skips = [f for f in flags if f in ops.SKIP_FLAGS]
    if len(skips) > 1:
        raise ValueError(f"block {text!r}: {' and '.join(map(repr, skips))} contradict each other")

    def integer(key: str) -> int:
        if not fields[key].isdigit():
            raise ValueError(f"block {text!r}: token '{key}{fields[key]}' needs an integer")
        if len(fields[key]) > 9:  # beyond every bound below; keeps int() and messages short
            raise ValueError(f"block {text!r}: token '{key}{fields[key][:12]}...' is too large")
        return int(fields[key])

    s = fields["s"]
    if len(s) != 2 or s[0] != s[1]:
        raise ValueError(f"block {text!r}: token 's{s}' must be two equal digits (s11, s22)")
    exp = integer("e")
    chosen = [op_flags[f] for f in flags if f in op_flags]
    if len(chosen) > 1:
        raise ValueError(f"block {text!r}: op tokens {' and '.join(o.flag for o in chosen)} "
                         "contradict each other")
    op = chosen[0].name if chosen else ops.implied(exp > 1).name
    skip = ops.SKIP_FLAGS[skips[0]] if skips else "identity"
    try:
        return BlockSpec(op=op, kernel=integer("k"), stride=int(s[0]), exp_ratio=exp,
                         in_chs=integer("i"), out_chs=integer("o"), repeats=integer("r"),
                         se_ratio=float(fields.get("se", 0)), skip=skip)
    except ValueError as err:
        raise ValueError(f"block {text!r}: {err}") from None


def _decimal(x: float) -> str:
    """Positional digits of repr(x), the shortest text that reads back as exactly x (the block
    token grammar has no exponent: 1e-05 is written 0.00001)."""
    return format(Decimal(repr(x)), "f")


def format_block(b: BlockSpec) -> str:
    parts = [f"r{b.repeats}", f"k{b.kernel}", f"s{b.stride}{b.stride}", f"e{b.exp_ratio}",
             f"i{b.in_chs}", f"o{b.out_chs}"]
    if b.se_ratio:
        parts.append(f"se{_decimal(b.se_ratio)}")
    if b.skip != "identity":
        parts.append(next(f for f, skip in ops.SKIP_FLAGS.items() if skip == b.skip))
    flag = ops.get(b.op).flag
    if flag:
        parts.append(flag)
    return "_".join(parts)


def parse_blocks(text: str) -> tuple[BlockSpec, ...]:
    items = [t for t in text.replace("\n", ",").split(",") if t.strip()]
    if not items:
        raise ValueError("empty block string")
    return tuple(parse_block(t) for t in items)


def format_blocks(blocks) -> str:
    return ",".join(format_block(b) for b in blocks)


# ---------------------------------------------------------------- whole networks
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Architecture) if f.name != "blocks"}
_CASTS = {"width": float, "resolution": int, "in_chans": int, "num_classes": int,
          "stem_chs": int, "head_chs": int, "act": str, "dropout": float,
          "small_input": lambda v: {"1": True, "0": False, "true": True, "false": False}[v.lower()],
          "head_rule": str}


def parse_arch(text: str, **overrides) -> Architecture:
    """Parse ``BLOCKS[;key=value...]``. Keyword overrides win over the string's fields."""
    head, *extras = text.strip().split(";")
    kwargs = {}
    for item in extras:
        key, sep, val = item.partition("=")
        key = key.strip()
        if not sep or key not in _CASTS:
            raise ValueError(f"architecture field {item!r}: expected one of "
                             f"{sorted(_CASTS)} as key=value")
        try:
            kwargs[key] = _CASTS[key](val.strip())
        except (ValueError, KeyError):
            raise ValueError(f"architecture field {item!r}: bad value {val.strip()!r}") from None
    kwargs.update(overrides)
    return Architecture(blocks=parse_blocks(head), **kwargs)


def format_arch(arch: Architecture) -> str:
    extras = []
    for name, default in _DEFAULTS.items():
        val = getattr(arch, name)
        if val != default:
            text = str(int(val)) if isinstance(val, bool) else repr(val) if isinstance(val, float) \
                else str(val)
            extras.append(f"{name}={text}")
    return ";".join([format_blocks(arch.blocks)] + extras)
