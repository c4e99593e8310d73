"""``evaluate``: every SIRST metric of a set of probability maps in one call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import pixel
from ._inputs import check_bins, check_tolerance, make_thresholds, pairs
from .core import Setup, add_into, image_stats, scores

Loader = Callable[[int], tuple[np.ndarray, np.ndarray]]


def evaluate(preds: Any, gts: Any, thresholds: int | Sequence[float] = 99, tolerance: float = 3.0,
             curves: bool = False, bins: int | None = None, undefined: str = "raise") -> dict:
    """Score probability maps against binary masks (definitions: SPEC.md section 2, docs/metrics.md).

    preds: list of H x W float maps in [0, 1] (numpy or torch; sizes may differ) or an N x H x W array.
    gts: binary masks of the same sizes. thresholds: int M (t_j = j/(M+1)) or an increasing sequence.
    bins: None = exact HSE-P/AUC; an int = binned (bounded memory). undefined: "raise" (NoTargetError)
    or "nan" when no GT target exists. Returns hse_p, hse_t, hse, iou, niou, pd, fa, auc (fractions,
    Fa a raw ratio), n_images, n_targets; with curves=True also "curves" (dict of arrays).
    """
    checked = list(pairs(preds, gts))
    return evaluate_loader(len(checked), checked.__getitem__, thresholds, tolerance, curves, bins, undefined)


def evaluate_loader(n: int, load: Loader, thresholds: int | Sequence[float] = 99, tolerance: float = 3.0,
                    curves: bool = False, bins: int | None = None, undefined: str = "raise") -> dict:
    """``evaluate`` over ``n`` images given by ``load(i) -> (pred, bool gt)`` (already checked).

    Exact mode calls ``load`` twice per image (the second pass counts background pixels against all
    target scores), so images can be read from disk each time and memory stays at one image.
    """
    if undefined not in ("raise", "nan"):
        raise ValueError("undefined must be 'raise' or 'nan'")
    setup = Setup(make_thresholds(thresholds), check_tolerance(tolerance), check_bins(bins))
    tot: dict = {"n_images": 0}
    niou = 0.0
    pos: list[np.ndarray] = []
    for i in range(n):
        p, g = load(i)
        st, niou_i, pos_i = image_stats(p, g, setup)
        add_into(tot, st)
        niou += niou_i
        if setup.bins is None:
            pos.append(pos_i)
    if tot["n_images"] == 0:
        return scores(tot, 0.0, None, setup, undefined)
    if setup.bins:
        groups = pixel.binned_groups(tot["hist_pos"], tot["hist_neg"])
    else:
        u, cnt = np.unique(np.concatenate(pos).astype(np.float64), return_counts=True)
        counter = pixel.NegativeCounter(u)
        if len(u):
            for i in range(n):
                counter.add_image(*load(i))
        else:
            counter.n = int(tot["n_pixels"])
        groups = counter.groups(cnt)
    return scores(tot, niou, groups, setup, undefined, with_curves=curves)
