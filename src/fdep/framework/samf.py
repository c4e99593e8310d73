"""SAMF (semantic alignment and modulation fusion, SPEC section 4, paper Eq. 1-6) and its ablation stand-ins.

SAMF comes in two forms (``SAMF_FORMS``), chosen by name:

* ``"table1"`` (the default, used by the paper configs): sized as the paper's Table 1. The VFM map is
  projected straight to C/2 channels twice, one 1x1 projection for the gate of Eq. 2 and one for the
  additive map of Eq. 3 (no 1x1 conv on a shared P~), Eq. 4-6 as printed, and the 3x3 conv of Eq. 6
  is followed by BatchNorm + ReLU. With DINOv2 ViT-L/14 this reproduces every FDEP parameter count
  of Table 1 and Table 3 at printed precision (docs/fdep.md, "SAMF forms").
* ``"literal"``: Eq. 1-6 exactly as printed (a shared aligned prior P~, two 1x1 convs on it, no
  normalisation after Eq. 6); 0.12 M per network short of Table 1 at C = 64. Checkpoints written
  before the form was recorded used this one (``LEGACY_SAMF_FORM``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..choices import SAMF_FORMS
from ..errors import ConfigError, ModelError

DEFAULT_SAMF_FORM = "table1"
#: the form of checkpoints/configs that do not record one (the only form before forms existed)
LEGACY_SAMF_FORM = "literal"


def _up(t: torch.Tensor, size) -> torch.Tensor:
    """Bilinear resize to ``size`` (a no-op when it already matches)."""
    return t if t.shape[-2:] == tuple(size) else F.interpolate(t, size=size, mode="bilinear", align_corners=False)


class SAMF(nn.Module):
    """One SAMF step: fuse a VFM map (Cd channels) into the top feature F_t (C channels).

    form "literal" (Eq. 1-6 as printed):
        P   = Up(Conv1x1(F_dino))            aligned prior, C/2 channels, bilinear to F_t's H x W  (Eq. 1)
        Mm  = Sigmoid(Conv1x1(P))            multiplicative gate                                   (Eq. 2)
        Ma  = ReLU(BN(Conv1x1(P)))           additive semantic map                                 (Eq. 3)
    form "table1" (sized as Table 1): each map gets its own projection of F_dino, no shared P:
        Mm  = Sigmoid(Up(Conv1x1(F_dino)))                                                         (Eq. 1-2)
        Ma  = ReLU(BN(Up(Conv1x1(F_dino))))                                                        (Eq. 1, 3)
    both forms:
        A,B = split(F_t)                     two halves along channels
        Bm  = Conv3x3(A * Mm)                                                                      (Eq. 4)
        Ba  = Conv1x1(B + Ma)                                                                      (Eq. 5)
        F_t+1 = Conv3x3(concat(Bm, Ba) + F_t)                                                      (Eq. 6)
    form "table1" then applies ReLU(BN(.)) to F_t+1 (the BatchNorm Table 1's DNA-Net row needs).

    The projections run at the VFM's resolution and are upsampled before any normalisation or
    non-linearity, as Eq. 1 orders them (a 1x1 conv commutes with bilinear resizing).
    """

    def __init__(self, vfm_dim: int, channels: int, form: str = DEFAULT_SAMF_FORM):
        super().__init__()
        if form not in SAMF_FORMS:
            raise ConfigError(f"unknown SAMF form {form!r}; choose from {', '.join(SAMF_FORMS)}")
        if channels % 2:
            raise ModelError(f"SAMF needs an even number of top channels to split, got {channels}")
        self.form = form
        half = channels // 2
        if form == "literal":
            self.align = nn.Conv2d(vfm_dim, half, 1)
            self.gate = nn.Conv2d(half, half, 1)
            self.add = nn.Sequential(nn.Conv2d(half, half, 1), nn.BatchNorm2d(half), nn.ReLU(inplace=True))
            self.out_norm = nn.Identity()
        else:
            self.gate = nn.Conv2d(vfm_dim, half, 1)
            self.add = nn.Conv2d(vfm_dim, half, 1)
            self.add_norm = nn.Sequential(nn.BatchNorm2d(half), nn.ReLU(inplace=True))
            self.out_norm = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
        self.mul_conv = nn.Conv2d(half, half, 3, padding=1)
        self.add_conv = nn.Conv2d(half, half, 1)
        self.fuse = nn.Conv2d(channels, channels, 3, padding=1)

    def _maps(self, prior: torch.Tensor, size) -> tuple[torch.Tensor, torch.Tensor]:
        """(multiplicative gate, additive map), both C/2 x H x W."""
        if self.form == "literal":
            p = _up(self.align(prior), size)
            return torch.sigmoid(self.gate(p)), self.add(p)
        return torch.sigmoid(_up(self.gate(prior), size)), self.add_norm(_up(self.add(prior), size))

    def forward(self, top: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        m_mul, m_add = self._maps(prior, top.shape[-2:])
        a, b = top.chunk(2, dim=1)
        b_mul = self.mul_conv(a * m_mul)
        b_add = self.add_conv(b + m_add)
        return self.out_norm(self.fuse(torch.cat([b_mul, b_add], dim=1) + top))

    def extra_repr(self) -> str:
        return f"form={self.form!r}"


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


def make_fusion(fusion: str, vfm_dim: int, channels: int, samf_form: str = DEFAULT_SAMF_FORM) -> nn.Module:
    """One fusion module by name (``samf_form`` applies to "samf" only)."""
    if fusion not in FUSIONS:
        raise ConfigError(f"unknown fusion {fusion!r}; choose from {', '.join(FUSIONS)}")
    if fusion == "samf":
        return SAMF(vfm_dim, channels, form=samf_form)
    return FUSIONS[fusion](vfm_dim, channels)
