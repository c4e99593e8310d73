"""Greedy target matching (SPEC.md section 2) at every level of one image.

GT components are visited in label order (raster order of their first pixel);
each takes the first still-unmatched predicted component, also in label order,
whose centroid lies at distance < tau. Distances are compared as
``dy*dy + dx*dx < tau*tau`` in float64 on centroids ``sum / count``.

Only pairs (GT, predicted component) closer than tau can ever match, and they
are few; when no predicted component is close to two GT targets the greedy
choice of every GT is simply its first close component, which is computed for
all levels at once. Images where a component is close to several GT targets
(merged targets) run the sequential greedy rule level by level.
"""

from __future__ import annotations

import numpy as np

from .components import Components, near_pairs


def match_levels(gcy: np.ndarray, gcx: np.ndarray, comps: Components, nlev: int, tol: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Matched GT count and matched predicted pixel count at every level (arrays of length nlev + 1).

    ``gcy, gcx``: GT centroids in label order. ``comps``: predicted components with level ranges.
    """
    n_match = np.zeros(nlev + 1, np.int64)
    m_area = np.zeros(nlev + 1, np.int64)
    if len(gcy) == 0 or len(comps) == 0:
        return n_match, m_area
    pcy = comps.sum_y / comps.area
    pcx = comps.sum_x / comps.area
    g, c = near_pairs(gcy, gcx, pcy, pcx, tol)
    if len(g) == 0:
        return n_match, m_area
    if np.bincount(c).max() <= 1:  # no component is close to two GT targets: each GT takes its first
        srt = np.lexsort((comps.first[c], g))
        g, c = g[srt], c[srt]
        lv = np.arange(nlev + 1)
        active = (comps.lo[c][:, None] <= lv[None, :]) & (lv[None, :] <= comps.hi[c][:, None])
        rank = np.where(active, np.arange(len(c))[:, None], len(c))
        seg = np.flatnonzero(np.diff(g, prepend=-1))
        best = np.minimum.reduceat(rank, seg, axis=0)  # (n_gt_with_pairs, nlev + 1)
        ok = best < len(c)
        n_match += ok.sum(axis=0)
        m_area += np.where(ok, comps.area[c][np.minimum(best, len(c) - 1)], 0).sum(axis=0)
        return n_match, m_area
    # Sequential greedy rule, level by level, over the few close pairs.
    srt = np.lexsort((comps.first[c], g))
    g, c = g[srt], c[srt]
    lo, hi, first, area = comps.lo[c], comps.hi[c], comps.first[c], comps.area
    for j in range(int(lo.min()), int(hi.max()) + 1):
        act = np.flatnonzero((lo <= j) & (j <= hi))
        if len(act) == 0:
            continue
        taken: set[int] = set()
        for gi in np.unique(g[act]):
            cand = act[g[act] == gi]
            cand = cand[np.argsort(first[cand], kind="stable")]
            for k in cand:
                if int(c[k]) not in taken:
                    taken.add(int(c[k]))
                    n_match[j] += 1
                    m_area[j] += int(area[c[k]])
                    break
    return n_match, m_area
