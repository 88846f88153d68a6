"""Reference networks as architectures of the space (block strings from ../shared/REFERENCE.md).

Names: ``mobilenet_v2``, ``mnasnet_a1``, ``mnasnet_b1``, each optionally with a width suffix
``_x0.35``, ``_x0.5``, ``_x0.75``, ``_x1.0`` or ``_x1.4``.
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

BASES = {
    "mobilenet_v2": (MOBILENET_V2, "relu6"),
    "mnasnet_a1": (MNASNET_A1, "relu"),
    "mnasnet_b1": (MNASNET_B1, "relu"),
}
WIDTHS = (0.35, 0.5, 0.75, 1.0, 1.4)


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
    blocks, act = BASES[base]
    kwargs = {"width": w, "act": act, **overrides}
    return Architecture(blocks=parse_blocks(blocks), **kwargs)
