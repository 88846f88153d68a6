"""Batched, seeded augmentation on uint8 tensors."""
from __future__ import annotations

import pytest
import torch

from mnas_core.data.augment import augment, random_crop, random_flip


def test_random_crop_translates_within_padding():
    x = torch.zeros(64, 1, 9, 9, dtype=torch.uint8)
    x[:, :, 4, 4] = 255
    out = random_crop(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    ys, xs = (out[:, 0] == 255).nonzero()[:, 1:].T
    assert ys.min() >= 2 and ys.max() <= 6 and xs.min() >= 2 and xs.max() <= 6
    assert len(set(zip(ys.tolist(), xs.tolist()))) > 5  # really random per image


def test_flip_and_policies():
    x = torch.arange(2 * 4).reshape(2, 1, 1, 4).repeat(50, 1, 1, 1).to(torch.uint8)
    out = random_flip(x, torch.Generator().manual_seed(0))
    flipped = (out == x.flip(3)).all(dim=(1, 2, 3))
    assert 10 < int(flipped.sum()) < 90
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(augment(x, "none", 2, gen), x)
    with pytest.raises(ValueError, match="policy"):
        augment(x, "rotate", 2, gen)
