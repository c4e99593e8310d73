"""MPCM: multiscale patch-based contrast measure (Wei, You, Li, Pattern Recognition 2016).

For a cell size s, the window around a pixel is a 3 x 3 grid of s x s cells:
the central cell T and eight surrounding cells B_1..B_8, B_i and B_{i+4}
opposite each other. With m the mean of a cell, d_i = m_T - m_{B_i} and the
patch-based contrast of the pixel is ``C_s = min_{i=1..4} d_i * d_{i+4}``
(positive only when the centre is brighter, or darker, than both opposite
neighbours in every direction). MPCM is the maximum of C_s over the scales.

Vectorised: one box filter per scale (an integral image: four slices) gives
every cell mean at once -- the mean of the cell at offset (dy, dx) is the
box-filtered image shifted by s*(dy, dx) -- so a scale is a handful of shifted
tensor subtractions over the whole batch.
Borders: the image is extended by edge replication before the cell means are
taken (cells overlapping the border average replicated pixels).

Paper settings (defaults): cell sizes 3, 5, 7 and 9 (the scales of the
paper's experiments as we read them); no pre-filtering. The measure responds to dark targets as well (the product of
two negative differences is positive), as the paper defines it;
``polarity="bright"`` keeps only centres brighter than their neighbours
(d_i, d_{i+4} > 0). We found no code from the authors; the widely used MATLAB port
of T. Zhang (the same measure, cell sizes 3-19, negative values set to 0) was
read for the border handling.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ...errors import ModelError
from ..registry import register_model
from .base import ClassicalMethod

#: opposite cell pairs (dy, dx) of the 3 x 3 grid: B_i and B_{i+4}
OPPOSITE_PAIRS = (((-1, -1), (1, 1)), ((-1, 0), (1, 0)), ((-1, 1), (1, -1)), ((0, 1), (0, -1)))


def box_means(integral: torch.Tensor, size: int, start: int, h: int, w: int) -> torch.Tensor:
    """N x h x w means of size x size boxes: box (y, x) has its top-left corner at (start + y, start + x).

    ``integral``: N x (Hp + 1) x (Wp + 1) integral image (a leading zero row and column) of the
    padded images, in whose coordinates ``start`` is given. Four slices, whatever the box size.
    """
    s = size
    a = integral[:, start:, start:]
    return (a[:, s:s + h, s:s + w] - a[:, :h, s:s + w] - a[:, s:s + h, :w] + a[:, :h, :w]) / (s * s)


def mpcm_response(images: torch.Tensor, scales: Sequence[int] = (3, 5, 7, 9), bright_only: bool = False
                  ) -> torch.Tensor:
    """MPCM of N x H x W images (any float dtype): max over cell sizes of min over directions of d_i d_{i+4}."""
    n, h, w = images.shape
    pad = max(s + s // 2 for s in scales)  # the farthest cell edge from a pixel
    xp = F.pad(images[:, None], (pad, pad, pad, pad), mode="replicate")[:, 0]
    integral = F.pad(xp.cumsum(1).cumsum(2), (1, 0, 1, 0))
    best = None
    for s in scales:
        # means[y, x]: the s x s cell centred on image pixel (y - s, x - s), for the 3 x 3 grid of cells
        means = box_means(integral, s, pad - s - s // 2, h + 2 * s, w + 2 * s)

        def cell(dy: int, dx: int, means=means, s=s) -> torch.Tensor:
            return means[:, s + dy * s: s + dy * s + h, s + dx * s: s + dx * s + w]

        centre = cell(0, 0)
        contrast = None
        for a, b in OPPOSITE_PAIRS:
            da, db = centre - cell(*a), centre - cell(*b)
            if bright_only:
                da, db = da.clamp_(min=0), db.clamp_(min=0)
            prod = da.mul_(db)
            contrast = prod if contrast is None else torch.minimum(contrast, prod, out=contrast)
        best = contrast if best is None else torch.maximum(best, contrast, out=best)
    return best


@register_model(name="mpcm")
class MPCM(ClassicalMethod):
    """Multiscale patch-based contrast measure; ``scales``: cell sizes (odd), ``polarity``: "both" or "bright"."""

    source = "Wei et al., Pattern Recognit. 2016; no authors' code found (paper's cell sizes 3/5/7/9)"
    paper_time_s = 0.104

    def __init__(self, in_chans: int = 1, scales: Sequence[int] = (3, 5, 7, 9), polarity: str = "both") -> None:
        super().__init__(in_chans)
        scales = tuple(int(s) for s in scales)
        if not scales or any(s < 1 or s % 2 == 0 for s in scales):
            raise ModelError(f"mpcm: scales must be odd cell sizes >= 1, got {list(scales)}")
        if polarity not in ("both", "bright"):
            raise ModelError(f"mpcm: polarity must be 'both' or 'bright', got {polarity!r}")
        self.scales, self.polarity = scales, polarity
        self.init_kwargs = {"scales": list(scales), "polarity": polarity}

    def responses(self, images: torch.Tensor) -> torch.Tensor:
        return mpcm_response(images, self.scales, bright_only=self.polarity == "bright")

    def response(self, image: torch.Tensor) -> torch.Tensor:
        return self.responses(image[None])[0]
