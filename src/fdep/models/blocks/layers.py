"""Layers shared by several networks of the zoo."""

from __future__ import annotations

import torch
from torch import nn

from ...errors import ModelError

#: Constructor ``style`` values of the networks whose readings differ: "authors" (the default) is
#: the authors' PyTorch implementation behind the FDEP paper's numbers (YuChuang1205/PAL);
#: "original" is the network's own paper/code (e.g. MXNet open-acm for ACM/ALCNet).
STYLES = ("authors", "original")


def check_style(model: str, style: str) -> str:
    """Return ``style`` if it is one of STYLES, else raise a one-line ModelError."""
    if style not in STYLES:
        raise ModelError(f"{model}: unknown style {style!r}; choose from {', '.join(STYLES)}")
    return style


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


def norm2d(channels: int, norm: str, pooled: bool = False) -> nn.Module:
    """The normalisation of a fusion block: ``"group"`` = GroupNorm with one group (per-sample
    normalisation over all channels and pixels, the authors' PyTorch choice), ``"batch"`` =
    BatchNorm (``PooledBatchNorm2d`` for globally pooled maps, so batch 1 trains)."""
    if norm == "group":
        return nn.GroupNorm(1, channels)
    if norm == "batch":
        return PooledBatchNorm2d(channels) if pooled else nn.BatchNorm2d(channels)
    raise ValueError(f"norm must be 'group' or 'batch', got {norm!r}")


def channel_gate(channels: int, r: int, pooled: bool, norm: str = "batch") -> nn.Sequential:
    """1x1 conv bottleneck (C -> C/r -> C) with normalisation, ending in a sigmoid; global when ``pooled``."""
    mid = channels // r
    return nn.Sequential(
        *([nn.AdaptiveAvgPool2d(1)] if pooled else []),
        nn.Conv2d(channels, mid, 1),
        norm2d(mid, norm, pooled),
        nn.ReLU(inplace=True),
        nn.Conv2d(mid, channels, 1),
        norm2d(channels, norm, pooled),
        nn.Sigmoid(),
    )
