"""Layers shared by several networks of the zoo."""

from __future__ import annotations

import torch
from torch import nn


class PooledBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm for globally pooled N x C x 1 x 1 features that also trains at batch size 1.

    PyTorch refuses batch statistics over a single value per channel; MXNet (the
    reference framework) computes them, giving mean = x, var = 0, so the output is
    the bias. We do the same in that one case (running statistics left untouched)
    and defer to the normal BatchNorm otherwise.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] * x.shape[2] * x.shape[3] == 1:
            centred = x - x.mean(dim=(0, 2, 3), keepdim=True)
            scale = (self.weight if self.affine else 1.0) / (self.eps**0.5)
            shift = self.bias if self.affine else 0.0
            return centred * _as_c11(scale) + _as_c11(shift)
        return super().forward(x)


def _as_c11(v: torch.Tensor | float) -> torch.Tensor | float:
    return v.view(1, -1, 1, 1) if isinstance(v, torch.Tensor) else v


def channel_gate(channels: int, r: int, pooled: bool) -> nn.Sequential:
    """1x1 conv bottleneck (C -> C/r -> C) with BN, ending in a sigmoid; global when ``pooled``."""
    mid = channels // r
    bn = PooledBatchNorm2d if pooled else nn.BatchNorm2d
    return nn.Sequential(
        *([nn.AdaptiveAvgPool2d(1)] if pooled else []),
        nn.Conv2d(channels, mid, 1),
        bn(mid),
        nn.ReLU(inplace=True),
        nn.Conv2d(mid, channels, 1),
        bn(channels),
        nn.Sigmoid(),
    )
