"""``evaluate``: every SIRST metric of a set of probability maps in one call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import pixel
from ._inputs import check_bins, check_tolerance, make_thresholds, pairs
from ._parallel import check_workers, ordered_map
from .core import Setup, add_into, image_stats, scores

Loader = Callable[[int], tuple[np.ndarray, np.ndarray]]


def evaluate(preds: Any, gts: Any, thresholds: int | Sequence[float] = 99, tolerance: float = 3.0,
             curves: bool = False, bins: int | None = None, undefined: str = "raise",
             workers: int | None = None) -> dict:
    """Score probability maps against binary masks (definitions: SPEC.md section 2, docs/metrics.md).

    preds: list of H x W float maps in [0, 1] (numpy or torch; sizes may differ) or an N x H x W array.
    gts: binary masks of the same sizes. thresholds: int M (t_j = j/(M+1)) or an increasing sequence.
    bins: None = exact HSE-P/AUC; an int = binned (bounded memory). undefined: "raise" (NoTargetError)
    or "nan" when no GT target exists. workers: threads over images (None = CPU count, at most 8;
    1 = serial); results do not depend on it. Returns hse_p, hse_t, hse, iou, niou, pd, fa, auc (fractions,
    Fa a raw ratio), false_alarms (predicted targets at 0.5 matching no GT target), fa_per_image, fa_per_mpix
    (false alarms per image and per million pixels), n_images, n_targets; with curves=True also "curves".
    """
    checked = list(pairs(preds, gts))
    return evaluate_loader(len(checked), checked.__getitem__, thresholds, tolerance, curves, bins, undefined,
                           workers)


def evaluate_loader(n: int, load: Loader, thresholds: int | Sequence[float] = 99, tolerance: float = 3.0,
                    curves: bool = False, bins: int | None = None, undefined: str = "raise",
                    workers: int | None = None) -> dict:
    """``evaluate`` over ``n`` images given by ``load(i) -> (pred, bool gt)`` (already checked).

    Exact mode calls ``load`` twice per image: a first pass only collects the target pixels' scores
    (the distinct scores ``u`` that background pixels are counted against), the second computes every
    per-image statistic and the background counts together. So images can be read from disk each
    time; ``workers`` threads process images (``load`` must be thread-safe) with at most
    2 * workers images in flight. Per-image results are summed in image order, so the scores are
    the same for every worker count.
    """
    if undefined not in ("raise", "nan"):
        raise ValueError("undefined must be 'raise' or 'nan'")
    setup = Setup(make_thresholds(thresholds), check_tolerance(tolerance), check_bins(bins))
    nw = check_workers(workers)
    counter = cnt = None
    if setup.bins is None and n:
        pos = list(ordered_map(lambda i: _target_scores(*load(i)), n, nw))
        u, cnt = np.unique(np.concatenate(pos).astype(np.float64), return_counts=True)
        del pos
        counter = pixel.NegativeCounter(u)

    def work(i: int) -> tuple:
        p, g = load(i)
        # Background counts and component statistics of one image in one task. With threads, the
        # counting (long GIL-free calls) overlaps with the many short calls of image_stats; odd images
        # count first so that neighbouring tasks start with different halves.
        counts = counter.image_counts(p, g) if counter is not None and i % 2 else None
        st = image_stats(p, g, setup)
        if counter is not None and not i % 2:
            counts = counter.image_counts(p, g)
        return st, counts

    tot: dict = {"n_images": 0}
    niou = 0.0
    for (st, niou_i, _), counts in ordered_map(work, n, nw):
        add_into(tot, st)
        niou += niou_i
        if counter is not None:
            counter.add_counts(counts)
    if tot["n_images"] == 0:
        return scores(tot, 0.0, None, setup, undefined)
    if setup.bins:
        groups = pixel.binned_groups(tot["hist_pos"], tot["hist_neg"])
    else:
        groups = counter.groups(cnt)
    return scores(tot, niou, groups, setup, undefined, with_curves=curves)


def _target_scores(p: np.ndarray, g: np.ndarray) -> np.ndarray:
    return p[g]
