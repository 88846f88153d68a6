"""The op table: the one place that says what each ConvOp is (torch-free).

The paper's ConvOps (Tan et al. 2019, sec. 4.1): a regular convolution, a depthwise-separable
one ("dconv", here `sepconv`) and a mobile inverted bottleneck with an expansion ratio
(`mbconv`). Each `Op` row is read by the block-string parser (arch), the layer list (layers),
the parameter/MAC count (profile), the search-space tokens (space), the diagram's labels and,
through `Layer.config()`, the latency lookup-table keys. The nn.Module for each name lives in
`blocks.BLOCKS`: adding an op is a row here and a module there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .layers import Layer


@dataclass(frozen=True)
class Cost:
    """Parameters and multiply-adds (MACs); see profile.py for the counting conventions."""

    params: int
    macs: int

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(self.params + other.params, self.macs + other.macs)


ZERO = Cost(0, 0)


def conv_bn(in_chs: int, out_chs: int, kernel: int, out_res: int, groups: int = 1) -> Cost:
    """A k x k convolution (no bias) with groups g, then BatchNorm (weight + bias)."""
    weights = kernel * kernel * (in_chs // groups) * out_chs
    return Cost(weights + 2 * out_chs, weights * out_res * out_res)


def se_width(in_chs: int, se_ratio: float) -> int:
    """MnasNet's squeeze width: max(1, int(input_filters * se_ratio)), from the layer's input
    filters whatever the op (the TF reference's MnasBlock)."""
    return max(1, int(in_chs * se_ratio))


def se_cost(chs: int, in_chs: int, se_ratio: float) -> Cost:
    """Squeeze-excite on `chs` channels: two 1x1 convs with biases; nothing when se_ratio is 0."""
    if not se_ratio:
        return ZERO
    squeeze = se_width(in_chs, se_ratio)
    fc = 2 * chs * squeeze
    return Cost(fc + squeeze + chs, fc)


@dataclass(frozen=True)
class Op:
    """One ConvOp. `expands`: it takes exp_ratio > 1 (space token `<name><N>`, block string
    `e<N>`), else exp_ratio is 1 and the token is the name. `flag`: the block-string token that
    selects it, or None where `e` implies it (e1 a sepconv, e>1 an mbconv, as in the TF
    reference). `cost`: one layer's params and MACs without its shortcut (profile adds that)."""

    name: str
    label: str
    expands: bool
    flag: str | None
    cost: Callable[["Layer"], Cost]

    def token(self, exp_ratio: int) -> str:
        return f"{self.name}{exp_ratio}" if self.expands else self.name

    def display(self, exp_ratio: int) -> str:
        return f"{self.label}{exp_ratio}" if self.expands else self.label


def _mbconv(L: "Layer") -> Cost:
    mid = L.in_chs * L.exp_ratio
    return (conv_bn(L.in_chs, mid, 1, L.res) + conv_bn(mid, mid, L.kernel, L.out_res, mid)
            + se_cost(mid, L.in_chs, L.se_ratio) + conv_bn(mid, L.out_chs, 1, L.out_res))


def _sepconv(L: "Layer") -> Cost:
    return (conv_bn(L.in_chs, L.in_chs, L.kernel, L.out_res, L.in_chs)
            + se_cost(L.in_chs, L.in_chs, L.se_ratio) + conv_bn(L.in_chs, L.out_chs, 1, L.out_res))


def _conv(L: "Layer") -> Cost:
    return conv_bn(L.in_chs, L.out_chs, L.kernel, L.out_res) + se_cost(L.out_chs, L.in_chs,
                                                                         L.se_ratio)


OPS: dict[str, Op] = {op.name: op for op in (
    Op("conv", "Conv", expands=False, flag="conv", cost=_conv),
    Op("sepconv", "SepConv", expands=False, flag=None, cost=_sepconv),
    Op("mbconv", "MBConv", expands=True, flag=None, cost=_mbconv),
)}
# Layer kinds around the searched blocks; they are not ConvOps.
FIXED_KINDS = ("stem", "head", "classifier")
# Block-string flags of the skip ops other than the default identity residual (arch.SKIPS).
SKIP_FLAGS = {"noskip": "none", "pool": "pool"}


def register(op: Op) -> None:
    """Add an op (with its module in blocks.BLOCKS). A name or flag already taken is refused,
    and so is a second implied op: `e` can imply only one expanding and one plain op."""
    taken = {o.flag for o in OPS.values()} | set(SKIP_FLAGS)
    if op.name in OPS or op.name in FIXED_KINDS or (op.flag and op.flag in taken):
        raise ValueError(f"op {op.name!r} (flag {op.flag!r}) is already defined")
    if op.flag is None:
        raise ValueError(f"op {op.name!r} needs a block-string flag: e already implies "
                         f"{implied(False).name} and {implied(True).name}")
    OPS[op.name] = op


def get(name: str) -> Op:
    if name not in OPS:
        raise ValueError(f"unknown op {name!r}: use one of {', '.join(OPS)}")
    return OPS[name]


def implied(expands: bool) -> Op:
    """The op a block string without an op flag means: the plain one for e1, else the
    expanding one."""
    return next(o for o in OPS.values() if o.flag is None and o.expands == expands)


def flags() -> dict[str, Op]:
    return {o.flag: o for o in OPS.values() if o.flag}


def parse_token(token, max_exp_ratio: int) -> tuple[str, int]:
    """A space token ('conv', 'sepconv', 'mbconv6', ...) -> (op name, exp_ratio)."""
    if isinstance(token, str):
        if token in OPS and not OPS[token].expands:
            return token, 1
        for op in OPS.values():
            n = token[len(op.name):] if op.expands and token.startswith(op.name) else ""
            # ASCII only (str.isdigit takes other scripts' digits); the length keeps int() cheap.
            if n.isascii() and n.isdigit() and len(n) <= 3 and n[0] != "0" \
                    and 2 <= int(n) <= max_exp_ratio:
                return op.name, int(n)
    forms = ", ".join(f"{o.name}N" if o.expands else o.name for o in OPS.values())
    raise ValueError(f"unknown op {token!r}: use {forms} with 2 <= N <= {max_exp_ratio} "
                     "(e.g. mbconv3, mbconv6)")
