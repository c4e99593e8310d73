"""Building blocks of the ACM family (ACM, ALCNet): written from the published designs.

Dai et al.'s networks (open-acm, MXNet/GluonCV) and the PyTorch ports used by
BasicIRSTD and the PAL/FDEP code base share a CIFAR-style ResNet encoder, an
asymmetric bi-directional channel-attention fusion and GluonCV's FCN head.

Two readings differ in normalisation only (``ACMStyle``): the authors' PyTorch
code behind the FDEP paper (PAL, the default) and the original MXNet open-acm.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .layers import channel_gate, check_style, norm2d

#: PyTorch's default BatchNorm momentum (running = 0.9 * running + 0.1 * batch)
DEFAULT_MOMENTUM = 0.1


@dataclass(frozen=True)
class ACMStyle:
    """Normalisation choices that tell the two readings of ACM/ALCNet apart.

    Momenta are in PyTorch's convention (running = (1 - m) * running + m * batch).
    """

    #: learnable affine part on the input BatchNorm
    input_affine: bool
    #: momentum of the input BN, the stem's conv BNs, the shortcut projections' BNs and the head's BN
    momentum: float
    #: normalisation inside the asymmetric fusion: "group" (GroupNorm, one group) or "batch"
    fusion_norm: str


#: "authors": YuChuang1205/PAL (affine input BN; ``momentum=0.9`` passed to the stem, shortcut and
#: head BNs, i.e. running = 0.1 * running + 0.9 * batch; GroupNorm(1) in the fusion).
#: "original": open-acm in MXNet (input BN with ``scale=False, center=False``; MXNet's momentum 0.9,
#: which is PyTorch's 0.1; BatchNorm in the fusion).
ACM_STYLES = {
    "authors": ACMStyle(input_affine=True, momentum=0.9, fusion_norm="group"),
    "original": ACMStyle(input_affine=False, momentum=DEFAULT_MOMENTUM, fusion_norm="batch"),
}


def acm_style(model: str, style: str) -> ACMStyle:
    """The ACMStyle for a ``style`` name (a one-line ModelError for an unknown one)."""
    return ACM_STYLES[check_style(model, style)]


def conv_bn_relu(cin: int, cout: int, stride: int = 1, momentum: float = DEFAULT_MOMENTUM) -> list[nn.Module]:
    """3x3 conv (no bias) + BN + ReLU, as a list to splice into a Sequential."""
    return [
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
        nn.BatchNorm2d(cout, momentum=momentum),
        nn.ReLU(inplace=True),
    ]


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convs); a 1x1 projection when shape changes.

    ``shortcut_momentum`` is the momentum of the projection's BN only (the authors pass 0.9
    there and leave the two inner BNs at PyTorch's default).
    """

    def __init__(self, cin: int, cout: int, stride: int = 1, shortcut_momentum: float = DEFAULT_MOMENTUM) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = (
            nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout, momentum=shortcut_momentum)
            )
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


def basic_stage(
    cin: int, cout: int, blocks: int, stride: int, shortcut_momentum: float = DEFAULT_MOMENTUM
) -> nn.Sequential:
    """``blocks`` basic blocks; the first one strides and changes width."""
    return nn.Sequential(
        BasicBlock(cin, cout, stride, shortcut_momentum), *(BasicBlock(cout, cout) for _ in range(blocks - 1))
    )


def acm_stem(in_chans: int, width: int = 8, style: ACMStyle = ACM_STYLES["authors"]) -> nn.Sequential:
    """Input BN, conv s2 (width) -> conv (width) -> conv (2*width) -> 3x3 max-pool s2: stride 4.

    The input BN standardises the image; it is affine in the authors' PyTorch code and
    affine-free in open-acm (``scale=False, center=False``).
    """
    m = style.momentum
    return nn.Sequential(
        nn.BatchNorm2d(in_chans, affine=style.input_affine, momentum=m),
        *conv_bn_relu(in_chans, width, stride=2, momentum=m),
        *conv_bn_relu(width, width, momentum=m),
        *conv_bn_relu(width, 2 * width, momentum=m),
        nn.MaxPool2d(3, 2, 1),
    )


class AsymBiChaFuse(nn.Module):
    """ACM's asymmetric bi-directional channel modulation of two same-shape features.

    Top-down: a global channel attention computed from the deep input ``xh``
    re-weights the shallow input ``xl``; bottom-up: a point-wise (per-pixel)
    channel attention from ``xl`` re-weights ``xh``. The sum (x2, as published)
    goes through a 3x3 conv-norm-ReLU. ``norm``: "group" (GroupNorm with one group
    after every conv, the authors' PyTorch code) or "batch" (BatchNorm, open-acm).
    """

    def __init__(self, channels: int, r: int = 4, norm: str = "group") -> None:
        super().__init__()
        self.topdown = channel_gate(channels, r, pooled=True, norm=norm)
        self.bottomup = channel_gate(channels, r, pooled=False, norm=norm)
        self.post = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1), norm2d(channels, norm), nn.ReLU(inplace=True)
        )

    def forward(self, xh: torch.Tensor, xl: torch.Tensor) -> torch.Tensor:
        fused = 2 * xl * self.topdown(xh) + 2 * xh * self.bottomup(xl)
        return self.post(fused)


class FCNHead(nn.Module):
    """GluonCV's FCN head: 3x3 conv to C/4, BN, ReLU, dropout 0.1, 1x1 conv to one logit map."""

    def __init__(self, channels: int, out_channels: int = 1, momentum: float = DEFAULT_MOMENTUM) -> None:
        super().__init__()
        mid = channels // 4
        self.block = nn.Sequential(
            nn.Conv2d(channels, mid, 3, 1, 1, bias=False),
            nn.BatchNorm2d(mid, momentum=momentum),
            nn.ReLU(inplace=True),
            nn.Dropout(0.1),
            nn.Conv2d(mid, out_channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


def up2(cin: int, cout: int) -> nn.ConvTranspose2d:
    """4x4 stride-2 transposed conv: exactly doubles H and W."""
    return nn.ConvTranspose2d(cin, cout, 4, 2, 1)


def resize_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize (align_corners=False) to ``size``."""
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)
