"""EEDM: edge-enhanced difficulty-mining loss (SPEC section 5).

1. per-pixel BCE with logits;
2. pixels of the edge band are weighted by ``edge_weight`` (default 4). The band is every pixel
   within one pixel (8-neighbourhood) of the GT boundary on either side:
   ``band = dilate3x3(mask) XOR erode3x3(mask)`` -- target pixels with a background neighbour
   plus background pixels with a target neighbour. Outside the image counts as neither (the
   image border is not a target boundary);
3. difficulty mining over the whole batch: with N pixels and k = max(1, floor(p * N)), keep
   every pixel whose weighted loss is >= the k-th largest weighted loss (ties kept) and
   return their mean (p = 0.5 by default; p = 1 averages all pixels).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def edge_band(mask: torch.Tensor) -> torch.Tensor:
    """Boolean N x 1 x H x W band of pixels within 1 px of a binary mask's boundary (both sides)."""
    m = (mask > 0.5).float()
    dilated = F.max_pool2d(m, 3, stride=1, padding=1)  # padding is -inf: the outside never counts
    eroded = -F.max_pool2d(-m, 3, stride=1, padding=1)
    return dilated != eroded


def eedm_loss(logits: torch.Tensor, target: torch.Tensor, edge_weight: float = 4.0, p: float = 0.5) -> torch.Tensor:
    """EEDM loss of one N x 1 x H x W logit map against a binary target of the same shape."""
    if not 0 < p <= 1:
        raise ValueError(f"EEDM fraction p must be in (0, 1], got {p}")
    target = target.to(logits.dtype)
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
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

    def __init__(self, edge_weight: float = 4.0, p: float = 0.5):
        self.edge_weight = float(edge_weight)
        self.p = float(p)

    def __call__(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return eedm_loss(logits, target, self.edge_weight, self.p)

    def __repr__(self) -> str:
        return f"EEDMLoss(edge_weight={self.edge_weight}, p={self.p})"
