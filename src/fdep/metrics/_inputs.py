"""Turning user inputs (numpy arrays or torch tensors) into checked 2-D arrays."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError, InputError


def to_numpy(x: Any) -> np.ndarray:
    """numpy view of an array-like or torch tensor (detached, on CPU; half precision -> float32)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        if str(x.dtype) in ("torch.float16", "torch.bfloat16"):
            x = x.float()
        x = x.numpy()
    a = np.asarray(x)
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    return a


def _squeeze2d(a: np.ndarray, what: str, where: str) -> np.ndarray:
    while a.ndim > 2 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise InputError(f"{where}: {what} must be a 2-D H x W map, got shape {a.shape}")
    return a


def check_pred(p: Any, where: str) -> np.ndarray:
    """A 2-D float32/float64 map with every value in [0, 1] (NaN/inf rejected)."""
    a = _squeeze2d(to_numpy(p), "prediction", where)
    if a.dtype == bool:
        a = a.astype(np.float32)
    elif a.dtype not in (np.float32, np.float64):
        raise InputError(f"{where}: predictions must be float probabilities in [0, 1], got dtype {a.dtype}")
    if a.size:
        lo, hi = a.min(), a.max()
        if not (lo >= 0 and hi <= 1):  # also catches NaN
            if not np.all(np.isfinite(a)):
                n = int(a.size - np.count_nonzero(np.isfinite(a)))
                raise InputError(f"{where}: prediction contains {n} NaN/inf values")
            raise InputError(f"{where}: prediction values must lie in [0, 1], found range [{lo:.4g}, {hi:.4g}]")
        if lo == 0:
            a = a + a.dtype.type(0)  # turns any -0.0 into +0.0 (the pixel statistics bucket the IEEE bits)
    return a


def check_gt(g: Any, shape: tuple[int, ...], where: str) -> np.ndarray:
    """A 2-D bool mask of ``shape``: bool or integer (nonzero = target) or float with values 0/1."""
    a = _squeeze2d(to_numpy(g), "ground truth", where)
    if a.shape != shape:
        raise InputError(f"{where}: ground truth size {a.shape} differs from prediction size {shape}")
    if a.dtype == bool:
        return a
    if np.issubdtype(a.dtype, np.floating) and np.any((a != 0) & (a != 1)):
        raise InputError(f"{where}: float ground truth must hold only 0 and 1")
    return a != 0


def pairs(preds: Any, gts: Any) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Checked (pred, gt) pairs from two sequences (or N x [1 x] H x W arrays/tensors)."""
    preds = _as_sequence(preds)
    gts = _as_sequence(gts)
    if len(preds) != len(gts):
        raise InputError(f"got {len(preds)} predictions but {len(gts)} ground-truth masks")
    for i, (p, g) in enumerate(zip(preds, gts)):
        where = f"image {i}"
        pa = check_pred(p, where)
        yield pa, check_gt(g, pa.shape, where)


def _as_sequence(x: Any) -> Sequence:
    if isinstance(x, (list, tuple)):
        return x
    a = x if hasattr(x, "ndim") else np.asarray(x)
    if a.ndim == 2:
        return [a]
    if a.ndim in (3, 4):
        return [a[i] for i in range(a.shape[0])]
    if isinstance(x, Iterable):
        return list(x)
    raise InputError(f"expected a list of H x W maps or an N x H x W array, got shape {a.shape}")


def make_thresholds(thresholds: int | Sequence[float] | np.ndarray) -> np.ndarray:
    """int M -> t_j = j / (M + 1), j = 1..M; or an explicit strictly increasing sequence in [0, 1]."""
    if isinstance(thresholds, (int, np.integer)) and not isinstance(thresholds, bool):
        m = int(thresholds)
        if m < 1:
            raise ConfigError(f"thresholds: the number of thresholds must be >= 1, got {m}")
        return np.arange(1, m + 1, dtype=np.float64) / (m + 1)
    try:
        t = np.asarray(thresholds, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ConfigError(f"thresholds: expected an int or a sequence of floats, got {thresholds!r}") from None
    if t.size == 0:
        raise ConfigError("thresholds: the sequence is empty")
    if not np.all(np.isfinite(t)) or t.min() < 0 or t.max() > 1:
        raise ConfigError("thresholds: every threshold must be a finite number in [0, 1]")
    if np.any(np.diff(t) <= 0):
        raise ConfigError("thresholds: the sequence must be strictly increasing")
    return t


def check_tolerance(tolerance: float) -> float:
    tol = float(tolerance)
    if not np.isfinite(tol) or tol <= 0:
        raise ConfigError(f"tolerance: must be a positive distance in pixels, got {tolerance!r}")
    return tol


def check_bins(bins: int | None) -> int | None:
    if bins is None:
        return None
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ConfigError(f"bins: must be None (exact) or an int >= 2, got {bins!r}")
    return int(bins)
