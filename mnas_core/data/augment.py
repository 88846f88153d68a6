"""Batched augmentation on uint8 image tensors (N, C, H, W): no per-image Python loop and no
torchvision. Randomness comes from an explicit torch.Generator, so a training run is
reproducible for its seed and never disturbs the caller's global RNG.

Policies are per dataset: a horizontal flip turns a handwritten 2 or 7 into a glyph that is
not a digit, so the built-in digits use crop only; natural images (CIFAR, folders) use both.
"""
from __future__ import annotations

import torch

POLICIES = ("none", "crop", "crop_flip")


def random_crop(x: torch.Tensor, pad: int, gen: torch.Generator) -> torch.Tensor:
    """Zero-pad by `pad` pixels on each side, then take a random HxW window per image: a
    random translation of up to `pad` pixels, as in the CIFAR ResNet recipe."""
    if pad <= 0:
        return x
    n, c, h, w = x.shape
    xp = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    rows = (oy[:, None] + torch.arange(h))[:, None, :, None]   # (N, 1, H, 1)
    cols = (ox[:, None] + torch.arange(w))[:, None, None, :]   # (N, 1, 1, W)
    batch = torch.arange(n)[:, None, None, None]
    chans = torch.arange(c)[None, :, None, None]
    return xp[batch, chans, rows, cols]                        # (N, C, H, W)


def random_flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mirror a random half of the batch left-right."""
    flip = torch.rand(x.shape[0], generator=gen) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def augment(x: torch.Tensor, policy: str, pad: int, gen: torch.Generator) -> torch.Tensor:
    if policy not in POLICIES:
        raise ValueError(f"augmentation policy must be one of {POLICIES}, got {policy!r}")
    if policy == "none":
        return x
    x = random_crop(x, pad, gen)
    return random_flip(x, gen) if policy == "crop_flip" else x
