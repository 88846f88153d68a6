"""Reference networks as architectures: MobileNetV2, and every network of the TensorFlow MnasNet
reference (tensorflow/tpu, models/official/mnasnet/mnasnet_models.py) from its block strings
verbatim, with its stem, dropout and head.

Names: ``mobilenet_v2``, ``mnasnet_a1``, ``mnasnet_b1``, ``mnasnet_small``, ``mnasnet_d1``,
``mnasnet_d1_320``, each optionally with a width suffix ``_xW`` (listed: 0.35, 0.5, 0.75, 1.3,
1.4; any positive W is accepted). MnasNet keeps its head at 1280 filters at every width
(head_rule "fixed", the reference's); MobileNetV2 widens it above 1.0 (head_rule "widen", its
paper's). `TORCHVISION` names each torchvision peer's twin. Each stage below is commented with
its input resolution at the network's default input size (after the stride-2 stem).
"""
from __future__ import annotations

from .arch import Architecture, parse_blocks


def _join(*stages: str) -> str:
    return ",".join(stages)


# MobileNetV2 1.0 (Sandler et al. 2018, Table 2): the skeleton MnasNet searches around; ReLU6.
MOBILENET_V2 = _join(
    "r1_k3_s11_e1_i32_o16",         # 112x112
    "r2_k3_s22_e6_i16_o24",         # 112x112 -> 56
    "r3_k3_s22_e6_i24_o32",         # 56x56 -> 28
    "r4_k3_s22_e6_i32_o64",         # 28x28 -> 14
    "r3_k3_s11_e6_i64_o96",         # 14x14
    "r3_k3_s22_e6_i96_o160",        # 14x14 -> 7
    "r1_k3_s11_e6_i160_o320",       # 7x7
)
# MnasNet-A1 (the paper's Figure 7(a)).
MNASNET_A1 = _join(
    "r1_k3_s11_e1_i32_o16_noskip",  # 112x112
    "r2_k3_s22_e6_i16_o24",         # 112x112 -> 56
    "r3_k5_s22_e3_i24_o40_se0.25",  # 56x56 -> 28
    "r4_k3_s22_e6_i40_o80",         # 28x28 -> 14
    "r2_k3_s11_e6_i80_o112_se0.25",  # 14x14
    "r3_k5_s22_e6_i112_o160_se0.25",  # 14x14 -> 7
    "r1_k3_s11_e6_i160_o320",       # 7x7
)
# MnasNet-B1: the search without squeeze-excite (torchvision's mnasnet*).
MNASNET_B1 = _join(
    "r1_k3_s11_e1_i32_o16_noskip",  # 112x112
    "r3_k3_s22_e3_i16_o24",         # 112x112 -> 56
    "r3_k5_s22_e3_i24_o40",         # 56x56 -> 28
    "r3_k5_s22_e6_i40_o80",         # 28x28 -> 14
    "r2_k3_s11_e6_i80_o96",         # 14x14
    "r4_k5_s22_e6_i96_o192",        # 14x14 -> 7
    "r1_k3_s11_e6_i192_o320_noskip",  # 7x7
)
# MnasNet-small (stem 8, no dropout). Block 1 declares i16 after the 8-filter stem: the
# reference builds it from its real 8-filter input and, as i16 != o8, without a skip.
MNASNET_SMALL = _join(
    "r1_k3_s11_e1_i16_o8",          # 112x112
    "r1_k3_s22_e3_i8_o16",          # 112x112 -> 56
    "r2_k3_s22_e6_i16_o16",         # 56x56 -> 28
    "r4_k5_s22_e6_i16_o32_se0.25",  # 28x28 -> 14
    "r3_k3_s11_e6_i32_o32_se0.25",  # 14x14
    "r3_k5_s22_e6_i32_o88_se0.25",  # 14x14 -> 7
    "r1_k3_s11_e6_i88_o144",        # 7x7
)
# MnasNet-D1: the backbone searched jointly with MnasFPN's head (Chen et al. 2019).
MNASNET_D1 = _join(
    "r1_k3_s11_e9_i32_o24",         # 112x112
    "r3_k3_s22_e9_i24_o36",         # 112x112 -> 56
    "r5_k3_s22_e9_i36_o48",         # 56x56 -> 28
    "r4_k5_s22_e9_i48_o96",         # 28x28 -> 14
    "r5_k7_s11_e3_i96_o96",         # 14x14
    "r3_k3_s22_e9_i96_o80",         # 14x14 -> 7
    "r1_k7_s11_e6_i80_o320_noskip",  # 7x7
)
# MnasNet-D1 for 320x320 inputs.
MNASNET_D1_320 = _join(
    "r3_k5_s11_e6_i32_o24",         # 160x160
    "r4_k7_s22_e9_i24_o36",         # 160x160 -> 80
    "r5_k5_s22_e9_i36_o48",         # 80x80 -> 40
    "r5_k7_s22_e6_i48_o96",         # 40x40 -> 20
    "r5_k3_s11_e9_i96_o144",        # 20x20
    "r5_k5_s22_e6_i144_o160",       # 20x20 -> 10
    "r1_k7_s11_e9_i160_o320",       # 10x10
)

# name -> (blocks, Architecture settings); see arch.HEAD_RULES for the head rule.
BASES = {
    "mobilenet_v2": (MOBILENET_V2, {"act": "relu6", "head_rule": "widen"}),
    "mnasnet_a1": (MNASNET_A1, {}),
    "mnasnet_b1": (MNASNET_B1, {}),
    "mnasnet_small": (MNASNET_SMALL, {"stem_chs": 8, "dropout": 0.0}),
    "mnasnet_d1": (MNASNET_D1, {}),
    "mnasnet_d1_320": (MNASNET_D1_320, {"resolution": 320}),
}
# 0.35-1.4: the TF MnasNet and MobileNetV2 checkpoint tables; 1.3: torchvision's mnasnet1_3 and
# TF slim's MobileNetV2 1.3. Listed for the networks those tables cover; the others are
# published at 1.0 only (a suffix still scales them).
WIDTHS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
WIDTH_LISTED = ("mobilenet_v2", "mnasnet_a1", "mnasnet_b1")
# torchvision.models builder -> the zoo name with the same layers and parameter count
# (tests/test_zoo.py copies torchvision's weights into ours and compares outputs).
TORCHVISION = {
    "mnasnet0_5": "mnasnet_b1_x0.5",
    "mnasnet0_75": "mnasnet_b1_x0.75",
    "mnasnet1_0": "mnasnet_b1",
    "mnasnet1_3": "mnasnet_b1_x1.3",
    "mobilenet_v2": "mobilenet_v2",
}


def names() -> list[str]:
    """Every zoo name: the base names and their width variants."""
    return list(BASES) + [f"{b}_x{w:g}" for b in WIDTH_LISTED for w in WIDTHS if w != 1.0]


def get(name: str, **overrides) -> Architecture:
    """The zoo architecture `name`; keyword overrides (resolution, num_classes, small_input,
    width...) replace its defaults."""
    base, _, width = name.partition("_x")
    if base not in BASES:
        raise ValueError(f"unknown zoo model {name!r}; known: {', '.join(names())}")
    try:
        w = float(width) if width else 1.0
    except ValueError:
        raise ValueError(f"zoo model {name!r}: bad width suffix {width!r}") from None
    blocks, settings = BASES[base]
    kwargs = {"width": w, **settings, **overrides}
    return Architecture(blocks=parse_blocks(blocks), **kwargs)
