"""Random structured probability maps for tests and the benchmark: targets, clutter, smooth noise."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter


def structured_pair(rng: np.random.Generator, h: int = 64, w: int = 64, n_targets: int = 3, n_clutter: int = 4,
                    noise: float = 1.0, close_pairs: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A prediction map with blobs near (some) GT targets, clutter and smooth background noise."""
    yy, xx = np.mgrid[0:h, 0:w]
    n = gaussian_filter(rng.standard_normal((h, w)), 2.0)
    n /= n.std() + 1e-12
    logit = -6.0 + 1.5 * noise * n
    p = 1.0 / (1.0 + np.exp(-logit))
    g = np.zeros((h, w), bool)
    centers = []
    for _ in range(n_targets):
        cy, cx = rng.uniform(3, h - 4), rng.uniform(3, w - 4)
        centers.append((cy, cx))
        if close_pairs and rng.random() < 0.6:
            centers.append((cy + rng.uniform(-4, 4), cx + rng.uniform(-4, 4)))
    for cy, cx in centers:
        r = rng.uniform(0.6, 2.5)
        g |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        if rng.random() < 0.85:  # detected, possibly offset and split into two peaks
            oy, ox = rng.normal(0, 1.2, 2)
            for _ in range(1 + (rng.random() < 0.3)):
                s = rng.uniform(0.7, 2.5)
                peak = rng.uniform(0.2, 1.0)
                blob = peak * np.exp(-((yy - cy - oy) ** 2 + (xx - cx - ox) ** 2) / (2 * s * s))
                p = np.maximum(p, blob)
                oy, ox = oy + rng.normal(0, 2.5), ox + rng.normal(0, 2.5)
    for _ in range(n_clutter):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        s = rng.uniform(0.7, 4.0)
        peak = rng.uniform(0.02, 0.95)
        p = np.maximum(p, peak * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s)))
    return np.clip(p, 0.0, 1.0), g
