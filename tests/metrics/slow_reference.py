"""A deliberately plain reference for the target metrics: label every image at every threshold.

Independent of fdep.metrics' algorithm: scikit-image labelling, centroids as the
mean of pixel coordinates, label order from the first occurrence in raster
order, the greedy rule of SPEC.md section 2 written as nested Python loops.
"""

from __future__ import annotations

import numpy as np
from skimage.measure import label


def components(mask: np.ndarray) -> list[tuple[float, float, int]]:
    """(cy, cx, area) of every 8-connected component, in raster order of the first pixel."""
    lab = label(mask, connectivity=2)
    flat = lab.ravel()
    ids, first = np.unique(flat, return_index=True)
    out = []
    for i in ids[np.argsort(first)]:
        if i == 0:
            continue
        ys, xs = np.nonzero(lab == i)
        out.append((float(ys.mean()), float(xs.mean()), len(ys)))
    return out


def match(gt: list, pred: list, tol: float) -> tuple[int, int]:
    """(matched GT count, pixels of unmatched predicted components)."""
    taken = [False] * len(pred)
    n = 0
    for gy, gx, _ in gt:
        for k, (py, px, _) in enumerate(pred):
            dy, dx = py - gy, px - gx
            if not taken[k] and dy * dy + dx * dx < tol * tol:
                taken[k] = True
                n += 1
                break
    return n, sum(a for k, (_, _, a) in enumerate(pred) if not taken[k])


def reference(preds, gts, thresholds, tol=3.0) -> dict:
    n_gt = 0
    m = np.zeros(len(thresholds))
    npred = np.zeros(len(thresholds))
    pd_m = fa_pix = n_pix = inter = union = 0
    niou = []
    for p, g in zip(preds, gts):
        p = np.asarray(p, np.float64)
        g = np.asarray(g, bool)
        gc = components(g)
        n_gt += len(gc)
        for j, t in enumerate(thresholds):
            pc = components(p > t)
            m[j] += match(gc, pc, tol)[0]
            npred[j] += len(pc)
        a, b = match(gc, components(p > 0.5), tol)
        pd_m += a
        fa_pix += b
        n_pix += p.size
        i, u = np.sum((p > 0.5) & g), np.sum((p > 0.5) | g)
        inter += i
        union += u
        niou.append(i / u if u else 0.0)
    prec = np.where(npred > 0, m / np.maximum(npred, 1), 0.0)
    rec = m / n_gt
    rec_next = np.append(rec[1:], 0.0)
    return {"hse_t": float(np.sum(prec * (rec - rec_next))), "pd": pd_m / n_gt, "fa": fa_pix / n_pix,
            "iou": inter / union if union else 0.0, "niou": float(np.mean(niou)), "n_targets": n_gt,
            "n_match": m, "n_pred": npred}
