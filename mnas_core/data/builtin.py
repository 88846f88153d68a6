"""The built-in offline dataset: scikit-learn's handwritten digits (UCI optdigits test set,
1,797 8x8 grayscale images, 10 classes), shipped inside scikit-learn, so the app and the CLI
work on a fresh machine with no network.

The images stay single-channel: replicating gray to RGB would triple the data and the stem's
input work while adding no information; architectures get in_chans=1 from the dataset's
`arch_overrides()`, and only the stem (a small share of MACs) depends on it.
"""
from __future__ import annotations

import numpy as np
import torch

from .common import resize_uint8, stratified_split

NATIVE_RES = 8
# The test split is fixed for ever (its own seed, independent of the run's seed) so that a
# final test accuracy is comparable between runs; validation is drawn from the rest.
TEST_FRACTION = 0.2
TEST_SEED = 20190101


def load_digits_tensors(resolution: int) -> dict:
    """{'x': (1797, 1, res, res) uint8, 'y': int64, 'test_mask': bool, 'classes': [...]}."""
    from sklearn.datasets import load_digits  # imported on use: sklearn is slow to import

    d = load_digits()
    # Pixel values are counts 0..16 of set pixels in 4x4 cells; scale to the uint8 range.
    x = torch.from_numpy(np.rint(d.images * (255.0 / 16.0)).astype(np.uint8))[:, None]
    y = torch.from_numpy(d.target.astype(np.int64))
    _, test = stratified_split(d.target, TEST_FRACTION, TEST_SEED)
    mask = torch.zeros(len(y), dtype=torch.bool)
    mask[torch.from_numpy(test)] = True
    return {"x": resize_uint8(x, resolution), "y": y, "test_mask": mask,
            "classes": [str(c) for c in d.target_names]}
