"""A numpy image as users have it -> the H x W gray image on the 0-255 scale a :class:`Predictor` runs on.

Users hold images in every form: 8-bit or 16-bit, 14-bit camera data in 16-bit arrays, 0-1 floats after
their own preprocessing, radiometric floats (kelvin), one channel or three, channels first or last. A
network was trained on 0-255 gray images (replicated to 3 channels for ``in_chans=3``), so each form
is mapped there explicitly, by ``input_range`` (the policy, documented in docs/tools.md):

``"auto"`` (default)
    uint8 and bool as they are (bool: 0/255); other integer arrays by the bit depth their largest value
    needs, rounded up to 8, 10, 12, 14 or 16 bits (``value * 255 / (2^bits - 1)``: 14-bit data in a
    16-bit array is scaled by /64.25, not /257); floats within [0, 1] times 255, floats within
    [0, 255] as they are, other floats (kelvin, negative values) stretched linearly from their
    minimum and maximum to 0-255.
``"dtype"``
    the dtype's full range: uint16 / 257 (what ``fdep.imageio.read_image`` does with a 16-bit PNG),
    floats as they are.
``(low, high)``
    the declared range of the sensor or file, mapped linearly to 0-255 and clipped.

Colour (3 or 4 channels, channels last or first) becomes gray by ITU-R 601 luma, as images read from
files do; a single channel may come as H x W, H x W x 1 or 1 x H x W.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import InputError

#: bit depths integer images are assumed to use (cameras: 8, 10, 12, 14, 16 bits)
BIT_DEPTHS = (8, 10, 12, 14, 16)
#: ITU-R 601 luma weights (what PIL's convert("L") uses)
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def gray_channels(image: np.ndarray) -> np.ndarray:
    """The H x W gray plane of a 2-D image, an H x W x C or a C x H x W one (C in 1, 3, 4; alpha dropped)."""
    a = np.asarray(image)
    if a.ndim == 2:
        return a
    if a.ndim == 3:
        last, first = a.shape[-1] in (1, 3, 4), a.shape[0] in (1, 3, 4)
        if first and not last:
            a = np.moveaxis(a, 0, -1)
        elif not last:
            raise InputError(f"an image of shape {a.shape}: expected H x W, H x W x C or C x H x W with C = 1, 3 "
                             f"or 4 channels")
        if a.shape[-1] == 1:
            return a[..., 0]
        rgb = a[..., :3].astype(np.float32)
        return rgb @ LUMA
    raise InputError(f"an image of shape {a.shape}: expected 2 or 3 dimensions (one image, gray or colour)")


def bit_depth(max_value: float) -> int:
    """The smallest of :data:`BIT_DEPTHS` that holds ``max_value`` (16 for anything larger)."""
    for bits in BIT_DEPTHS:
        if max_value <= 2 ** bits - 1:
            return bits
    return BIT_DEPTHS[-1]


def to_gray255(image: Any, input_range: str | tuple[float, float] = "auto") -> np.ndarray:
    """``image`` (any dtype, range and channel layout) as an H x W float32 array on the 0-255 scale.

    See the module docstring for ``input_range``. InputError (one line) for an empty image, NaN/inf
    values, or a layout that is no image.
    """
    a = np.asarray(image)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise InputError(f"an image must be a numeric array, got dtype {a.dtype}")
    gray = gray_channels(a)
    if gray.size == 0:
        raise InputError(f"an empty image (shape {a.shape})")
    integer = np.issubdtype(a.dtype, np.integer) or a.dtype == bool
    x = gray.astype(np.float32)
    if not np.isfinite(x).all():
        raise InputError("the image holds NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if isinstance(input_range, tuple | list):
        low, high = (float(v) for v in input_range)
        if not (math.isfinite(low) and math.isfinite(high) and high > low):
            raise InputError(f"input_range {tuple(input_range)}: expected (low, high) with low < high")
        return np.clip((x - low) * (255.0 / (high - low)), 0.0, 255.0).astype(np.float32)
    if input_range == "dtype":
        if a.dtype == bool:
            return x * 255.0
        if integer:
            info = np.iinfo(a.dtype)
            return ((x - max(info.min, 0)) * (255.0 / (info.max - max(info.min, 0)))).astype(np.float32)
        return x
    if input_range != "auto":
        raise InputError(f"input_range {input_range!r}: use 'auto', 'dtype' or (low, high)")
    if a.dtype == bool:
        return x * 255.0
    if a.dtype == np.uint8:
        return x
    if integer:
        if lo < 0:
            return _stretch(x, lo, hi)
        return x * (255.0 / (2 ** bit_depth(hi) - 1))
    if lo >= 0.0 and hi <= 1.0:
        return x * 255.0
    if lo >= 0.0 and hi <= 255.0:
        return x
    return _stretch(x, lo, hi)


def _stretch(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Linear map of [lo, hi] onto [0, 255] (a constant image becomes 0)."""
    if hi <= lo:
        return np.zeros_like(x)
    return ((x - lo) * (255.0 / (hi - lo))).astype(np.float32)
