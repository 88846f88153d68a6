"""Reference networks as architectures of the space (block strings from ../shared/REFERENCE.md).

Names: ``mobilenet_v2``, ``mnasnet_a1``, ``mnasnet_b1``, each optionally with a width suffix
``_xW`` (listed: 0.35, 0.5, 0.75, 1.3, 1.4; any positive W is accepted). MnasNet keeps its head at
1280 filters at every width (head_rule "fixed", the TensorFlow reference's); MobileNetV2 widens it
above 1.0 (head_rule "widen", its paper's). `TORCHVISION` names each torchvision peer's twin.
"""
from __future__ import annotations

from .arch import Architecture, parse_blocks

# MobileNetV2 1.0 (Sandler et al. 2018): the skeleton MnasNet searches around; ReLU6.
MOBILENET_V2 = ("r1_k3_s11_e1_i32_o16,r2_k3_s22_e6_i16_o24,r3_k3_s22_e6_i24_o32,"
                "r4_k3_s22_e6_i32_o64,r3_k3_s11_e6_i64_o96,r3_k3_s22_e6_i96_o160,"
                "r1_k3_s11_e6_i160_o320")
# MnasNet-A1 and -B1 (TensorFlow reference block strings).
MNASNET_A1 = ("r1_k3_s11_e1_i32_o16_noskip,r2_k3_s22_e6_i16_o24,r3_k5_s22_e3_i24_o40_se0.25,"
              "r4_k3_s22_e6_i40_o80,r2_k3_s11_e6_i80_o112_se0.25,"
              "r3_k5_s22_e6_i112_o160_se0.25,r1_k3_s11_e6_i160_o320")
MNASNET_B1 = ("r1_k3_s11_e1_i32_o16_noskip,r3_k3_s22_e3_i16_o24,r3_k5_s22_e3_i24_o40,"
              "r3_k5_s22_e6_i40_o80,r2_k3_s11_e6_i80_o96,r4_k5_s22_e6_i96_o192,"
              "r1_k3_s11_e6_i192_o320_noskip")

# name -> (blocks, activation, head rule); see arch.HEAD_RULES.
BASES = {
    "mobilenet_v2": (MOBILENET_V2, "relu6", "widen"),
    "mnasnet_a1": (MNASNET_A1, "relu", "fixed"),
    "mnasnet_b1": (MNASNET_B1, "relu", "fixed"),
}
# 0.35-1.4: the TF MnasNet and MobileNetV2 checkpoint tables; 1.3: torchvision's mnasnet1_3 and
# TF slim's MobileNetV2 1.3.
WIDTHS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
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
    return list(BASES) + [f"{b}_x{w:g}" for b in BASES for w in WIDTHS if w != 1.0]


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
    blocks, act, head_rule = BASES[base]
    kwargs = {"width": w, "act": act, "head_rule": head_rule, **overrides}
    return Architecture(blocks=parse_blocks(blocks), **kwargs)
