"""The usual alternatives to EEDM: SoftIoU and plain BCE (one logit map each)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def soft_iou_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - soft IoU over the whole batch: (sum p*t + s) / (sum p + sum t - sum p*t + s), p = sigmoid(logits)."""
    prob = torch.sigmoid(logits)
    target = target.to(prob.dtype)
    inter = (prob * target).sum()
    return 1.0 - (inter + smooth) / (prob.sum() + target.sum() - inter + smooth)


def bce_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean per-pixel BCE with logits."""
    return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype))


class SoftIoULoss:
    def __init__(self, smooth: float = 1.0):
        self.smooth = float(smooth)

    def __call__(self, logits, target):
        return soft_iou_loss(logits, target, self.smooth)

    def __repr__(self) -> str:
        return f"SoftIoULoss(smooth={self.smooth})"


class BCELoss:
    def __call__(self, logits, target):
        return bce_loss(logits, target)

    def __repr__(self) -> str:
        return "BCELoss()"
