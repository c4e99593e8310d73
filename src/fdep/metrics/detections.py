"""Which pixels of one binarised prediction are correct detections, false alarms or missed targets.

The per-image, single-threshold view of the target matching that Pd and Fa count (SPEC section 2),
for drawing overlays (``fdep report``) and inspecting results; ``evaluate`` computes the same
matching for all thresholds at once without building these masks.
"""

from __future__ import annotations

import cv2
import numpy as np


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(label image, labels in raster order of their first pixel, centroids (x, y) by label), 8-connected."""
    _n, lab, _stats, cent = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8,
                                                             ltype=cv2.CV_32S)
    labels, first = np.unique(lab.ravel(), return_index=True)
    keep = labels > 0
    return lab, labels[keep][np.argsort(first[keep], kind="stable")], cent


def classify_detections(prob: np.ndarray, gt: np.ndarray, threshold: float = 0.5,
                        tolerance: float = 3.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(correct, false_alarm, missed) pixel masks at ``prob > threshold``.

    The target matching rule of the metrics (SPEC section 2): GT components in raster
    order each take the first still-unmatched predicted component whose centroid lies
    at distance < ``tolerance``. Correct: matched predicted components; false alarms:
    the other predicted components (the pixels Fa counts); missed: unmatched GT components.
    """
    pred = np.asarray(prob) > threshold
    gt = np.asarray(gt, dtype=bool)
    plab, porder, pcent = _components(pred)
    glab, gorder, gcent = _components(gt)
    taken: list[int] = []
    missed: list[int] = []
    t2 = float(tolerance) ** 2
    for g in gorder:
        gx, gy = gcent[g]
        for p in porder:
            if p not in taken and (pcent[p][1] - gy) ** 2 + (pcent[p][0] - gx) ** 2 < t2:
                taken.append(int(p))
                break
        else:
            missed.append(int(g))
    correct = np.isin(plab, taken)
    return correct, pred & ~correct, np.isin(glab, missed)
