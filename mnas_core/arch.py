"""Architectures as data: block specs, whole networks, and the block-string format.

A block string follows the TensorFlow MnasNet reference, e.g. ``r2_k3_s22_e6_i16_o24_se0.25``:

    r<repeats>  k<kernel>  s<stride><stride>  e<exp_ratio>  i<in_chs>  o<out_chs>
    se<se_ratio> (optional)   noskip | pool (optional skip op; identity residual by default)
    conv (optional: a regular k x k convolution instead of a depthwise one)

The conv op is implied where the reference leaves it implicit: ``e1`` is a depthwise-separable
block (``sepconv``: depthwise, BN, act, [SE], pointwise, BN) and ``e>1`` an inverted bottleneck
(``mbconv``). These are the paper's ConvOps: conv, dconv (sepconv) and MBConv.

A whole network is its blocks joined by commas, optionally followed by ``;key=value`` fields for
the network-wide settings that differ from the defaults (width, resolution, classes...).
`parse_arch` and `format_arch` are the one parse/format pair; they round-trip exactly.
"""
from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass

OPS = ("conv", "sepconv", "mbconv")
SKIPS = ("none", "identity", "pool")
KERNELS = (3, 5, 7)
ACTS = ("relu", "relu6")


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
        _check(self.op in OPS, f"op must be one of {OPS}, got {self.op!r}")
        _check(self.kernel in KERNELS, f"kernel must be one of {KERNELS}, got {self.kernel}")
        _check(self.stride in (1, 2), f"stride must be 1 or 2, got {self.stride}")
        _check(isinstance(self.exp_ratio, int) and self.exp_ratio >= 1,
               f"exp_ratio must be a positive integer, got {self.exp_ratio}")
        if self.op == "mbconv":
            _check(self.exp_ratio > 1, "mbconv needs exp_ratio > 1 (e1 is a sepconv block)")
        else:
            _check(self.exp_ratio == 1, f"{self.op} has no expansion: exp_ratio must be 1")
        _check(self.in_chs > 0 and self.out_chs > 0, "in_chs and out_chs must be positive")
        _check(self.repeats >= 0, f"repeats must be >= 0, got {self.repeats}")
        _check(0.0 <= self.se_ratio < 1.0, f"se_ratio must be in [0, 1), got {self.se_ratio}")
        _check(self.skip in SKIPS, f"skip must be one of {SKIPS}, got {self.skip!r}")


@dataclass(frozen=True)
class Architecture:
    """A whole network: stem conv, blocks, 1x1 head conv, global pool, dropout, classifier.

    `small_input` adapts a 224-style network to 32x32 inputs (CIFAR): the stem and the first
    stride-2 block run at stride 1, so the network downsamples 8x instead of 32x and still ends
    on a 4x4 map."""

    blocks: tuple[BlockSpec, ...]
    width: float = 1.0
    resolution: int = 224
    in_chans: int = 3
    num_classes: int = 1000
    stem_chs: int = 32
    head_chs: int = 1280
    act: str = "relu"
    dropout: float = 0.2
    small_input: bool = False

    def __post_init__(self):
        object.__setattr__(self, "blocks", tuple(self.blocks))
        _check(len(self.blocks) > 0, "an architecture needs at least one block")
        _check(self.width > 0, f"width multiplier must be > 0, got {self.width}")
        _check(self.resolution >= 8, f"resolution must be >= 8, got {self.resolution}")
        _check(self.in_chans > 0 and self.num_classes > 0, "in_chans and num_classes must be > 0")
        _check(self.act in ACTS, f"act must be one of {ACTS}, got {self.act!r}")
        _check(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}")
        chs = self.stem_chs
        for i, b in enumerate(self.blocks):
            _check(b.in_chs == chs, f"block {i + 1} ({format_block(b)}) has i{b.in_chs} "
                                    f"but the previous layer outputs {chs} channels")
            chs = b.out_chs if b.repeats else chs

    def replace(self, **changes) -> "Architecture":
        return dataclasses.replace(self, **changes)

    def to_string(self) -> str:
        return format_arch(self)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Architecture":
        d = json.loads(text)
        d["blocks"] = tuple(BlockSpec(**b) for b in d["blocks"])
        return cls(**d)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


# ---------------------------------------------------------------- block strings
_TOKEN = re.compile(r"^(r|k|s|e|i|o|se)(\d+(?:\.\d+)?)$")


def parse_block(text: str) -> BlockSpec:
    """Parse one block string; raise ValueError naming the offending token."""
    if not text.strip():
        raise ValueError("empty block string: expected e.g. r2_k3_s22_e6_i16_o24")
    fields: dict[str, str] = {}
    flags: list[str] = []
    for tok in text.strip().split("_"):
        if tok in ("noskip", "pool", "conv"):
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
    if "noskip" in flags and "pool" in flags:
        raise ValueError(f"block {text!r}: 'noskip' and 'pool' contradict each other")

    def integer(key: str) -> int:
        if not fields[key].isdigit():
            raise ValueError(f"block {text!r}: token '{key}{fields[key]}' needs an integer")
        return int(fields[key])

    s = fields["s"]
    if len(s) != 2 or s[0] != s[1]:
        raise ValueError(f"block {text!r}: token 's{s}' must be two equal digits (s11, s22)")
    exp = integer("e")
    op = "conv" if "conv" in flags else ("mbconv" if exp > 1 else "sepconv")
    skip = "none" if "noskip" in flags else ("pool" if "pool" in flags else "identity")
    try:
        return BlockSpec(op=op, kernel=integer("k"), stride=int(s[0]), exp_ratio=exp,
                         in_chs=integer("i"), out_chs=integer("o"), repeats=integer("r"),
                         se_ratio=float(fields.get("se", 0)), skip=skip)
    except ValueError as err:
        raise ValueError(f"block {text!r}: {err}") from None


def format_block(b: BlockSpec) -> str:
    parts = [f"r{b.repeats}", f"k{b.kernel}", f"s{b.stride}{b.stride}", f"e{b.exp_ratio}",
             f"i{b.in_chs}", f"o{b.out_chs}"]
    if b.se_ratio:
        parts.append(f"se{b.se_ratio:g}")
    if b.skip != "identity":
        parts.append("noskip" if b.skip == "none" else "pool")
    if b.op == "conv":
        parts.append("conv")
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
          "small_input": lambda v: {"1": True, "0": False, "true": True, "false": False}[v.lower()]}


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
