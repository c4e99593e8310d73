"""Straightforward implementations of FKRW, MPCM and NIPPS: loops over pixels, candidates and patches.

They follow the published algorithms (and, for FKRW and NIPPS, the authors'
MATLAB code) line by line in numpy/scipy, without any of the vectorisation of
the zoo's versions, so that they are easy to check by reading. The tests
compare the zoo's methods with them on small images, and
``benchmarks/bench_classical.py`` times both in one run. They return the same
raw responses as the zoo's ``response`` methods (before the mapping to
probabilities).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.linalg import spsolve

from .fkrw import DISK2, FACET_KERNEL, RING_FLOOR, WEIGHT_EPS
from .mpcm import OPPOSITE_PAIRS


# -- MPCM ------------------------------------------------------------------------------------------
def mpcm_reference(image: np.ndarray, scales=(3, 5, 7, 9), bright_only: bool = False) -> np.ndarray:
    """MPCM pixel by pixel: the 3 x 3 grid of s x s cells around every pixel, cell means from the padded image."""
    h, w = image.shape
    out = np.full((h, w), -np.inf)
    for s in scales:
        pad = s + s // 2
        xp = np.pad(image.astype(np.float64), pad, mode="edge")
        for r in range(h):
            for c in range(w):
                cy, cx = r + pad, c + pad

                def cell_mean(dy, dx, cy=cy, cx=cx, s=s, xp=xp):
                    y0, x0 = cy + dy * s - s // 2, cx + dx * s - s // 2
                    return xp[y0:y0 + s, x0:x0 + s].mean()

                m_t = cell_mean(0, 0)
                products = []
                for a, b in OPPOSITE_PAIRS:
                    da, db = m_t - cell_mean(*a), m_t - cell_mean(*b)
                    if bright_only:
                        da, db = max(da, 0.0), max(db, 0.0)
                    products.append(da * db)
                out[r, c] = max(out[r, c], min(products))
    return out


# -- NIPPS -----------------------------------------------------------------------------------------
def _positions(size: int, patch: int, step: int) -> list[int]:
    count = math.ceil((size - patch) / step) + 1
    return list(range(0, (count - 1) * step, step)) + [size - patch]


def nipps_reference(image: np.ndarray, patch_size: int = 50, step: int = 10, lambda_l: float = 2.0,
                    ratio_n: float = 0.005, tol: float = 1e-7, max_iter: int = 1000, rho: float = 1.5
                    ) -> tuple[np.ndarray, int]:
    """NIPPS as in the authors' nipps.m: patch loop, full SVD per iteration, mean reconstruction.

    Returns (target image, iterations).
    """
    img = image.astype(np.float64)
    h, w = img.shape
    p = min(patch_size, h, w)
    rows, cols = _positions(h, p, step), _positions(w, p, step)
    columns = []
    for c in cols:
        for r in rows:
            columns.append(img[r:r + p, c:c + p].reshape(-1, order="F"))
    d = np.stack(columns, axis=1)  # P^2 x n, one patch per column
    m, n = d.shape
    lam = lambda_l / math.sqrt(min(m, n))
    s_all = np.linalg.svd(d, compute_uv=False)
    ratio = s_all / s_all[0]
    below = np.nonzero(ratio < ratio_n)[0]
    keep = below[0] if len(below) and below[0] > 0 else (len(s_all) if not len(below) else 1)
    keep = max(1, int(keep))
    norm_two = s_all[0]
    y = d / max(norm_two, np.abs(d).max() / lam)
    a_hat = np.zeros_like(d)
    e_hat = np.zeros_like(d)
    mu = 1.25 / norm_two
    mu_bar = mu * 1e7
    norm_d = np.linalg.norm(d, "fro")
    it = 0
    while True:
        it += 1
        e_hat = np.maximum(d - a_hat + y / mu - lam / mu, 0)
        u, s, vt = np.linalg.svd(d - e_hat + y / mu, full_matrices=False)
        s_new = s.copy()
        s_new[keep:] = np.maximum(s[keep:] - 1 / mu, 0)
        a_hat = (u * s_new) @ vt
        z = d - a_hat - e_hat
        y = y + mu * z
        mu = min(mu * rho, mu_bar)
        if np.linalg.norm(z, "fro") / norm_d < tol or it >= max_iter:
            break
    acc = np.zeros((h, w))
    cnt = np.zeros((h, w))
    k = 0
    for c in cols:
        for r in rows:
            acc[r:r + p, c:c + p] += e_hat[:, k].reshape(p, p, order="F")
            cnt[r:r + p, c:c + p] += 1
            k += 1
    return acc / cnt, it


# -- FKRW ------------------------------------------------------------------------------------------
def _random_walker(window: np.ndarray, beta: float) -> np.ndarray:
    """Grady's random walker on one window: centre seeded 1, border seeded 0; target probabilities."""
    size = window.shape[0]
    idx = np.arange(size * size).reshape(size, size)
    edges = np.concatenate([np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1),
                            np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], 1)])
    vals = window.ravel()
    wgt = np.exp(-beta * np.abs(vals[edges[:, 0]] - vals[edges[:, 1]])) + WEIGHT_EPS
    nodes = size * size
    adj = sparse.coo_matrix((np.concatenate([wgt, wgt]), (np.concatenate([edges[:, 0], edges[:, 1]]),
                                                          np.concatenate([edges[:, 1], edges[:, 0]]))),
                            shape=(nodes, nodes)).tocsr()
    lap = (sparse.diags(np.asarray(adj.sum(1)).ravel()) - adj).tocsr()
    c = size // 2
    seeds = [c * size + c] + [int(i) for i in idx[0]] + [int(i) for i in idx[-1]] + \
        [int(i) for i in idx[1:-1, 0]] + [int(i) for i in idx[1:-1, -1]]
    seed_vals = np.zeros(len(seeds))
    seed_vals[0] = 1.0
    free = np.setdiff1d(np.arange(nodes), seeds)
    rhs = -lap[free][:, seeds] @ seed_vals
    prob = np.zeros(nodes)
    prob[seeds] = seed_vals
    prob[free] = spsolve(lap[free][:, free].tocsc(), rhs)
    return prob.reshape(size, size)


def fkrw_reference(image: np.ndarray, k: float = 4.0, beta: float = 200.0, window: int = 11,
                   exponent: float = 6.0) -> np.ndarray:
    """FKRW as in the authors' visual_attention_rw_2.m: one candidate at a time, FLAG bookkeeping."""
    img = image.astype(np.float64) / 255.0
    h, w = img.shape
    ring8 = np.ones((3, 3), bool)
    ring8[1, 1] = False
    nb_max = ndimage.maximum_filter(img, footprint=ring8, mode="constant", cval=0.0)
    img = np.where(img > nb_max, nb_max, img)
    rp = np.pad(img, ((0, 1), (0, 1)), mode="edge")
    im = (rp[:-1, :-1] + rp[1:, :-1] + rp[:-1, 1:] + rp[1:, 1:]) / 4
    dog = ndimage.correlate(im, np.array(FACET_KERNEL, float), mode="mirror")
    th = dog.mean() + k * dog.std(ddof=1)
    cols, rows = np.nonzero(th <= dog.T)  # column-major, as find()
    order = np.argsort(-im[rows, cols], kind="stable")
    half = window // 2
    im_m = np.pad(im, half, mode="reflect")
    out = np.zeros_like(im_m)
    flag = np.zeros(im_m.shape, bool)
    disk = np.array(DISK2, bool)
    for i in order:
        r, c = rows[i] + half, cols[i] + half
        if flag[r, c]:
            continue
        win = im_m[r - half:r + half + 1, c - half:c + half + 1]
        prob = _random_walker(win, beta)
        mask = prob >= 0.5
        if mask.sum() == 1:
            out[r, c] = 0.0
            flag[r, c] = True
            continue
        inner = mask.copy()
        inner[half, half] = False
        prob_res = prob[inner].mean() / prob[~inner].mean()
        tgt_mean = win[mask].mean()
        mid = ndimage.binary_dilation(mask, structure=disk)
        ring = ndimage.binary_dilation(mid, structure=disk) & ~mid
        if not ring.any() or win[ring].max() >= tgt_mean:
            inten = 0.0
        else:
            inten = tgt_mean / max(win[ring].max(), RING_FLOOR)
        value = prob_res * inten ** exponent
        for yy, xx in zip(*np.nonzero(mask)):
            gy, gx = r - half + yy, c - half + xx
            if flag[gy, gx]:
                continue
            out[gy, gx] = value
            flag[gy, gx] = True
    return out[half:half + h, half:half + w] * dog
