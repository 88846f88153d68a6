"""Architecture -> nn.Module: the layers of `layers.expand_layers`, each built by its op's
module in `blocks.BLOCKS`.
"""
from __future__ import annotations

import torch
from torch import nn

from .arch import Architecture
from .blocks import BLOCKS, ConvBnAct
from .layers import Layer, expand_layers


def build_layer(L: Layer) -> nn.Module:
    if L.kind in ("stem", "head"):
        return ConvBnAct(L.in_chs, L.out_chs, L.kernel, L.stride, act=L.act)
    if L.kind == "classifier":
        return nn.Linear(L.in_chs, L.out_chs)
    if L.kind not in BLOCKS:
        raise ValueError(f"no module for layer kind {L.kind!r} in blocks.BLOCKS")
    return BLOCKS[L.kind](L)


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
