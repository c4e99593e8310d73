"""Pixel-level PR and ROC statistics: exact (HSE-P, AUC) and binned.

Exact mode never sorts all pixels. Target pixels are few, so their distinct
scores ``u`` (ascending) are collected first; each background pixel is then
only placed relative to ``u`` (equal to some u_i, or strictly between two of
them), which gives, for every distinct target score s, the counts
TP(>= s), FP(>= s) and FP(> s): exactly the points where recall changes. That
is all sklearn's ``average_precision_score`` (sum of (R_n - R_{n-1}) P_n) and
``roc_auc_score`` (trapezoids, ties counted half) depend on.

Binned mode replaces scores by ``min(floor(p * bins), bins - 1)``, i.e. it is
the exact computation on scores rounded down to a grid of ``bins`` steps, with
state two histograms whose size does not depend on the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Groups:
    """Score groups in descending score order: positives and negatives per group.

    ``neg_gap[i]`` counts negatives strictly between group i's score and the next
    higher group (or above the top group); ``neg_eq[i]`` negatives tied with group i.
    """

    score: np.ndarray
    pos: np.ndarray
    neg_eq: np.ndarray
    neg_gap: np.ndarray
    n_pos: int
    n_neg: int


class NegativeCounter:
    """Places background scores relative to the sorted distinct target scores ``u`` (ascending).

    Accumulates eq[i] = #neg == u[i] and between[i] = #neg in (u[i-1], u[i]) (between[len(u)] =
    #neg > u[-1]; negatives below u[0] only count in ``n``). Instead of a binary search per pixel,
    a lookup table over the top bits of the float32 representation (monotone for values >= 0)
    gives the interval index of every pixel whose bucket holds no target score; only pixels in the
    few buckets that do (marked by a sentinel) are placed by an exact binary search.
    """

    MANTISSA_BITS = 14  # buckets of 2**-14 relative width: a 2M-entry table for [0, 1] (13-16 tried: 14 fastest)

    def __init__(self, u: np.ndarray) -> None:
        self.u = np.asarray(u, np.float64)
        k = len(self.u)
        self.eq = np.zeros(k, np.int64)
        self.between = np.zeros(k + 1, np.int64)
        self.n = 0
        self.shift = 23 - self.MANTISSA_BITS
        # Keys come from the float32 value (rounding to float32 is monotone, so keys are monotone in
        # the exact value); a bucket without any target score has the same interval for all its pixels.
        ukeys = self.u.astype(np.float32).view(np.int32).astype(np.int64) >> self.shift
        nb = (0x3F800000 >> self.shift) + 1
        self.sentinel = k + 1
        # table[b] = #ukeys < b (= searchsorted(ukeys, b, "left")): a step function of b (ukeys are
        # sorted), written directly in its final dtype by repeating each count over its run of buckets.
        dtype = np.uint16 if k + 1 < 65536 else np.int32
        uk, first = np.unique(ukeys, return_index=True)  # distinct keys; #ukeys < uk[i] = first[i]
        values = np.concatenate([first, [k]]).astype(dtype)  # count on (uk[i-1], uk[i]] and after uk[-1]
        runs = np.diff(np.concatenate([[-1], uk, [nb - 1]]))
        table = np.repeat(values, runs)
        table[ukeys] = self.sentinel
        self.table = table

    def _counts(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(eq, between) counts of a contiguous 1-D float32/float64 array."""
        k = len(self.u)
        v32 = v if v.dtype == np.float32 else v.astype(np.float32)
        idx = np.take(self.table, v32.view(np.int32) >> self.shift)
        between = _histogram(idx, k + 2)
        eq = np.zeros(k, np.int64)
        if between[self.sentinel]:
            vh = v[idx == self.sentinel].astype(np.float64)
            i = np.searchsorted(self.u, vh, side="left")
            tie = np.zeros(vh.size, bool)
            inside = i < k
            tie[inside] = self.u[i[inside]] == vh[inside]
            eq = np.bincount(i[tie], minlength=k)
            between[: k + 1] += np.bincount(i[~tie], minlength=k + 1)
        return eq, between[: k + 1]

    @staticmethod
    def _flat(x: np.ndarray) -> np.ndarray:
        if x.dtype not in (np.float32, np.float64):
            x = x.astype(np.float64)
        return np.ascontiguousarray(x).ravel()

    def add(self, neg: np.ndarray) -> None:
        """Add background scores (float values in [0, 1])."""
        self.n += int(neg.size)
        if len(self.u) and neg.size:
            eq, between = self._counts(self._flat(neg))
            self.eq += eq
            self.between += between

    def image_counts(self, p: np.ndarray, g: np.ndarray) -> tuple[int, np.ndarray | None, np.ndarray | None]:
        """(n, eq, between) of the background pixels of a whole map, without touching the totals.

        Counts every pixel, then takes the target pixels out: cheaper than ``p[~g]`` (no full-size
        masked copy; target pixels are few). Thread-safe (reads only), so images can be counted in
        parallel and summed with :meth:`add_counts`.
        """
        pos = p[g]
        n = int(p.size - pos.size)
        if len(self.u) == 0:
            return n, None, None
        eq, between = self._counts(self._flat(p))
        if pos.size:
            eq_p, between_p = self._counts(self._flat(pos))
            eq -= eq_p
            between -= between_p
        return n, eq, between

    def add_counts(self, counts: tuple[int, np.ndarray | None, np.ndarray | None]) -> None:
        n, eq, between = counts
        self.n += n
        if eq is not None:
            self.eq += eq
            self.between += between

    def add_image(self, p: np.ndarray, g: np.ndarray) -> None:
        """Add the background pixels of a whole map (see :meth:`image_counts`)."""
        self.add_counts(self.image_counts(p, g))

    def groups(self, pos_count: np.ndarray) -> Groups:
        return exact_groups(self.u, pos_count, self.eq, self.between, self.n)


def _histogram(idx: np.ndarray, n: int) -> np.ndarray:
    """``np.bincount(idx, minlength=n)`` for int indices in [0, n); OpenCV's calcHist where it is exact.

    calcHist (uint16 input, unit-width bins) skips bincount's cast to intp and releases the GIL;
    its float32 counts are exact integers while the array has fewer than 2**24 elements.
    """
    if idx.dtype == np.uint16 and idx.size < (1 << 24) and n <= 65536:
        h = cv2.calcHist([idx.reshape(-1, 1)], [0], None, [n], [0, n])
        return h.ravel().astype(np.int64)
    return np.bincount(idx, minlength=n)


def exact_groups(u: np.ndarray, pos_count: np.ndarray, eq: np.ndarray, between: np.ndarray, n_neg: int) -> Groups:
    """Groups from distinct positive scores ``u`` (ascending) and count_negatives' output (summed)."""
    # Descending order; the gap above group i is between[i+1].
    return Groups(score=u[::-1], pos=pos_count[::-1], neg_eq=eq[::-1], neg_gap=between[1:][::-1],
                  n_pos=int(pos_count.sum()), n_neg=int(n_neg))


def binned_index(values: np.ndarray, bins: int) -> np.ndarray:
    return np.minimum((values.astype(np.float64, copy=False) * bins).astype(np.int64), bins - 1)


def binned_hist(p: np.ndarray, g: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Histograms of target and background scores over ``bins`` equal bins of [0, 1]."""
    b = binned_index(p.ravel(), bins)
    gg = g.ravel()
    pos = np.bincount(b[gg], minlength=bins)
    allc = np.bincount(b, minlength=bins)
    return pos, allc - pos


def binned_groups(hpos: np.ndarray, hneg: np.ndarray) -> Groups:
    """Groups from histograms: one group per bin holding a target pixel; others fold into gaps."""
    bins = len(hpos)
    keep = np.flatnonzero(hpos)
    n_neg = int(hneg.sum())
    if len(keep) == 0:
        z = np.zeros(0, np.int64)
        return Groups(np.zeros(0), z, z, z, 0, n_neg)
    cneg = np.concatenate([[0], np.cumsum(hneg)])  # cneg[i] = negatives in bins < i
    nxt = np.concatenate([keep[1:], [bins]])
    gap = cneg[nxt] - cneg[keep + 1]  # negatives in bins strictly between keep[i] and the next kept bin
    return Groups(score=(keep / bins)[::-1], pos=hpos[keep][::-1], neg_eq=hneg[keep][::-1], neg_gap=gap[::-1],
                  n_pos=int(hpos.sum()), n_neg=n_neg)


def average_precision(gr: Groups) -> float:
    """sum over groups (descending) of (R_n - R_{n-1}) * P_n; NaN if there is no positive."""
    if gr.n_pos == 0:
        return float("nan")
    tp = np.cumsum(gr.pos)
    fp = np.cumsum(gr.neg_gap + gr.neg_eq)
    return float(np.sum(gr.pos / gr.n_pos * (tp / (tp + fp))))


def roc_auc(gr: Groups) -> float:
    """Area under the ROC curve with ties counted half; NaN without positives or negatives."""
    if gr.n_pos == 0 or gr.n_neg == 0:
        return float("nan")
    fp_ge = np.cumsum(gr.neg_gap + gr.neg_eq)
    below = gr.n_neg - fp_ge  # negatives strictly below each group's score
    num = np.sum(gr.pos.astype(np.float64) * (below + 0.5 * gr.neg_eq))
    return float(num / (float(gr.n_pos) * float(gr.n_neg)))


def curves(gr: Groups) -> dict[str, np.ndarray]:
    """Pixel PR curve at each distinct target score and the ROC polyline (fpr, tpr) with its thresholds."""
    tp = np.cumsum(gr.pos)
    fp_ge = np.cumsum(gr.neg_gap + gr.neg_eq)
    fp_gt = fp_ge - gr.neg_eq
    tp_gt = tp - gr.pos
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / (tp + fp_ge)
        recall = tp / gr.n_pos if gr.n_pos else np.full(len(tp), np.nan)
        nneg = gr.n_neg if gr.n_neg else np.nan
        npos = gr.n_pos if gr.n_pos else np.nan
        fpr = np.concatenate([[0.0], np.ravel(np.column_stack([fp_gt, fp_ge])) / nneg, [1.0]])
        tpr = np.concatenate([[0.0], np.ravel(np.column_stack([tp_gt, tp])) / npos, [1.0]])
    roc_thr = np.concatenate([[np.inf], np.repeat(gr.score, 2), [-np.inf]])
    return {"pixel_thresholds": np.asarray(gr.score, np.float64), "pixel_precision": precision,
            "pixel_recall": recall, "roc_fpr": fpr, "roc_tpr": tpr, "roc_thresholds": roc_thr}
