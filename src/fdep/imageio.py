"""Reading and writing the image files SIRST work deals with.

Every reader raises :class:`fdep.errors.InputError` naming the file when it
cannot be read, so callers never show a traceback for a corrupt image.

* images: any PNG/BMP/JPG/TIFF mode (L, P, RGB, RGBA, LA, 16-bit, float) -> float32
  grayscale on the 0-255 scale (16-bit data is divided by 257, floats are kept; a declared input range,
  ``fdep.inputrange``, maps other ranges such as 14-bit or kelvin onto 0-255).
* masks: any mode -> bool; target = gray value > 127, or > 0 in a mask whose maximum is 1
  (masks stored as 0/1); colour masks use their brightest channel (a red-only target counts).
* probability maps: 8-bit PNG (v/255), 16-bit PNG (v/65535) or .npy float.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import InputError
from .fileio import atomic_path, write_failure

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")
#: mask files: lossless formats first; a JPEG mask is binarised like any other (> 127)
MASK_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg")
#: what some releases append to the image id in a mask's file name (SIRST-v1 / NUAA-SIRST: Misc_1_pixels0.png)
MASK_STEM_SUFFIXES = ("_pixels0",)
PROB_SUFFIXES = (".png", ".npy")

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def mask_id(stem: str) -> str:
    """The image id a mask file stem names: ``Misc_1_pixels0`` -> ``Misc_1`` (see MASK_STEM_SUFFIXES)."""
    for suffix in MASK_STEM_SUFFIXES:
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


def _too_large(path: str | os.PathLike, e: Exception) -> InputError:
    return InputError(f"{path}: image too large to read safely ({str(e).split(',')[0]}; Pillow's guard against "
                      f"decompression bombs); split it into smaller images")


def _open(path: str | os.PathLike) -> Image.Image:
    try:
        img = Image.open(path)
        img.load()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not an image file") from None
    except Image.DecompressionBombError as e:
        raise _too_large(path, e) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise InputError(f"{path}: cannot read image ({e.__class__.__name__}: {e})") from None
    return img


def _to_gray_array(img: Image.Image) -> np.ndarray:
    """Grayscale float32 array on the 0-255 scale, whatever the PNG mode."""
    if img.mode in _SIXTEEN_BIT_MODES:
        return np.asarray(img, dtype=np.float32) / 257.0
    if img.mode == "F":
        return np.asarray(img, dtype=np.float32)
    if img.mode != "L":
        # P (palette), RGB, RGBA, LA, 1, CMYK ...: let PIL apply the palette and ITU-R 601 luma.
        img = img.convert("RGB").convert("L") if img.mode in ("P", "PA", "1") else img.convert("L")
    return np.asarray(img, dtype=np.float32)


def _stored_gray(img: Image.Image) -> np.ndarray:
    """Grayscale values as stored (16-bit and 32-bit integers, floats unscaled; other modes as 8-bit luma)."""
    if img.mode in _SIXTEEN_BIT_MODES or img.mode == "F":
        return np.asarray(img)
    return _to_gray_array(img)


def read_image(path: str | os.PathLike, input_range=None) -> np.ndarray:
    """Read an image as a float32 H x W grayscale array on the 0-255 scale.

    ``input_range``: a declared range (``fdep.inputrange.InputRange``) mapping the stored values onto 0-255
    (14-bit data, kelvin or 0-1 floats); None: 16-bit / 257, floats as they are (docs/data.md).
    """
    img = _open(path)
    if input_range is None:
        return _to_gray_array(img)
    return input_range.apply(_stored_gray(img))


def stored_kind(path: str | os.PathLike) -> tuple[str, float, float]:
    """(kind, min, max) of an image's stored gray values: kind is "8-bit", "16-bit", "32-bit int" or "float"
    (what ``fdep data check`` reports; min/max as stored, before any scaling)."""
    img = _open(path)
    a = _stored_gray(img)
    kind = ("float" if img.mode == "F" else "32-bit int" if img.mode == "I" and a.dtype == np.int32
            and a.size and int(a.max()) > 65535 else "16-bit" if img.mode in _SIXTEEN_BIT_MODES else "8-bit")
    return kind, (float(a.min()) if a.size else 0.0), (float(a.max()) if a.size else 0.0)


def image_size(path: str | os.PathLike, decode: bool = False) -> tuple[int, int]:
    """(H, W) of an image from its header (fast: the pixels are not decoded).

    ``decode``: also decode every pixel, without converting them, to find a file that is truncated or
    damaged behind an intact header (such a file fails only when training reaches it otherwise).
    """
    try:
        with Image.open(path) as img:
            w, h = img.size
            if decode:
                img.load()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except Image.DecompressionBombError as e:
        raise _too_large(path, e) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise InputError(f"{path}: cannot read image ({e.__class__.__name__}: {e})") from None
    return int(h), int(w)


_COLOUR_MODES = ("RGB", "RGBA", "RGBX", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV")


def _mask_gray(img: Image.Image) -> np.ndarray:
    """A mask's gray values: 1-bit as 0/255, colour as the brightest channel, else as :func:`read_image`."""
    if img.mode == "1":
        return np.asarray(img, dtype=np.uint8) * np.uint8(255)
    if img.mode in _COLOUR_MODES:
        return np.asarray(img.convert("RGB"), dtype=np.float32).max(axis=2)
    if img.mode == "LA":
        img = img.convert("L")
    return _to_gray_array(img)


def binarize_mask(values: np.ndarray) -> np.ndarray:
    """Target pixels of a mask's gray values: > 127, or > 0 when the mask's maximum is at most 1.

    Masks saved as 0/1 (instead of 0/255) are common; read at > 127 they would silently lose
    every target. A 0/255 mask is never affected (its maximum is 255, or 0 when empty).
    """
    v = np.asarray(values)
    if v.size and float(v.max()) <= 1.0:
        return v > 0
    return v > 127


def read_mask_values(path: str | os.PathLike) -> np.ndarray:
    """A mask's raw gray values (H x W; 1-bit masks as 0/255, colour: brightest channel) before binarisation."""
    return _mask_gray(_open(path))


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a mask as a bool H x W array (see :func:`binarize_mask`; 1-bit masks: nonzero pixels)."""
    img = _open(path)
    if img.mode == "1":
        return np.asarray(img, dtype=bool).copy()
    return binarize_mask(_mask_gray(img))


def prob_png_values(path: str | os.PathLike) -> tuple[int, np.ndarray]:
    """(bits, distinct stored values) of a prediction PNG: what :func:`binary_levels` decides on."""
    img = _open(path)
    bits = 16 if img.mode in _SIXTEEN_BIT_MODES else 1 if img.mode == "1" else 8
    return bits, np.unique(np.asarray(img))


def binary_level(bits: int, values: np.ndarray) -> int | None:
    """The stored value that means "target" when a prediction PNG is a binary map at the wrong scale, else None.

    0/1 in 8 or 16 bits and 0/255 in 16 bits (read as probabilities they are at most 0.004: every target
    lost). Read on one file alone this is ambiguous (a confident network's near-zero map rounds to 0/1 as
    well), so ``fdep evaluate`` decides on the whole folder: see ``fdep.metrics.files.binary_predictions``.
    """
    v = np.asarray(values)
    if v.size == 0 or bits == 1 or not set(v.tolist()) <= {0, 1, 255}:
        return None
    top = int(v.max())
    if top == 0 or (bits == 8 and top != 1) or v.size > 2:
        return None
    return top


def read_prob_map(path: str | os.PathLike, binary: bool = False) -> np.ndarray:
    """Read a probability map in [0, 1] as float64.

    ``.npy``: a float (or bool) 2-D array, values must already be in [0, 1].
    ``.png``: 8-bit -> value/255, 16-bit -> value/65535 (single channel expected;
    colour PNGs are rejected because a colour prediction is almost always a mistake).
    ``binary``: a binary map whatever its scale (0/1, 0/255, 0/65535): every nonzero value is 1.
    """
    path = Path(path)
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise InputError(f"{path}: file not found") from None
        except (ValueError, OSError, EOFError) as e:
            raise InputError(f"{path}: cannot read .npy file ({e})") from None
        while arr.ndim > 2 and (arr.shape[0] == 1 or arr.shape[-1] == 1):  # 1xHxW, HxWx1, 1x1xHxW
            arr = arr[0] if arr.shape[0] == 1 else arr[..., 0]
        if arr.ndim != 2:
            raise InputError(f"{path}: expected a 2-D probability map, got shape {arr.shape}")
        if arr.dtype == bool:
            return arr.astype(np.float64)
        if not np.issubdtype(arr.dtype, np.floating):
            raise InputError(f"{path}: .npy predictions must be float in [0, 1], got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    else:
        img = _open(path)
        if img.mode in _SIXTEEN_BIT_MODES:
            arr = np.asarray(img, dtype=np.float64) / 65535.0
        elif img.mode == "L":
            arr = np.asarray(img, dtype=np.float64) / 255.0
        elif img.mode == "1":
            arr = np.asarray(img, dtype=np.float64)
        else:
            raise InputError(
                f"{path}: prediction PNG must be single-channel 8- or 16-bit grayscale, got mode {img.mode}"
            )
        if binary:
            arr = (arr > 0).astype(np.float64)
    check_prob_map(arr, path)
    return arr


def check_prob_map(arr: np.ndarray, where: object) -> None:
    """Raise InputError if ``arr`` holds NaN/inf or values outside [0, 1]."""
    if not np.all(np.isfinite(arr)):
        n = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise InputError(f"{where}: prediction contains {n} NaN/inf values")
    lo, hi = float(arr.min(initial=0.0)), float(arr.max(initial=0.0))
    if lo < 0.0 or hi > 1.0:
        raise InputError(f"{where}: prediction values must lie in [0, 1], found range [{lo:.4g}, {hi:.4g}]")


def check_written(ok: bool, path: str | os.PathLike) -> None:
    """One :class:`~fdep.errors.OutputError` naming ``path`` when a writer that reports failure by returning
    False (``cv2.imwrite``, on a full disk or a folder it cannot write) did so, instead of going on silently."""
    if not ok:
        raise write_failure(path, OSError("the image encoder could not write the file; is the disk full?"))


def write_prob_png16(path: str | os.PathLike, prob: np.ndarray) -> None:
    """Write a [0,1] probability map as a 16-bit PNG (value*65535, rounded), atomically."""
    arr = np.clip(np.asarray(prob, dtype=np.float64), 0.0, 1.0)
    data = np.round(arr * 65535.0).astype(np.uint16)
    with atomic_path(path) as tmp:
        Image.fromarray(data).save(tmp, format="PNG")


def write_mask_png(path: str | os.PathLike, mask: np.ndarray) -> None:
    """Write a boolean mask as an 8-bit 0/255 PNG, atomically."""
    data = (np.asarray(mask, dtype=bool) * 255).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(data).save(tmp, format="PNG")


def write_image_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an 8-bit grayscale (H x W) or RGB (H x W x 3) uint8 array as PNG, atomically."""
    with atomic_path(path) as tmp:
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(tmp, format="PNG")
