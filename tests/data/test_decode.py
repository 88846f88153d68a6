"""The two decoders give the same images; auto picks by image size; fallbacks."""
from __future__ import annotations

import io

import numpy as np
import pytest

import mnas_core.data.decode as decode
from mnas_core.data.decode import decode_many, decode_pillow, resolve


def _photos(n: int, size: tuple[int, int], fmt: str, seed: int = 0) -> list[bytes]:
    """Smooth random colour fields (a 6x5 grid of random colours, bicubic-upscaled): texture
    for the resize to act on, unlike a solid colour."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        small = Image.fromarray(rng.integers(0, 256, (5, 6, 3), dtype=np.uint8))
        buf = io.BytesIO()
        small.resize(size, Image.BICUBIC).save(buf, fmt, **({"quality": 90} if fmt == "JPEG"
                                                           else {}))
        out.append(buf.getvalue())
    return out


@pytest.mark.parametrize("fmt, size", [("JPEG", (48, 40)), ("PNG", (40, 48)), ("JPEG", (32, 32))])
@pytest.mark.parametrize("res", [16, 32])
def test_decoders_agree(fmt, size, res):
    blobs = _photos(12, size, fmt)
    pil = np.stack(decode_many(blobs, res, "pillow")).astype(int)
    tv = np.stack(decode_many(blobs, res, "torchvision")).astype(int)
    assert pil.shape == tv.shape == (12, 3, res, res) and pil.dtype == tv.dtype
    assert np.abs(pil - tv).mean() <= 0.5 and np.abs(pil - tv).max() <= 8


def test_auto_picks_pillow_only_where_draft_mode_pays():
    small, = _photos(1, (32, 32), "JPEG")
    big, = _photos(1, (200, 150), "JPEG")
    png, = _photos(1, (200, 150), "PNG")
    assert resolve("auto", small, 16) == "torchvision"
    assert resolve("auto", big, 32) == "pillow"        # 150 >= 4 x 32: decoded at 1/2 scale
    assert resolve("auto", big, 64) == "torchvision"
    assert resolve("auto", png, 16) == "torchvision"   # no draft mode for PNG
    with pytest.raises(ValueError, match="decoder"):
        resolve("cv2", small, 16)


def test_torchvision_falls_back_to_pillow(monkeypatch):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 20), (10, 200, 30)).save(buf, "BMP")  # torchvision cannot read BMP
    bmp, broken = buf.getvalue(), b"\xff\xd8 not a jpeg"
    out = decode_many([bmp, broken], 8, "torchvision")
    assert np.array_equal(out[0], decode_pillow(bmp, 8)) and isinstance(out[1], Exception)
    monkeypatch.setattr(decode, "_torchvision_io", lambda: None)  # a torchvision without them
    assert resolve("torchvision", bmp, 8) == "pillow"
    assert np.array_equal(decode_many([bmp], 8, "torchvision")[0], out[0])
