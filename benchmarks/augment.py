"""Batched tensor augmentation vs torchvision.transforms.v2, per training batch.

  python benchmarks/augment.py [--batch 64] [--res 32] [--reps 200]

The trainer augments each batch of uint8 images (N, 3, H, W) with mnas_core.data.augment:
a random crop after zero padding (res // 8 pixels) and a random horizontal flip, drawn per
image from a seeded torch.Generator, in a handful of batched tensor ops. transforms.v2 gives the
same per-image randomness only image by image (a v2 transform applied to a batch draws one
crop and one flip for the whole batch), so its fair equivalent is a Python loop over the batch
with RandomCrop(padding) + RandomHorizontalFlip, seeded through the global RNG.
Prints the median time per batch of each, interleaved A/B so machine noise hits both alike, and
the ratio measured in this run.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main(argv=None) -> int:
    from torchvision.transforms import v2

    from mnas_core.data import augment

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--res", type=int, default=32)
    p.add_argument("--reps", type=int, default=200)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    x = torch.randint(0, 256, (args.batch, 3, args.res, args.res), dtype=torch.uint8)
    pad = max(1, args.res // 8)
    gen = torch.Generator().manual_seed(0)
    per_image = v2.Compose([v2.RandomCrop(args.res, padding=pad), v2.RandomHorizontalFlip()])
    torch.manual_seed(0)

    def ours():
        return augment(x, "crop_flip", pad, gen)

    def theirs():
        return torch.stack([per_image(img) for img in x])

    assert ours().shape == theirs().shape == x.shape
    times = {"mnas_core batched": [], "transforms.v2 per image": []}
    for _ in range(args.reps):
        for name, fn in (("mnas_core batched", ours), ("transforms.v2 per image", theirs)):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    print(f"batch {args.batch} x 3 x {args.res} x {args.res} uint8, {args.reps} interleaved "
          "reps, 1 thread")
    for k, v in med.items():
        print(f"  {k:<24} {v:7.3f} ms per batch")
    ratio = med["transforms.v2 per image"] / med["mnas_core batched"]
    print(f"  transforms.v2 takes {ratio:.1f}x the batched augmentation's time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
