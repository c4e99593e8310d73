"""Connected components of a probability map at many thresholds at once.

A pixel is "above level j" when p > levels[j-1]; components of the binarised map
at level j nest inside those at level j-1, and the number of pixels above level j
only falls with j. Two regimes share the levels of one image, split at the first
level whose binarised map covers less than ``DENSE_FRACTION`` of the image:

**Dense levels** (a prefix 1..L; empty for a trained network's smooth output,
several levels for salt-and-pepper maps of an under-trained network or a
classical method, where the components number in the thousands). Each is labelled
whole by one ``cv2.connectedComponentsWithStats`` call: the component count is the
label count, and areas, boxes and centroids come from compiled code, so nothing
runs per pixel in Python. Only labels that can match are measured exactly (see
``_dense_level``): matching only ever looks at components whose centroid lies
within tol of a GT centroid.

**Block levels** (L+1..K). We label once at level L+1 (OpenCV, 8-connectivity)
to get the components ``c``; then for every component and every distinct level
``d`` its pixels reach, the pixels of ``c`` with level >= d form a *block*: the
binarised map restricted to ``c``'s part of the image, cropped to its own bounding
box. All blocks of an image are packed side by side (with a zero separator row and
column) into one small canvas and labelled with a single OpenCV call, so the cost
is one pass over the candidate pixels and their levels instead of one full-image
labelling per threshold. A block stands for all levels in (previous distinct level
of ``c``, d], so identical binarisations are labelled once (the blocks of the
lowest level come straight from the first labelling). Memory stays bounded: blocks
are processed in chunks of at most ``max_volume`` pixel-levels and canvas pixels.

Why the split: the block method costs Python-level array work per (pixel, level)
pair, and a component spanning the image (the noise floor joins everything at the
low levels) makes blocks whose boxes cover the whole image at every level; a dense
level costs one compiled labelling of the image instead. Both give the same
components (tested with every level forced into either regime).

Every component is reported with its level range, pixel count, exact integer
coordinate sums (centroid = sum / count, as SPEC.md defines it) and the flat
index of its first pixel in raster order (the "label order" of matching).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DENSE_LIMIT = 1 << 22  # largest components x levels table built densely
MAX_VOLUME = 1 << 21  # pixel-levels and canvas pixels per canvas: bounds the working memory (~100 MiB)
DENSE_FRACTION = 1 / 8  # a level whose binarised map covers at least this fraction of the image is labelled whole
CENTROID_MARGIN = 1e-3  # px added to tol when OpenCV's floating-point centroids preselect labels


@dataclass
class Components:
    """Components of one image over a range of levels (arrays aligned by component)."""

    lo: np.ndarray  # first level index (1-based) at which this component exists
    hi: np.ndarray  # last level index (inclusive)
    area: np.ndarray  # pixel count (int64)
    sum_y: np.ndarray  # sum of row coordinates (int64, exact)
    sum_x: np.ndarray  # sum of column coordinates
    first: np.ndarray  # flat index (row * W + col) of the first pixel in raster order

    def __len__(self) -> int:
        return len(self.area)

    @staticmethod
    def empty() -> Components:
        z = np.zeros(0, np.int64)
        return Components(z, z, z, z, z, z)

    @staticmethod
    def concat(parts: list[Components]) -> Components:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Components.empty()
        return Components(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))


_FIELDS = ("lo", "hi", "area", "sum_y", "sum_x", "first")


def greater_mask(p: np.ndarray, t: float) -> np.ndarray:
    """``p > t`` evaluated exactly (as real numbers) for float32/float64 ``p`` and a float64 ``t``.

    Comparing a float32 array with a Python float would round ``t`` to float32
    first; instead compare with the largest value of ``p``'s dtype that is <= t.
    """
    if p.dtype == np.float64:
        return p > t
    f = p.dtype.type(t)
    if float(f) > t:
        f = np.nextafter(f, p.dtype.type(-np.inf))
    return p > f


def level_of(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Number of levels strictly below each value (0 = below every level), exact in float64."""
    return np.searchsorted(levels, values.astype(np.float64, copy=False), side="left")


class LevelIndex:
    """Fast exact ``level_of`` for values in [0, 1] through a 2**16-bucket lookup table.

    Buckets are floor(v * 2**16): scaling by a power of two is exact in float32 and float64, so a
    value's bucket is exact and monotone in v. A bucket that holds no level gives the level
    count directly; values in the few buckets holding a level fall back to a binary search.
    """

    BITS = 16

    def __init__(self, levels: np.ndarray) -> None:
        self.levels = np.asarray(levels, np.float64)
        nb = (1 << self.BITS) + 1
        lb = (self.levels * (1 << self.BITS)).astype(np.int64)
        table = np.searchsorted(lb, np.arange(nb), side="left").astype(np.int32)
        table[lb[(lb >= 0) & (lb < nb)]] = -1
        self.table = table

    def __call__(self, values: np.ndarray) -> np.ndarray:
        scale = values.dtype.type(1 << self.BITS) if values.dtype.kind == "f" else float(1 << self.BITS)
        b = (values * scale).astype(np.int32)
        out = self.table[b]
        hot = out < 0
        if hot.any():
            out[hot] = np.searchsorted(self.levels, values[hot].astype(np.float64), side="left")
        return out.astype(np.int64)


def _first_index(groups: np.ndarray, flat: np.ndarray, n: int) -> np.ndarray:
    """Smallest ``flat`` value per group id 0..n-1."""
    first = np.full(n, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, groups, flat)
    return first


def label_components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """8-connected components of a boolean mask, in raster order of their first pixel.

    Returns (n, area, sum_y, sum_x, first_flat), each sorted by first pixel. The mask is cropped
    to its bounding box before labelling (GT masks are mostly empty).
    """
    h, w = mask.shape
    idx = np.flatnonzero(mask)  # raster order
    if len(idx) == 0:
        z = np.zeros(0, np.int64)
        return 0, z, z, z, z
    ys, xs = np.divmod(idx, w)
    y0, x0 = int(ys[0]), int(xs.min())
    crop = np.ascontiguousarray(mask[y0:int(ys[-1]) + 1, x0:int(xs.max()) + 1]).view(np.uint8)
    n, lab = cv2.connectedComponents(crop, connectivity=8, ltype=cv2.CV_32S)
    comp = lab[ys - y0, xs - x0].astype(np.int64) - 1
    area = np.bincount(comp, minlength=n - 1)
    sum_y = np.bincount(comp, ys, minlength=n - 1).astype(np.int64)
    sum_x = np.bincount(comp, xs, minlength=n - 1).astype(np.int64)
    first = _first_index(comp, idx, n - 1)
    order = np.argsort(first, kind="stable")
    return n - 1, area[order], sum_y[order], sum_x[order], first[order]


def near_pairs(gcy: np.ndarray, gcx: np.ndarray, pcy: np.ndarray, pcx: np.ndarray, tol: float,
               chunk: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (gt, pred) with squared centroid distance < tol**2."""
    gi, pi = [], []
    t2 = tol * tol
    step = max(1, chunk // max(1, len(pcy)))
    for s in range(0, len(gcy), step):
        dy = pcy[None, :] - gcy[s:s + step, None]
        dx = pcx[None, :] - gcx[s:s + step, None]
        a, b = np.nonzero(dy * dy + dx * dx < t2)
        gi.append(a + s)
        pi.append(b)
    if not gi:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(gi).astype(np.int64), np.concatenate(pi).astype(np.int64)


def threshold_components(p: np.ndarray, levels: np.ndarray, max_volume: int = MAX_VOLUME,
                         level_index: LevelIndex | None = None,
                         near: tuple[np.ndarray, np.ndarray, float] | None = None,
                         dense_fraction: float | None = None) -> tuple[Components, np.ndarray, np.ndarray]:
    """Components of ``p > levels[j-1]`` for every level j = 1..K, in one pass.

    Returns ``(comps, n_pred, pix_above)``, the last two of length K + 1 (index 0 unused):
    ``n_pred[j]`` = number of components at level j, ``pix_above[j]`` = number of pixels with
    p > levels[j-1]. ``comps`` holds components with their level ranges: every component when
    ``near`` is None; with ``near = (gcy, gcx, tol)`` it holds at least every component whose
    centroid lies at distance < tol from one of the GT centroids (the only ones matching can
    take), and may hold others.

    Two regimes, split at the first level whose binarised map covers less than
    ``dense_fraction`` of the image (pixel counts only fall with the level, so the dense levels
    are a prefix 1..L):

    * dense levels (noisy maps: an under-trained network, a classical method) are labelled
      directly, one OpenCV call with statistics per level (a level whose map equals the one
      below, i.e. has the same pixel count, reuses its components). The component count is the
      label count; only the labels near a GT centroid are measured exactly (:func:`_dense_level`).
    * the levels above L go through the block method (:func:`_block_components`) on the pixels
      with p > levels[L]. For a smooth map L = 0 and this is the whole work.
    """
    nlev = len(levels)
    frac = DENSE_FRACTION if dense_fraction is None else dense_fraction
    n_pred = np.zeros(nlev + 1, np.int64)
    pix_above = np.zeros(nlev + 1, np.int64)
    parts: list[Components] = []
    j = 1
    mask = greater_mask(p, float(levels[0]))
    while True:
        count = int(np.count_nonzero(mask))
        if count == 0 or count < frac * p.size or j == nlev + 1:
            break
        pix_above[j] = count
        if parts and count == pix_above[j - 1]:  # nested maps with equal counts are equal: same components
            n_pred[j] = n_pred[j - 1]
            parts[-1].hi[:] = j
        else:
            n_pred[j], dense = _dense_level(mask, count, j, near)
            parts.append(dense)
        j += 1
        if j <= nlev:
            mask = greater_mask(p, float(levels[j - 1]))
    if j <= nlev and count:
        comps, above = _block_components(p, mask, j, levels, max_volume, level_index)
        pix_above[j:] = above[j:]
        n_pred += count_per_level(comps.lo, comps.hi, nlev)
        parts.append(comps)
    return Components.concat(parts), n_pred, pix_above


def count_per_level(lo: np.ndarray, hi: np.ndarray, nlev: int, weights: np.ndarray | None = None) -> np.ndarray:
    """out[j] = number (or weight sum) of intervals [lo, hi] containing j, for j = 0..nlev."""
    d = np.bincount(lo, weights, minlength=nlev + 2) - np.bincount(hi + 1, weights, minlength=nlev + 2)
    out = np.cumsum(d)[: nlev + 1]
    return out if weights is not None else out.astype(np.int64)


def _dense_level(mask: np.ndarray, count: int, j: int, near: tuple[np.ndarray, np.ndarray, float] | None
                 ) -> tuple[int, Components]:
    """Label one dense binarised map (``count`` pixels set): (component count, components near a GT
    centroid, or all of them when ``near`` is None).

    OpenCV returns every label's area, bounding box and floating-point centroid in compiled code,
    so nothing here runs per pixel except for the few labels near a GT. Exactness: OpenCV's
    floating-point centroid only *preselects* labels, at distance < tol + CENTROID_MARGIN. Its
    rounding error is many orders of magnitude below that margin (it divides integer coordinate
    sums by the area in double precision; tests/metrics check it against exact sums), so every
    label whose exact centroid lies at distance < tol is kept. Their exact integer coordinate
    sums and first pixel are then read from the label image (``np.nonzero`` inside the label's
    bounding box lists its pixels in raster order), and matching tests the exact distance again.
    """
    # 16-bit labels when the pixel count bounds the label count below 2**16 (a little faster).
    ltype = cv2.CV_16U if count < 65535 else cv2.CV_32S
    n, lab, stats, cent = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8, ltype=ltype)
    if n <= 1:
        return 0, Components.empty()
    w = mask.shape[1]
    if near is None:  # every component, from one pass over the pixels
        idx = np.flatnonzero(mask)
        comp = lab.ravel()[idx].astype(np.int64) - 1
        y, x = np.divmod(idx, w)
        area = np.bincount(comp, minlength=n - 1)
        sy = np.bincount(comp, y, minlength=n - 1).astype(np.int64)
        sx = np.bincount(comp, x, minlength=n - 1).astype(np.int64)
        first = _first_index(comp, idx, n - 1)
    else:
        gcy, gcx, tol = near
        _, cand = near_pairs(np.asarray(gcy, np.float64), np.asarray(gcx, np.float64), cent[1:, 1], cent[1:, 0],
                             tol + CENTROID_MARGIN)
        sel = np.unique(cand) + 1
        k = len(sel)
        area, sy, sx, first = (np.zeros(k, np.int64) for _ in range(4))
        for i, lbl in enumerate(sel):
            x0, y0, bw, bh = (int(v) for v in stats[lbl, :4])
            ys, xs = np.nonzero(lab[y0:y0 + bh, x0:x0 + bw] == lbl)
            area[i] = len(ys)
            sy[i] = int(ys.sum()) + y0 * len(ys)
            sx[i] = int(xs.sum()) + x0 * len(xs)
            first[i] = (y0 + int(ys[0])) * w + x0 + int(xs[0])
    lvl = np.full(len(area), j, np.int64)
    return n - 1, Components(lo=lvl, hi=lvl.copy(), area=area, sum_y=sy, sum_x=sx, first=first)


def _block_components(p: np.ndarray, cand: np.ndarray, j0: int, levels: np.ndarray, max_volume: int,
                      level_index: LevelIndex | None) -> tuple[Components, np.ndarray]:
    """Components of every level j0..K from the pixels ``cand`` = (p > levels[j0-1]), by blocks.

    Returns the components with their level ranges and ``pix_above`` (K + 1,), valid from j0 on.
    """
    h, w = p.shape
    nlev = len(levels)
    pix_above = np.zeros(nlev + 1, np.int64)
    n1, lab1 = cv2.connectedComponents(cand.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    if n1 <= 1:
        return Components.empty(), pix_above
    idx = np.flatnonzero(cand)  # raster order
    comp = lab1.ravel()[idx].astype(np.int64) - 1
    vals = p.ravel()[idx]
    lv = level_index(vals) if level_index is not None else level_of(vals, levels)  # j0..nlev
    hist = np.bincount(lv, minlength=nlev + 1)
    pix_above[1:] = np.cumsum(hist[::-1])[::-1][1:]
    y, x = np.divmod(idx, w)
    ncomp = n1 - 1

    # Level-j0 components straight from the first labelling.
    area1 = np.bincount(comp, minlength=ncomp)
    sy1 = np.bincount(comp, y, minlength=ncomp).astype(np.int64)
    sx1 = np.bincount(comp, x, minlength=ncomp).astype(np.int64)
    first1 = _first_index(comp, idx, ncomp)
    # Distinct levels each component reaches: present[c, l].
    stride = nlev + 1
    key = comp * stride + lv
    if ncomp * stride <= DENSE_LIMIT:  # a components x levels presence table is small: no sort needed
        present = np.zeros(ncomp * stride, bool)
        present[key] = True
        present = present.reshape(ncomp, stride)
        cum = np.cumsum(present, axis=1, dtype=np.int32)
        rank = cum.ravel()[key].astype(np.int64)  # 1-based rank of the pixel's level among c's distinct levels
        nblk = cum[:, -1].astype(np.int64)
        bc, bl = np.nonzero(present)  # blocks (component, level) sorted by component then level
        block_off = np.concatenate([[0], np.cumsum(nblk)[:-1]])
    else:  # many components and thresholds: the same from a sort of the candidate pixels
        ukey, inv = np.unique(key, return_inverse=True)
        bc, bl = np.divmod(ukey, stride)
        nblk = np.bincount(bc, minlength=ncomp).astype(np.int64)
        block_off = np.concatenate([[0], np.cumsum(nblk)[:-1]])
        rank = inv.ravel() - block_off[comp] + 1
    first_of_comp = np.zeros(len(bc), bool)
    first_of_comp[block_off] = True
    prev = np.where(first_of_comp, j0 - 1, np.concatenate([[0], bl[:-1]]))
    blo = prev + 1
    # Level-j0 block of each component: the first labelling already gives it; its range is [j0, first level].
    first_blk = block_off
    parts = [Components(lo=np.full(ncomp, j0, np.int64), hi=bl[first_blk].astype(np.int64), area=area1,
                        sum_y=sy1, sum_x=sx1, first=first1)]
    if len(bc) > ncomp:
        # Shrinking bounding boxes: extent per (component, exact level) block, then a suffix min/max over
        # each component's blocks (segmented by offsetting every component by a multiple of BIG).
        nb = len(bc)
        pblk = block_off[comp] + rank - 1  # the block of each pixel's own level
        big = np.int64(max(h, w) + 1)
        off = bc.astype(np.int64) * big

        def extent(v: np.ndarray, op: np.ufunc, init: int) -> np.ndarray:
            a = np.full(nb, init, np.int64)
            op.at(a, pblk, v)
            sign = 1 if op is np.minimum else -1  # every block holds pixels of its own level
            return op.accumulate((a + sign * off)[::-1])[::-1] - sign * off

        by0 = extent(y, np.minimum, int(big))
        bx0 = extent(x, np.minimum, int(big))
        by1 = extent(y, np.maximum, -1)
        bx1 = extent(x, np.maximum, -1)
        kblk = np.arange(len(bc)) - block_off[bc] + 1  # rank of each block within its component
        # Volume of rank k: pixels with rank >= k; chunk ranks 2..max so each chunk stays under max_volume.
        kmax = int(rank.max())
        vol = np.cumsum(np.bincount(rank, minlength=kmax + 1)[::-1])[::-1]  # vol[k] = #pixels with rank >= k
        # Canvas area of the blocks of each rank: sparse blocks can cover far more canvas than pixels.
        barea = np.bincount(kblk, (by1 - by0 + 2) * (bx1 - bx0 + 2), minlength=kmax + 1).astype(np.int64)
        vol = np.maximum(vol, barea)
        k = 2
        while k <= kmax:
            # Largest k_end with vol[k:k_end] summing to at most max_volume (at least one rank).
            k_end = k + max(1, int(np.searchsorted(np.cumsum(vol[k:]), max_volume, side="right")))
            parts.append(_label_blocks(
                k, k_end - 1, rank, comp, block_off, y, x, w,
                (kblk >= k) & (kblk < k_end), blo, bl, by0, bx0, by1, bx1,
            ))
            k = k_end
    return Components.concat(parts), pix_above


def _label_blocks(ka: int, kb: int, rank, comp, block_off, y, x, w, sel, blo, bhi, by0, bx0, by1, bx1
                  ) -> Components:
    """Pack the blocks of ranks ka..kb into one canvas, label it once and measure every component."""
    bsel = np.flatnonzero(sel)
    hb = by1[bsel] - by0[bsel] + 2  # +1 separator row
    wb = bx1[bsel] - bx0[bsel] + 2
    # Shelf packing: tallest first, rows of width ~ sqrt(total area).
    order = np.argsort(-hb, kind="stable")
    hs, ws = hb[order], wb[order]
    shelf_w = max(int(ws.max()), int(np.sqrt(float((hs * ws).sum()))) + 1)
    cw_before = np.cumsum(ws) - ws
    shelf = cw_before // shelf_w
    starts = np.flatnonzero(np.diff(shelf, prepend=-1))
    shelf_id = np.cumsum(np.diff(shelf, prepend=-1) > 0) - 1  # consecutive shelf numbers
    px = cw_before - cw_before[starts][shelf_id]
    shelf_h = hs[starts]
    shelf_y = np.concatenate([[0], np.cumsum(shelf_h)[:-1]])
    py = shelf_y[shelf_id]
    canvas_h = int(shelf_h.sum())
    canvas_w = int((px + ws).max())
    # Offsets canvas = global + (oy, ox), per selected block (in bsel order).
    oy = np.empty(len(bsel), np.int64)
    ox = np.empty(len(bsel), np.int64)
    oy[order] = py - by0[bsel][order]
    ox[order] = px - bx0[bsel][order]
    boff = oy * canvas_w + ox  # canvas flat index = global (y * canvas_w + x) + boff[block]
    # Position in bsel of each component's first selected block (its selected blocks are consecutive).
    pos = np.full(len(sel), -1, np.int64)
    pos[bsel] = np.arange(len(bsel))
    # Entries: pixel i appears in its component's blocks of rank ka..min(rank_i, kb).
    cnt = np.clip(np.minimum(rank, kb) - ka + 1, 0, None)
    keep = cnt > 0
    cnt_k = cnt[keep]
    nent = int(cnt_k.sum())
    starts_e = np.cumsum(cnt_k) - cnt_k
    bpos = np.repeat(pos[block_off[comp[keep]] + (ka - 1)] - starts_e, cnt_k) + np.arange(nent)
    yk, xk = y[keep], x[keep]
    flat = np.repeat(yk * canvas_w + xk, cnt_k) + boff[bpos]
    canvas = np.zeros(canvas_h * canvas_w, np.uint8)
    canvas[flat] = 1
    canvas = canvas.reshape(canvas_h, canvas_w)
    n, labimg = cv2.connectedComponents(canvas, connectivity=8, ltype=cv2.CV_32S)
    if n <= 1:
        return Components.empty()
    lab = labimg.ravel()[flat]
    lab -= 1
    nl = n - 1
    ye = np.repeat(yk, cnt_k)
    xe = np.repeat(xk, cnt_k)
    area = np.bincount(lab, minlength=nl)
    sy = np.bincount(lab, ye, minlength=nl).astype(np.int64)
    sx = np.bincount(lab, xe, minlength=nl).astype(np.int64)
    first = _first_index(lab, ye * w + xe, nl)
    lpos = np.empty(nl, np.int64)
    lpos[lab] = bpos  # every entry of a label lies in the same block
    gb = bsel[lpos]
    return Components(lo=blo[gb].astype(np.int64), hi=bhi[gb].astype(np.int64), area=area, sum_y=sy, sum_x=sx,
                      first=first)
