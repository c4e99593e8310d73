"""SAMF (semantic alignment and modulation fusion, SPEC section 4, paper Eq. 1-6) and its ablation stand-ins."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelError


def _up(t: torch.Tensor, size) -> torch.Tensor:
    """Bilinear resize to ``size`` (a no-op when it already matches)."""
    return t if t.shape[-2:] == tuple(size) else F.interpolate(t, size=size, mode="bilinear", align_corners=False)


class SAMF(nn.Module):
    """One SAMF step: fuse a VFM map (Cd channels) into the top feature F_t (C channels).

    P   = Up(Conv1x1(F_dino))            aligned prior, C/2 channels, bilinear to F_t's H x W  (Eq. 1)
    Mm  = Sigmoid(Conv1x1(P))            multiplicative gate                                   (Eq. 2)
    Ma  = ReLU(BN(Conv1x1(P)))           additive semantic map                                 (Eq. 3)
    A,B = split(F_t)                     two halves along channels
    Bm  = Conv3x3(A * Mm)                                                                      (Eq. 4)
    Ba  = Conv1x1(B + Ma)                                                                      (Eq. 5)
    F_t+1 = Conv3x3(concat(Bm, Ba) + F_t)                                                      (Eq. 6)
    """

    def __init__(self, vfm_dim: int, channels: int):
        super().__init__()
        if channels % 2:
            raise ModelError(f"SAMF needs an even number of top channels to split, got {channels}")
        half = channels // 2
        self.align = nn.Conv2d(vfm_dim, half, 1)
        self.gate = nn.Conv2d(half, half, 1)
        self.add = nn.Sequential(nn.Conv2d(half, half, 1), nn.BatchNorm2d(half), nn.ReLU(inplace=True))
        self.mul_conv = nn.Conv2d(half, half, 3, padding=1)
        self.add_conv = nn.Conv2d(half, half, 1)
        self.fuse = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, top: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        p = _up(self.align(prior), top.shape[-2:])
        m_mul = torch.sigmoid(self.gate(p))
        m_add = self.add(p)
        a, b = top.chunk(2, dim=1)
        b_mul = self.mul_conv(a * m_mul)
        b_add = self.add_conv(b + m_add)
        return self.fuse(torch.cat([b_mul, b_add], dim=1) + top)


class AddFusion(nn.Module):
    """SAMF off, "add": F_t+1 = F_t + Up(Conv1x1(F_dino)) with C channels (paper Table 3 Scheme 1/3:
    +0.26 M parameters for MSDA-Net with ViT-L, matching 4 x (1024 x 64 + 64))."""

    def __init__(self, vfm_dim: int, channels: int):
        super().__init__()
        self.align = nn.Conv2d(vfm_dim, channels, 1)

    def forward(self, top: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        return top + _up(self.align(prior), top.shape[-2:])


class ConcatFusion(nn.Module):
    """SAMF off, "concat": F_t+1 = Conv1x1(concat(F_t, Up(Conv1x1(F_dino)))) with a C/2-channel prior."""

    def __init__(self, vfm_dim: int, channels: int):
        super().__init__()
        half = max(channels // 2, 1)
        self.align = nn.Conv2d(vfm_dim, half, 1)
        self.fuse = nn.Conv2d(channels + half, channels, 1)

    def forward(self, top: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        return self.fuse(torch.cat([top, _up(self.align(prior), top.shape[-2:])], dim=1))


FUSIONS = {"samf": SAMF, "add": AddFusion, "concat": ConcatFusion}
