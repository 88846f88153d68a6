"""Folder-dataset decode benchmark on the real CIFAR-10 JPEG archive: Pillow vs torchvision.

  python benchmarks/data.py [--images 5000] [--resolutions 32,16] [--folder DIR] [--upscale S]

For a fixed subset of N images (N/20 per class from train/ and from test/, the first in sorted
order), every figure measured in this run, the two decoders interleaved:
1. decode only: the subset's JPEG bytes already in memory -> (N, 3, res, res) uint8 tensors,
   images/s per decoder and the torchvision/Pillow ratio, plus the mean (and max) absolute
   pixel difference between the two decoders' outputs at each resolution;
2. first load: load_dataset("folder:ARCHIVE") into an empty cache (list the archive, read
   the members, decode, save), images/s; the listing alone is timed once and shown apart;
3. cached load: the same load_dataset call again (one torch.load), images/s;
4. with --folder DIR (an unpacked copy, read only): first and cached load from the folder;
5. with --upscale S: decode only, on ~500 of the subset re-encoded as S x 3S/4 JPEG photos
   (quality 90), where Pillow's draft mode applies: the case the "auto" decoder hands to Pillow.

The archive is ../shared/data/cifar10-jpeg.tar.gz beside the repository (or --archive PATH);
without it the benchmark says so in one line and exits 0. Caches go to a temporary folder.
The load average is printed before and after: this is a shared 2-core machine.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mnas_core.data import DataConfig, load_dataset
from mnas_core.data.decode import decode_many
from mnas_core.data.folder import find_layout
from mnas_core.data.tree import TarTree

DECODERS = ("pillow", "torchvision")
ARCHIVE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10-jpeg.tar.gz"


def load_avg() -> str:
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def subset_bytes(archive: Path, per_class: int) -> tuple[list[bytes], float]:
    """The subset's member bytes and the seconds to list the archive."""
    t = time.perf_counter()
    tree = TarTree(archive)
    listed = time.perf_counter() - t
    try:
        layout = find_layout(tree, None, per_class)
        rels = [r for r, _ in layout.train + (layout.test or [])]
        blobs: list[bytes] = [b""] * len(rels)
        for i, b in tree.read(rels):
            blobs[i] = b
    finally:
        tree.close()
    return blobs, listed


def decode_all(blobs: list[bytes], res: int, decoder: str) -> tuple[np.ndarray, float]:
    t = time.perf_counter()
    out = []
    for k in range(0, len(blobs), 256):  # the loader's chunk size
        out += decode_many(blobs[k:k + 256], res, decoder)
    return np.stack(out), time.perf_counter() - t


def upscaled(blobs: list[bytes], side: int) -> list[bytes]:
    from PIL import Image

    out = []
    for b in blobs:
        with Image.open(io.BytesIO(b)) as im:
            buf = io.BytesIO()
            im.convert("RGB").resize((side, side * 3 // 4), Image.BICUBIC).save(
                buf, "JPEG", quality=90)
            out.append(buf.getvalue())
    return out


def timed_load(cfg: DataConfig) -> float:
    t = time.perf_counter()
    load_dataset(cfg)
    return time.perf_counter() - t


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archive", type=Path, default=ARCHIVE)
    p.add_argument("--images", type=int, default=5000, help="subset size (multiple of 20)")
    p.add_argument("--resolutions", default="32,16")
    p.add_argument("--folder", type=Path, help="an unpacked copy of the archive (read only)")
    p.add_argument("--upscale", type=int, help="also decode the subset re-encoded at S px")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = p.parse_args(argv)
    if not args.archive.is_file():
        print(f"benchmarks/data.py: skipped: no CIFAR-10 archive at {args.archive.resolve()} "
              "(see ../shared/data/README.md)")
        return 0
    if args.images < 20:
        p.error("--images must be at least 20")
    torch.set_num_threads(args.threads)
    resolutions = [int(r) for r in args.resolutions.split(",")]
    per_class = args.images // 20
    print(f"{args.archive.name}: {20 * per_class} images ({per_class} per class and split), "
          f"{args.threads} torch thread(s); {load_avg()}")
    blobs, listed = subset_bytes(args.archive, per_class)
    n = len(blobs)
    print(f"listing the archive (all 60,000 members): {listed:.2f} s\n")

    for dec in DECODERS:  # warm up: imports (torchvision: seconds) and first-call setup
        decode_all(blobs[:64], resolutions[0], dec)
    print("1. decode only (bytes in memory)")
    for res in resolutions:
        outs, rate = {}, {}
        for dec in DECODERS + DECODERS[::-1]:  # A B B A: drift hits both alike
            x, sec = decode_all(blobs, res, dec)
            outs[dec] = x.astype(np.int16)
            rate.setdefault(dec, []).append(n / sec)
        diff = np.abs(outs["pillow"] - outs["torchvision"])
        pil, tv = np.mean(rate["pillow"]), np.mean(rate["torchvision"])
        print(f"   {res:>3}px  pillow {pil:7.0f} img/s  torchvision {tv:7.0f} img/s  "
              f"ratio tv/pil {tv / pil:.2f}  mean abs diff {diff.mean():.4f} (max {diff.max()})")
    if args.upscale:
        big = upscaled(blobs[::max(1, n // 500)], args.upscale)  # ~500: enough, and slow
        for res in resolutions:
            rate = {dec: len(big) / decode_all(big, res, dec)[1] for dec in DECODERS}
            print(f"   {res:>3}px from {args.upscale}x{args.upscale * 3 // 4} JPEG: pillow "
                  f"{rate['pillow']:.0f} img/s, torchvision {rate['torchvision']:.0f} img/s, "
                  f"ratio tv/pil {rate['torchvision'] / rate['pillow']:.2f}")

    sources = [("archive", args.archive)] + ([("folder", args.folder)] if args.folder else [])
    print("\n2./3./4. load_dataset: first load (into an empty cache) and cached load, img/s")
    with tempfile.TemporaryDirectory(prefix="mnas-bench-data-") as tmp:
        for label, src in sources:
            for res in resolutions:
                line = []
                for dec in DECODERS:
                    cfg = DataConfig(name=f"folder:{src}", resolution=res,
                                     max_per_class=per_class, decoder=dec,
                                     cache_dir=str(Path(tmp) / f"{label}-{dec}-{res}"))
                    first = timed_load(cfg)
                    cached = min(timed_load(cfg) for _ in range(2))
                    line.append(f"{dec} first {n / first:6.0f} ({first:.2f} s), cached "
                                f"{n / cached:8.0f} ({cached:.3f} s)")
                print(f"   {label:7} {res:>3}px  " + "  |  ".join(line))
    print(f"\n{load_avg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
