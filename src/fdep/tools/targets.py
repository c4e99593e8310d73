"""Detected targets of a probability map: 8-connected components of ``prob > threshold``.

One record per component with its centroid (mean pixel row/col, the same
definition as the metrics use), area, peak and mean score, and bounding box
``(y0, x0, h, w)`` in pixels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

#: column order of the targets CSV
TARGET_FIELDS = (
    "image", "target", "centroid_y", "centroid_x", "area", "peak_score", "mean_score",
    "bbox_y0", "bbox_x0", "bbox_h", "bbox_w",
)


@dataclass(frozen=True)
class Target:
    """One detected target (a connected component of the binary mask)."""

    target: int
    centroid_y: float
    centroid_x: float
    area: int
    peak_score: float
    mean_score: float
    bbox_y0: int
    bbox_x0: int
    bbox_h: int
    bbox_w: int

    def as_dict(self) -> dict:
        return asdict(self)


def binarize(prob: np.ndarray, threshold: float) -> np.ndarray:
    """The binary mask ``prob > threshold`` (strict, as the metrics binarise)."""
    return np.asarray(prob) > threshold


def find_targets(prob: np.ndarray, threshold: float = 0.5) -> list[Target]:
    """The 8-connected components of ``prob > threshold`` in label (raster) order."""
    prob = np.asarray(prob, dtype=np.float32)
    mask = binarize(prob, threshold).astype(np.uint8)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
    targets = []
    for k in range(1, n):
        x0, y0, w, h, area = (int(v) for v in stats[k])
        scores = prob[y0:y0 + h, x0:x0 + w][labels[y0:y0 + h, x0:x0 + w] == k]
        cx, cy = centroids[k]
        targets.append(Target(
            target=k, centroid_y=float(cy), centroid_x=float(cx), area=area,
            peak_score=float(scores.max()), mean_score=float(scores.mean()),
            bbox_y0=y0, bbox_x0=x0, bbox_h=h, bbox_w=w,
        ))
    return targets
