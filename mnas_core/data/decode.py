"""Image decoders for folder datasets: encoded bytes -> (3, res, res) uint8, RGB, center square
crop, then an antialiased bilinear resize.

Two implementations of the same transform; benchmarks/data.py measures their speed and the mean
absolute pixel difference between them on the real CIFAR-10 JPEG archive:
- ``pillow``: Pillow with JPEG draft mode, where libjpeg decodes at 1/2..1/8 scale when the
  image is at least 4x the target (the draft request is 2x, so the result still shrinks
  antialiased). That makes it the faster one on photos much larger than the target.
- ``torchvision``: ``torchvision.io.decode_image`` (libjpeg-turbo, libpng, libwebp), then one
  batched antialiased resize per group of equal-sized crops (``transforms.v2.functional.resize``,
  whose uint8 kernel reproduces Pillow's). No draft mode, so it is the faster one on small
  images, where there is nothing to skip. Formats it cannot read (BMP, 16-bit PNG) go to Pillow.
- ``auto`` (the default) picks per dataset from the first image: Pillow when it is a JPEG at
  least 4x the target on its short side (draft mode applies), torchvision otherwise.

torchvision 0.29 marks its image decoders deprecated in favour of TorchCodec, with a
DeprecationWarning on every call. The project pins torchvision 0.29.1 and a user can do nothing
about it, so `decode_many` silences that one message while it decodes; should a later
torchvision drop the decoders, ``torchvision`` falls back to Pillow.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
import torch

DECODERS = ("auto", "pillow", "torchvision")
DRAFT_GAIN = 4  # the short side, in multiples of the target, from which Pillow's draft pays


def _square(w: int, h: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the centered square crop of a w x h image."""
    s = min(w, h)
    return (w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s


def decode_pillow(data: bytes, res: int) -> np.ndarray:
    """(3, res, res) uint8 with Pillow. Raises whatever Pillow raises for a damaged file."""
    from PIL import Image  # imported on use

    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (2 * res, 2 * res))  # JPEG: decode at reduced size when it is large
        im = im.convert("RGB")
        im = im.resize((res, res), Image.BILINEAR, box=_square(*im.size))
        return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)


def _torchvision_io():
    """(decode_image, ImageReadMode, resize), or None where this torchvision lacks them."""
    try:
        from torchvision.io import ImageReadMode, decode_image
        from torchvision.transforms.v2.functional import resize
    except ImportError:
        return None
    return decode_image, ImageReadMode, resize


def check_name(decoder: str) -> None:
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")


def resolve(decoder: str, sample: bytes | None, res: int) -> str:
    """The decoder to use for a dataset whose first image is `sample` (None: none readable)."""
    check_name(decoder)
    if decoder == "pillow" or _torchvision_io() is None:
        return "pillow"
    if decoder == "torchvision" or sample is None:
        return "torchvision"
    from PIL import Image

    try:
        with Image.open(io.BytesIO(sample)) as im:  # reads the header only
            big = im.format == "JPEG" and min(im.size) >= DRAFT_GAIN * res
    except Exception:  # an unreadable first image says nothing about the others
        big = False
    return "pillow" if big else "torchvision"


def decode_many(blobs: list[bytes], res: int, decoder: str) -> list[np.ndarray | Exception]:
    """Decode each blob with `decoder` ("pillow" or "torchvision"): a (3, res, res) uint8 array,
    or the exception that made it unreadable (the caller skips and counts those)."""
    if decoder == "pillow" or (tv := _torchvision_io()) is None:
        return [_try(decode_pillow, b, res) for b in blobs]
    decode_image, mode, resize = tv
    out: list = [None] * len(blobs)
    groups: dict[int, list[tuple[int, torch.Tensor]]] = {}  # crop side -> (index, crop)
    with warnings.catch_warnings():  # the pinned version's deprecation notice: see above
        warnings.filterwarnings("ignore", "The image decoding and encoding capabilities of "
                                "TorchVision are deprecated", DeprecationWarning)
        for i, b in enumerate(blobs):
            try:
                # bytearray: torch.frombuffer wants a writable buffer; the copy is cheap
                t = decode_image(torch.frombuffer(bytearray(b), dtype=torch.uint8),
                                 mode=mode.RGB)
                if t.dtype != torch.uint8 or t.ndim != 3:  # 16-bit PNG, animated: Pillow's
                    raise RuntimeError("not an 8-bit still image")
            except Exception:
                out[i] = _try(decode_pillow, b, res)
                continue
            left, top, right, bottom = _square(t.shape[2], t.shape[1])
            groups.setdefault(right - left, []).append((i, t[:, top:bottom, left:right]))
    for side, items in groups.items():
        batch = torch.stack([t for _, t in items])          # (n, 3, side, side)
        if side != res:
            batch = resize(batch, [res, res], antialias=True)
        for (i, _), img in zip(items, batch.numpy()):
            out[i] = img
    return out


def _try(fn, data: bytes, res: int):
    try:
        return fn(data, res)
    except Exception as err:  # Pillow raises many types for damaged files
        return err
