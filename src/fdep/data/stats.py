"""Grayscale normalisation statistics (0-255 scale).

:func:`per_image_stats` gives the authors' variant (mean of per-image means and stds).

Known datasets use the literature constants (SPEC.md section 6). Other datasets
get the pixel mean/std of their training split, cached in fdep's cache
(``$FDEP_CACHE/stats/<hash of the folder's path>/fdep_stats.json``, never in the
dataset folder; written atomically, keyed by a hash of the training ids so a
changed split recomputes; a ``<dataset>/fdep_stats.json`` of an earlier fdep is
still read). Unions pool their components'
statistics weighted by training pixel counts.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..fileio import write_json
from ..imageio import image_size, read_image

STATS_FILE = "fdep_stats.json"


def ids_digest(ids: list[str]) -> str:
    return hashlib.sha1("\n".join(sorted(ids)).encode()).hexdigest()


def compute_stats(paths: list[Path]) -> tuple[float, float, int]:
    """Pixel-pooled (mean, std, n_pixels) over images (float64 accumulation)."""
    if not paths:
        raise DataError("cannot compute normalisation statistics: the training split is empty")
    s = s2 = 0.0
    n = 0
    for p in paths:
        a = read_image(p).astype(np.float64)
        s += float(a.sum())
        s2 += float(np.square(a).sum())
        n += a.size
    mean = s / n
    std = math.sqrt(max(s2 / n - mean * mean, 0.0))
    return mean, max(std, 1e-6), n


def per_image_stats(paths: list[Path]) -> tuple[float, float]:
    """(mean of the per-image means, mean of the per-image stds) on the 0-255 scale.

    The authors' normalisation (PAL components/cal_mean_std.py): each training image read as
    8-bit grayscale, its own mean and (population) std, then the plain average of each over the
    images -- not the pixel-pooled statistics of :func:`compute_stats` (the average of per-image
    stds leaves out the spread between image means, so it is smaller).
    """
    if not paths:
        raise DataError("cannot compute normalisation statistics: the training split is empty")
    means, stds = [], []
    for p in paths:
        a = read_image(p).astype(np.float64)
        means.append(float(a.mean()))
        stds.append(float(a.std()))
    return float(np.mean(means)), max(float(np.mean(stds)), 1e-6)


def pixel_count(paths: list[Path]) -> int:
    """Total pixels from image headers (no decoding)."""
    return sum(h * w for h, w in (image_size(p) for p in paths))


def cached_stats(root: Path, train_paths: dict[str, Path]) -> tuple[float, float, int]:
    """Statistics of a dataset's training images, from the cache or computed and cached."""
    from .layout import dataset_cache_dir

    digest = ids_digest(list(train_paths))
    cache = dataset_cache_dir(root, "stats") / STATS_FILE
    for path in (root / STATS_FILE, cache):  # one written into the dataset by an earlier fdep is still read
        if path.is_file():
            try:
                d = json.loads(path.read_text(encoding="utf-8"))
                if d.get("train_ids_sha1") == digest:
                    return float(d["mean"]), float(d["std"]), int(d["n_pixels"])
            except (ValueError, KeyError, TypeError, OSError):
                pass  # a broken cache is recomputed and replaced
    mean, std, n = compute_stats([train_paths[i] for i in sorted(train_paths)])
    record = {"mean": mean, "std": std, "n_pixels": n, "n_images": len(train_paths), "train_ids_sha1": digest,
              "dataset": str(Path(root).resolve())}
    try:
        write_json(cache, record)
    except OSError as e:
        warnings.warn(f"{cache}: cannot cache normalisation statistics ({e.strerror or e})", stacklevel=2)
    return mean, std, n


def pool_stats(parts: list[tuple[float, float, int]]) -> tuple[float, float]:
    """Combine (mean, std, n_pixels) of disjoint parts into the statistics of their union."""
    n = sum(p[2] for p in parts)
    if n == 0:
        return parts[0][0], parts[0][1]
    mean = sum(m * k for m, _, k in parts) / n
    second = sum((s * s + m * m) * k for m, s, k in parts) / n
    return mean, math.sqrt(max(second - mean * mean, 1e-12))


#: training images read to record the gray range weights were trained on (evenly spaced over the split)
RANGE_SAMPLE = 64


def sample_range_record(paths: list[Path], k: int = RANGE_SAMPLE) -> dict:
    """The gray range (``fdep.inputrange.range_record``) of up to ``k`` evenly spaced images of ``paths``,
    read as training reads them (0-255 scale): what weights record so that later inputs can be checked."""
    from ..inputrange import gray_range, range_record

    paths = list(paths)
    if len(paths) > k:
        paths = [paths[round(j * (len(paths) - 1) / (k - 1))] for j in range(k)]
    return range_record([gray_range(read_image(p)) for p in paths])
