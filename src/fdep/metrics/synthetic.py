"""Synthetic prediction maps with realistic structure, for the demo and the benchmark.

Each map has a few small targets (GT discs; most are detected by a Gaussian
blob near them, some split into two peaks, some missed), clutter blobs at
random strengths (false alarms at some thresholds) and smooth low-level
background noise, like a trained network's sigmoid output.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter


def _stamp(p: np.ndarray, cy: float, cx: float, sigma: float, peak: float) -> None:
    """p = max(p, peak * gaussian) inside a local window (in place)."""
    h, w = p.shape
    r = int(np.ceil(4 * sigma))
    y0, y1 = max(0, int(cy) - r), min(h, int(cy) + r + 2)
    x0, x1 = max(0, int(cx) - r), min(w, int(cx) + r + 2)
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    blob = peak * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma * sigma))
    np.maximum(p[y0:y1, x0:x1], blob, out=p[y0:y1, x0:x1])


def synthetic_pair(rng: np.random.Generator, size: int | tuple[int, int] = 512, n_targets: tuple[int, int] = (1, 4),
                   n_clutter: tuple[int, int] = (5, 20), noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """One (prediction float32 in [0,1], GT bool) pair."""
    h, w = (size, size) if isinstance(size, int) else size
    n = gaussian_filter(rng.standard_normal((h, w)).astype(np.float32), 3.0)
    n /= n.std() + 1e-12
    p = (1.0 / (1.0 + np.exp(-(-6.5 + 1.3 * noise * n)))).astype(np.float32)
    g = np.zeros((h, w), bool)
    for _ in range(int(rng.integers(n_targets[0], n_targets[1] + 1))):
        cy, cx = rng.uniform(4, h - 5), rng.uniform(4, w - 5)
        r = rng.uniform(0.8, 3.5)
        y0, y1 = max(0, int(cy - r) - 1), min(h, int(cy + r) + 2)
        x0, x1 = max(0, int(cx - r) - 1), min(w, int(cx + r) + 2)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        g[y0:y1, x0:x1] |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        if rng.random() < 0.85:  # detected: a blob about the target's size, slightly offset
            oy, ox = rng.normal(0, 0.6, 2)
            _stamp(p, cy + oy, cx + ox, max(0.7, r / 1.18 * rng.uniform(0.8, 1.2)), rng.uniform(0.4, 1.0))
            if rng.random() < 0.25:  # a second, weaker peak: splits at high thresholds
                _stamp(p, cy + oy + rng.normal(0, 3), cx + ox + rng.normal(0, 3), rng.uniform(0.7, 1.5),
                       rng.uniform(0.2, 0.8))
    for _ in range(int(rng.integers(n_clutter[0], n_clutter[1] + 1))):
        _stamp(p, rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.7, 4.0), rng.uniform(0.02, 0.9) ** 2)
    return np.clip(p, 0.0, 1.0), g


def synthetic_set(n: int = 201, size: int | tuple[int, int] = 512, seed: int = 0
                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``n`` synthetic (prediction, GT) pairs, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    pairs = [synthetic_pair(rng, size) for _ in range(n)]
    return [p for p, _ in pairs], [g for _, g in pairs]


def noisy_pair(rng: np.random.Generator, size: int | tuple[int, int] = 512) -> tuple[np.ndarray, np.ndarray]:
    """One noisy (prediction float32, GT bool) pair: the stress case of the metrics benchmark (issue 12).

    Salt-and-pepper-like responses as from an under-trained network or a classical method:
    independent uniform noise in [0, 0.05] on every pixel (so the lowest thresholds cut it into
    very many components); 1-4 GT discs (radius 0.8-2.6 px, centres >= 14 px apart and >= 6 px
    from the border), each detected with probability 3/4 by a Gaussian of sigma = radius centred
    within 1 px (amplitude 0.3-1.0); then 0-6 false-alarm Gaussians (sigma 1 px, amplitude 0.2-0.9).
    """
    h, w = (size, size) if isinstance(size, int) else size
    p = rng.uniform(0.0, 0.05, (h, w))
    g = np.zeros((h, w), bool)
    centres: list[tuple[float, float]] = []
    want = int(rng.integers(1, 5))
    for _ in range(1000):  # rejection sampling of well-separated centres (small maps may hold fewer)
        if len(centres) == want:
            break
        cy, cx = rng.uniform(6, h - 6), rng.uniform(6, w - 6)
        if all((cy - y) ** 2 + (cx - x) ** 2 >= 14 * 14 for y, x in centres):
            centres.append((cy, cx))
    for cy, cx in centres:
        r = rng.uniform(0.8, 2.6)
        y0, y1 = max(0, int(cy - r) - 1), min(h, int(cy + r) + 2)
        x0, x1 = max(0, int(cx - r) - 1), min(w, int(cx + r) + 2)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        g[y0:y1, x0:x1] |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        if rng.random() < 0.75:
            d, a = np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)  # uniform in the unit disc
            _stamp(p, cy + d * np.sin(a), cx + d * np.cos(a), r, rng.uniform(0.3, 1.0))
    for _ in range(int(rng.integers(0, 7))):
        _stamp(p, rng.uniform(0, h), rng.uniform(0, w), 1.0, rng.uniform(0.2, 0.9))
    return np.clip(p, 0.0, 1.0).astype(np.float32), g


def noisy_set(n: int = 201, size: int | tuple[int, int] = 512, seed: int = 0
              ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``n`` noisy (prediction, GT) pairs (:func:`noisy_pair`), deterministic for a seed."""
    rng = np.random.default_rng(seed)
    pairs = [noisy_pair(rng, size) for _ in range(n)]
    return [p for p, _ in pairs], [g for _, g in pairs]
