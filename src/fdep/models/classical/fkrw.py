"""FKRW: facet kernel and random walker (Qin, Bruzzone, Gao, Li, IEEE TGRS 57(10), 2019).

Steps, as in the authors' MATLAB code (github.com/tsinjiao/InfraredTargetDectectionFKRW,
``visual_attention_rw_2.m``, whose defaults are ours):

1. intensities / 255; pixel-sized noise with high brightness (PNHB) is removed by
   clipping every pixel to the maximum of its 8 neighbours, then a 2 x 2 mean
   filter smooths the image (edge replication at the bottom/right);
2. the 5 x 5 facet kernel (second-derivative facet model) filters the image
   (symmetric border without edge repetition); candidate pixels are those whose
   response is >= mean + k std of the response (k = 4);
3. candidates are visited brightest first; for a candidate not yet covered by an
   earlier candidate's region, a random walker (Grady 2006) on its 11 x 11
   window -- 4-connected lattice, edge weights exp(-beta |I_i - I_j|) + 1e-5,
   beta = 200, the centre seeded as target and the window border as background
   -- labels the target region (target probability >= 0.5);
4. the region scores ``prob_res * inten^6``: prob_res is the mean target
   probability of the region (centre excluded) over the mean of the rest of the
   window (centre included); inten (the local contrast descriptor) is the
   region's mean intensity over the maximum of the ring between the region
   dilated once and twice by a radius-2 disk, or 0 when that ring is as bright as
   the region. Region pixels not already claimed take the score; a candidate
   whose region is its centre alone scores 0;
5. the response is that map times the facet response (the code then divides by
   its maximum, which :func:`response_to_probability` does).

Vectorised: the brightest-first loop of the original -- sequential, since a
candidate is skipped when an earlier processed region covers it -- is
reproduced exactly with two batches of random walks and a few vectorised
rounds over the candidates' coverage graph (see :func:`fkrw_response`); the
random walks of a batch are one banded Cholesky solve of all windows' stacked
systems (:func:`random_walker_windows`), scores are batched tensor reductions.
No loop runs over candidates or pixels.

Deviations from the code, both in cases the code does not handle: the original
finds background seeds with ``find(window == 1)`` after setting the border to 1,
so interior pixels whose value is exactly 1.0 (saturated 2 x 2 blocks) become
background seeds too; we seed the border only. A ring that is all 0 (a region in
a black frame) divides by 1e-3 instead of 0, and an empty ring scores 0 (the
original errors out on both).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.linalg import solveh_banded

from ...errors import ModelError
from ..registry import register_model
from .base import ClassicalMethod

#: the 5 x 5 facet kernel of the paper/code
FACET_KERNEL = ((-4, -1, 0, -1, -4), (-1, 2, 3, 2, -1), (0, 3, 4, 3, 0), (-1, 2, 3, 2, -1), (-4, -1, 0, -1, -4))
#: MATLAB's strel('disk', 2): 13 pixels
DISK2 = ((0, 0, 1, 0, 0), (0, 1, 1, 1, 0), (1, 1, 1, 1, 1), (0, 1, 1, 1, 0), (0, 0, 1, 0, 0))
#: added to every random-walker edge weight (Grady's makeweights EPSILON)
WEIGHT_EPS = 1e-5
#: the smallest ring maximum a contrast is divided by
RING_FLOOR = 1e-3


def fkrw_preprocess(image: torch.Tensor) -> torch.Tensor:
    """Step 1 on an H x W float64 0-255 image: /255, clip to the 8-neighbour max, 2 x 2 mean."""
    x = image / 255.0
    h, w = x.shape
    zp = F.pad(x, (1, 1, 1, 1))  # ordfilt2 pads with zeros (values are >= 0, so zeros never win)
    nb = torch.zeros_like(x)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                torch.maximum(nb, zp[1 + dy: 1 + dy + h, 1 + dx: 1 + dx + w], out=nb)
    x = torch.minimum(x, nb)
    rp = F.pad(x[None, None], (0, 1, 0, 1), mode="replicate")[0, 0]
    return (rp[:h, :w] + rp[1:, :w] + rp[:h, 1:] + rp[1:, 1:]) / 4


def facet_response(x: torch.Tensor) -> torch.Tensor:
    """Step 2's filter: the facet kernel over an H x W image with symmetric (reflect-101) borders."""
    h, w = x.shape
    xp = F.pad(x[None, None], (2, 2, 2, 2), mode="reflect")[0, 0]
    out = torch.zeros_like(x)
    for dy, row in enumerate(FACET_KERNEL):  # 21 shifted multiply-adds (float64 conv2d is ~40x slower)
        for dx, weight in enumerate(row):
            if weight:
                out.add_(xp[dy:dy + h, dx:dx + w], alpha=weight)
    return out


def random_walker_windows(windows: torch.Tensor, beta: float) -> torch.Tensor:
    """Target probability of every pixel of n x S x S windows (centre = target seed, border = background).

    Grady's random walker: 4-connected edges weighted exp(-beta |I_a - I_b|) + 1e-5; the free pixels'
    probabilities solve the Dirichlet problem L_UU p = -L_US p_S with p = 1 at the centre and 0 on the
    border. The (S-2)^2 interior pixels of a window, in row-major order, give a symmetric positive
    definite system of bandwidth S-2 (the centre's row made the identity, its couplings moved to the
    right-hand side); stacking the n windows' systems keeps that bandwidth, so all random walks are one
    banded Cholesky solve (LAPACK pbsv through ``scipy.linalg.solveh_banded``).
    """
    n, size, _ = windows.shape
    k = size - 2  # interior side
    c = k // 2
    v = windows.numpy() if windows.dtype == torch.float64 else windows.double().numpy()
    wh = np.exp(-beta * np.abs(np.diff(v, axis=2))) + WEIGHT_EPS  # n x S x S-1: (y, x)-(y, x+1)
    wv = np.exp(-beta * np.abs(np.diff(v, axis=1))) + WEIGHT_EPS  # n x S-1 x S: (y, x)-(y+1, x)
    degree = np.zeros_like(v)
    degree[:, :, 1:] += wh
    degree[:, :, :-1] += wh
    degree[:, 1:, :] += wv
    degree[:, :-1, :] += wv
    diag = degree[:, 1:-1, 1:-1].copy()  # n x k x k
    left = -wh[:, 1:-1, :-1].copy()  # coupling of interior (r, q) with (r, q-1); column 0 meets the border
    left[:, :, 0] = 0.0
    up = -wv[:, :-1, 1:-1].copy()  # coupling of interior (r, q) with (r-1, q); row 0 meets the border
    up[:, 0, :] = 0.0
    rhs = np.zeros((n, k, k))
    # the centre is seeded 1: its neighbours get +w on the right-hand side, its own row becomes p = 1
    rhs[:, c, c - 1] = wh[:, c + 1, c]
    rhs[:, c, c + 1] = wh[:, c + 1, c + 1]
    rhs[:, c - 1, c] = wv[:, c, c + 1]
    rhs[:, c + 1, c] = wv[:, c + 1, c + 1]
    rhs[:, c, c] = 1.0
    diag[:, c, c] = 1.0
    left[:, c, c] = left[:, c, c + 1] = 0.0
    up[:, c, c] = up[:, c + 1, c] = 0.0
    band = np.zeros((k + 1, n * k * k))
    band[k] = diag.reshape(-1)
    band[k - 1] = left.reshape(-1)
    band[0] = up.reshape(-1)
    sol = solveh_banded(band, rhs.reshape(-1), check_finite=False)
    out = np.zeros((n, size, size))
    out[:, 1:-1, 1:-1] = sol.reshape(n, k, k)
    return torch.from_numpy(out).to(windows.dtype)


def _dilate(mask: torch.Tensor) -> torch.Tensor:
    """Binary dilation of n x S x S masks by the radius-2 disk (nothing outside the window counts)."""
    n, size, _ = mask.shape
    mp = F.pad(mask, (2, 2, 2, 2))
    out = torch.zeros_like(mask)
    for dy, row in enumerate(DISK2):  # OR of the disk's 13 shifts
        for dx, on in enumerate(row):
            if on:
                out |= mp[:, dy:dy + size, dx:dx + size]
    return out


def region_scores(windows: torch.Tensor, prob: torch.Tensor, exponent: float = 6.0
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Steps 3-4 per window: (target region mask n x S x S, score n); a centre-only region scores 0."""
    n, size, _ = windows.shape
    c = size // 2
    region = prob >= 0.5
    centre = torch.zeros(size, size, dtype=torch.bool)
    centre[c, c] = True
    count = region.sum((1, 2))
    singleton = count <= 1
    region = region | centre  # the seed is always target
    inner = region & ~centre
    rest = ~inner
    prob_res = (prob * inner).sum((1, 2)) / inner.sum((1, 2)).clamp(min=1) / (
        (prob * rest).sum((1, 2)) / rest.sum((1, 2)))
    tgt_mean = (windows * region).sum((1, 2)) / region.sum((1, 2))
    mid = _dilate(region)
    ring = _dilate(mid) & ~mid
    ring_max = torch.where(ring, windows, torch.full_like(windows, -torch.inf)).amax((1, 2))
    has_ring = ring.any(2).any(1)
    inten = torch.where(has_ring & (ring_max < tgt_mean), tgt_mean / ring_max.clamp(min=RING_FLOOR),
                        torch.zeros_like(tgt_mean))
    score = torch.where(singleton, torch.zeros_like(prob_res), prob_res * inten ** exponent)
    region = torch.where(singleton[:, None, None], centre.expand_as(region), region)
    return region, score


def _window_offsets(size: int, width: int) -> torch.Tensor:
    """S x S flat offsets of a window's pixels from its centre in an image ``width`` pixels wide."""
    offs = torch.arange(size) - size // 2
    return offs[:, None] * width + offs[None, :]


def fkrw_response(image: torch.Tensor, k: float = 4.0, beta: float = 200.0, window: int = 11,
                  exponent: float = 6.0) -> torch.Tensor:
    """FKRW's weighted map (before the final division by its maximum) of an H x W float64 0-255 image.

    The brightest-first loop of the original (candidate i is skipped iff the region of an earlier
    processed candidate covers its centre) is reproduced exactly without visiting candidates one by
    one: candidates with no earlier candidate within a window's reach are processed for sure (one
    batch of random walks); those their regions cover are skipped; the rest get their random walks
    in a second, speculative batch, and the processed/skipped outcome then follows from the known
    regions in a few vectorised rounds (each settles every candidate whose earlier coverers are
    settled; the first unsettled one always settles, so the rounds end).
    """
    h, w = image.shape
    half = window // 2
    if min(h, w) <= half:
        raise ModelError(f"fkrw: images must be larger than {half} pixels in each direction, got {h} x {w}")
    x = fkrw_preprocess(image)
    dog = facet_response(x)
    std = dog.std() if dog.numel() > 1 else torch.zeros((), dtype=dog.dtype)
    cand = (dog.mean() + k * std <= dog.T).nonzero()  # column-major order, as MATLAB's find
    if len(cand) == 0:
        return torch.zeros_like(dog)
    cols, rows = cand[:, 0], cand[:, 1]
    order = torch.sort(x[rows, cols], descending=True, stable=True).indices
    rows, cols = rows[order], cols[order]
    n = len(rows)
    xp = F.pad(x[None, None], (half, half, half, half), mode="reflect")[0, 0]
    wp = w + 2 * half
    flat_offs = _window_offsets(window, wp)
    centres = (rows + half) * wp + (cols + half)  # in the padded image, visiting order
    at = torch.full((xp.numel(),), -1, dtype=torch.long)
    at[centres] = torch.arange(n)
    # earlier candidates whose window reaches i's centre: the only ones that can skip i
    near = at[centres[:, None] + flat_offs.reshape(-1)]  # n x S^2
    wait_i, wait_j = (near < torch.arange(n)[:, None]).logical_and_(near >= 0).nonzero(as_tuple=True)
    wait_j = near[wait_i, wait_j]
    offs = torch.arange(window)
    regions = torch.zeros(n, window, window, dtype=torch.bool)
    score = torch.zeros(n, dtype=x.dtype)
    solved = torch.zeros(n, dtype=torch.bool)

    def solve(sel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Random walks of candidates ``sel``; returns the coverage pairs (j, i): region j holds centre i."""
        r, c = rows[sel], cols[sel]
        win = xp[(r[:, None] + offs)[:, :, None], (c[:, None] + offs)[:, None, :]]
        regions[sel], score[sel] = region_scores(win, random_walker_windows(win, beta), exponent)
        solved[sel] = True
        j, py, px = regions[sel].nonzero(as_tuple=True)
        hit = at[centres[sel[j]] + flat_offs[py, px]]
        later = hit > sel[j]
        return sel[j][later], hit[later]

    # 1. candidates with no earlier candidate within reach are processed for sure
    has_wait = torch.zeros(n, dtype=torch.bool).index_fill_(0, wait_i, True)
    src, dst = solve((~has_wait).nonzero()[:, 0])
    # 2. the rest not covered by those regions: random walks in one speculative batch (some of them
    #    turn out to be skipped), then the exact brightest-first outcome from the known regions
    covered = torch.zeros(n, dtype=torch.bool).index_fill_(0, dst, True)
    rest = (~solved & ~covered).nonzero()[:, 0]
    if len(rest):
        s2, d2 = solve(rest)
        src, dst = torch.cat([src, s2]), torch.cat([dst, d2])
    state = torch.where(solved, 0, 2).to(torch.int8)  # 0 unsettled, 1 processed, 2 skipped
    while True:
        unsettled = state == 0
        if not bool(unsettled.any()):
            break
        src_state = state[src]
        hit = torch.zeros(n, dtype=torch.bool).index_fill_(0, dst[src_state == 1], True)
        pending = torch.zeros(n, dtype=torch.bool).index_fill_(0, dst[src_state == 0], True)
        state[unsettled & hit] = 2
        state[unsettled & ~hit & ~pending] = 1
    regions &= (state == 1)[:, None, None]
    # every pixel takes the score of the first processed candidate whose region covers it
    cidx, py, px = regions.nonzero(as_tuple=True)
    pix = centres[cidx] + flat_offs[py, px]
    first = torch.full((xp.numel(),), n, dtype=torch.long).scatter_reduce_(0, pix, cidx, reduce="amin")
    out = torch.cat([score, score.new_zeros(1)])[first].reshape(xp.shape)[half: half + h, half: half + w]
    return out * dog


@register_model(name="fkrw")
class FKRW(ClassicalMethod):
    """Facet kernel + random walker; ``k``: candidate threshold in stds, ``beta``: RW weight scale."""

    source = "Qin et al., IEEE TGRS 2019; code: tsinjiao/InfraredTargetDectectionFKRW"
    paper_time_s = 0.189

    def __init__(self, in_chans: int = 1, k: float = 4.0, beta: float = 200.0, window: int = 11,
                 exponent: float = 6.0) -> None:
        super().__init__(in_chans)
        if beta <= 0 or window < 3 or window % 2 == 0:
            raise ModelError(f"fkrw: need beta > 0 and an odd window >= 3, got beta={beta}, window={window}")
        self.k, self.beta, self.window, self.exponent = float(k), float(beta), int(window), float(exponent)
        self.init_kwargs = {"k": self.k, "beta": self.beta, "window": self.window, "exponent": self.exponent}

    def response(self, image: torch.Tensor) -> torch.Tensor:
        return fkrw_response(image, self.k, self.beta, self.window, self.exponent)
