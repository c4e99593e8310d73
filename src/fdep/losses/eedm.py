"""EEDM: edge-enhanced difficulty-mining loss (SPEC section 5), in two readings.

``form="text"`` follows the paper's text:

1. per-pixel BCE with logits;
2. pixels of the edge band are weighted by ``edge_weight`` (default 4). The band is every pixel
   within one pixel (8-neighbourhood) of the GT boundary on either side:
   ``band = dilate3x3(mask) XOR erode3x3(mask)`` -- target pixels with a background neighbour
   plus background pixels with a target neighbour. Outside the image counts as neither (the
   image border is not a target boundary);
3. difficulty mining over the whole batch: with N pixels and k = max(1, floor(p * N)), keep
   every pixel whose weighted loss is >= the k-th largest weighted loss (ties kept) and
   return their mean (p = 0.5 by default; p = 1 averages all pixels).

``form="released"`` reproduces the authors' released ``edgeSCE_loss`` (PAL, loss/Edge_loss.py)
exactly. Their edge map holds 0 and 255; ``edge[edge == 0] = 1`` followed by
``edge[edge > 0] = 4`` turns *every* entry into 4, so whatever band the data pipeline computed,
each pixel's BCE is multiplied by ``edge_weight``; then the values are sorted ascending and every
value >= the one at index ``int(p * N)`` is averaged (for odd N that keeps one pixel more than
the text form's ``floor(p * N)`` largest). In effect: ``edge_weight`` x the mean of the harder half
of the plain BCE values -- no edge emphasis at all.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..choices import EEDM_FORMS  # the readings of EEDM (see the module doc)
from ..errors import ConfigError


def edge_band(mask: torch.Tensor) -> torch.Tensor:
    """Boolean N x 1 x H x W band of pixels within 1 px of a binary mask's boundary (both sides)."""
    m = (mask > 0.5).float()
    dilated = F.max_pool2d(m, 3, stride=1, padding=1)  # padding is -inf: the outside never counts
    eroded = -F.max_pool2d(-m, 3, stride=1, padding=1)
    return dilated != eroded


def _released(loss: torch.Tensor, edge_weight: float, p: float) -> torch.Tensor:
    flat = (loss * edge_weight).flatten()
    index = min(int(p * flat.numel()), flat.numel() - 1)
    # the value at ``index`` of the ascending sort (kthvalue is 1-based)
    threshold = torch.kthvalue(flat.detach(), index + 1).values
    return flat[flat >= threshold].mean()


def eedm_loss(logits: torch.Tensor, target: torch.Tensor, edge_weight: float = 4.0, p: float = 0.5,
              form: str = "text") -> torch.Tensor:
    """EEDM loss of one N x 1 x H x W logit map against a binary target of the same shape."""
    if not 0 < p <= 1:
        raise ValueError(f"EEDM fraction p must be in (0, 1], got {p}")
    if form not in EEDM_FORMS:
        raise ConfigError(f"unknown EEDM form {form!r}; choose from {', '.join(EEDM_FORMS)}")
    target = target.to(logits.dtype)
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    if form == "released":
        return _released(loss, edge_weight, p)
    weight = 1.0 + (edge_weight - 1.0) * edge_band(target).to(loss.dtype)
    flat = (loss * weight).flatten()
    k = max(1, math.floor(p * flat.numel()))
    if k >= flat.numel():
        return flat.mean()
    threshold = torch.topk(flat.detach(), k, sorted=False).values.min()
    keep = flat >= threshold
    return flat[keep].mean()


class EEDMLoss:
    """Callable EEDM loss with its parameters bound (one map)."""

    def __init__(self, edge_weight: float = 4.0, p: float = 0.5, form: str = "text"):
        if form not in EEDM_FORMS:
            raise ConfigError(f"unknown EEDM form {form!r}; choose from {', '.join(EEDM_FORMS)}")
        self.edge_weight = float(edge_weight)
        self.p = float(p)
        self.form = form

    def __call__(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return eedm_loss(logits, target, self.edge_weight, self.p, self.form)

    def __repr__(self) -> str:
        return f"EEDMLoss(edge_weight={self.edge_weight}, p={self.p}, form={self.form!r})"
