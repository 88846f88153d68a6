"""The built-in digits and DataConfig validation."""
from __future__ import annotations

import pytest
import torch

from mnas_core.data import DataConfig, load_dataset


def test_digits_shapes_and_overrides():
    d = load_dataset(DataConfig(resolution=16))
    assert d.train_x.dtype == torch.uint8 and d.train_x.shape[1:] == (1, 16, 16)
    assert d.train_y.dtype == torch.int64 and d.num_classes == 10 and d.in_chans == 1
    assert len(d.train_y) + len(d.val_y) + len(d.test_y) == 1797
    assert d.augment == "crop"  # no flips for handwriting
    assert d.arch_overrides() == {"resolution": 16, "num_classes": 10, "in_chans": 1,
                                  "small_input": True}
    assert int(d.train_x.max()) > 200  # scaled from 0..16 to the uint8 range


def _rows(x: torch.Tensor) -> set:
    return {bytes(r) for r in x.reshape(len(x), -1).numpy()}


def test_digits_split_seeded_disjoint_and_test_fixed():
    a = load_dataset(DataConfig(resolution=8, seed=0))
    b = load_dataset(DataConfig(resolution=8, seed=0))
    c = load_dataset(DataConfig(resolution=8, seed=1))
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.val_y, b.val_y)
    assert not torch.equal(a.val_x, c.val_x)
    assert torch.equal(a.test_x, c.test_x)  # the test split never moves with the seed
    # validation images are held out of training (digits has a few exact duplicates, so
    # compare counts of distinct rows rather than demanding an empty intersection)
    overlap = _rows(a.train_x) & _rows(a.val_x)
    assert len(overlap) <= 3
    # every class is in the validation set, roughly in proportion
    assert torch.bincount(a.val_y, minlength=10).min() >= 30


def test_digits_subset_and_limits():
    d = load_dataset(DataConfig(train_images=100, val_fraction=0.5))
    assert len(d.train_y) == 100
    assert abs(len(d.val_y) - 719) <= 5


@pytest.mark.parametrize("kwargs, word", [({"name": "mnist"}, "dataset"),
                                          ({"name": "folder:"}, "dataset"),
                                          ({"resolution": 4}, "resolution"),
                                          ({"val_fraction": 1.0}, "val_fraction"),
                                          ({"train_images": 0}, "train_images"),
                                          ({"augment": "mixup"}, "augment"),
                                          ({"decoder": "opencv"}, "decoder")])
def test_data_config_rejects_bad_values(kwargs, word):
    with pytest.raises(ValueError, match=word):
        DataConfig(**kwargs)
