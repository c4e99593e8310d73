"""``evaluate``: every SIRST metric of a set of probability maps in one call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import pixel
from ._inputs import check_bins, check_tolerance, make_thresholds, pairs
from .core import Setup, add_into, image_stats, scores


def evaluate(preds: Any, gts: Any, thresholds: int | Sequence[float] = 99, tolerance: float = 3.0,
             curves: bool = False, bins: int | None = None, undefined: str = "raise") -> dict:
    """Score probability maps against binary masks (definitions: SPEC.md section 2, docs/metrics.md).

    preds: list of H x W float maps in [0, 1] (numpy or torch; sizes may differ) or an N x H x W array.
    gts: binary masks of the same sizes. thresholds: int M (t_j = j/(M+1)) or an increasing sequence.
    bins: None = exact HSE-P/AUC; an int = binned (bounded memory). undefined: "raise" (NoTargetError)
    or "nan" when no GT target exists. Returns hse_p, hse_t, hse, iou, niou, pd, fa, auc (fractions,
    Fa a raw ratio), n_images, n_targets; with curves=True also "curves" (dict of arrays).
    """
    if undefined not in ("raise", "nan"):
        raise ValueError("undefined must be 'raise' or 'nan'")
    setup = Setup(make_thresholds(thresholds), check_tolerance(tolerance), check_bins(bins))
    tot: dict = {}
    niou = 0.0
    kept: list[tuple[np.ndarray, np.ndarray]] = []
    pos: list[np.ndarray] = []
    for p, g in pairs(preds, gts):
        st, niou_i = image_stats(p, g, setup)
        add_into(tot, st)
        niou += niou_i
        if setup.bins is None:
            kept.append((p, g))
            pos.append(pixel.positive_scores(p, g))
    if not tot:
        return scores({"n_images": 0}, 0.0, None, setup, undefined)
    if setup.bins:
        groups = pixel.binned_groups(tot["hist_pos"], tot["hist_neg"])
    else:
        groups = exact_groups_from_images(kept, pos)
    return scores(tot, niou, groups, setup, undefined, with_curves=curves)


def exact_groups_from_images(kept: list[tuple[np.ndarray, np.ndarray]], pos: list[np.ndarray]) -> pixel.Groups:
    """Second pass of exact mode: count each image's background pixels against all distinct target scores."""
    allpos = np.concatenate(pos) if pos else np.zeros(0)
    u, cnt = np.unique(allpos, return_counts=True)
    counter = pixel.NegativeCounter(u)
    for p, g in kept:
        counter.add(p[~g])
    return counter.groups(cnt)
