"""Building blocks of UIU-Net: residual U-blocks (RSU) and the interactive-cross attention fusion.

Written from the published design (Wu et al., "UIU-Net: U-Net in U-Net for
Infrared Small Object Detection", IEEE TIP 2023), which builds on U^2-Net
(Qin et al., Pattern Recognition 2020) and ACM's asymmetric fusion
(Dai et al., WACV 2021).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import channel_gate, norm2d


def upsample_like(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Bilinearly resize ``x`` to the spatial size of ``ref`` (no-op when equal)."""
    if x.shape[-2:] == ref.shape[-2:]:
        return x
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)


class ConvBNReLU(nn.Sequential):
    """3x3 (dilated) convolution with bias, BatchNorm, ReLU: U^2-Net's REBNCONV."""

    def __init__(self, in_ch: int, out_ch: int, dilation: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, 3, padding=dilation, dilation=dilation),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )


class RSU(nn.Module):
    """Residual U-block of height ``height`` (RSU-7 ... RSU-4): a small U-Net inside one stage.

    An input conv maps to ``out_ch``; ``height - 1`` encoder convs (max-pooling
    by 2 between them) reduce to ``mid_ch``; a dilation-2 conv forms the
    bottom; ``height - 1`` decoder convs each fuse the upsampled deeper map with
    the encoder map of the same scale. The output adds the input conv's map
    (residual). Inputs must be divisible by ``2 ** (height - 2)``.
    """

    def __init__(self, height: int, in_ch: int, mid_ch: int, out_ch: int) -> None:
        super().__init__()
        if height < 3:
            raise ValueError("RSU height must be >= 3")
        self.conv_in = ConvBNReLU(in_ch, out_ch)
        self.enc = nn.ModuleList([ConvBNReLU(out_ch if i == 0 else mid_ch, mid_ch) for i in range(height - 1)])
        self.bottom = ConvBNReLU(mid_ch, mid_ch, dilation=2)
        self.dec = nn.ModuleList(
            [ConvBNReLU(2 * mid_ch, out_ch if i == height - 2 else mid_ch) for i in range(height - 1)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_in = self.conv_in(x)
        h = x_in
        skips = []
        for i, conv in enumerate(self.enc):
            if i > 0:
                h = F.max_pool2d(h, 2, 2, ceil_mode=True)
            h = conv(h)
            skips.append(h)
        d = self.bottom(h)
        for conv, skip in zip(self.dec, reversed(skips)):
            d = conv(torch.cat((upsample_like(d, skip), skip), 1))
        return d + x_in


class RSUF(nn.Module):
    """Residual U-block without pooling (RSU-4F): dilations 1, 2, 4, bottom 8, back 4, 2, 1.

    Used at the two deepest stages, where the maps are already small.
    """

    def __init__(self, in_ch: int, mid_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv_in = ConvBNReLU(in_ch, out_ch)
        self.enc = nn.ModuleList(
            [ConvBNReLU(out_ch, mid_ch, 1), ConvBNReLU(mid_ch, mid_ch, 2), ConvBNReLU(mid_ch, mid_ch, 4)]
        )
        self.bottom = ConvBNReLU(mid_ch, mid_ch, dilation=8)
        self.dec = nn.ModuleList(
            [ConvBNReLU(2 * mid_ch, mid_ch, 4), ConvBNReLU(2 * mid_ch, mid_ch, 2), ConvBNReLU(2 * mid_ch, out_ch, 1)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_in = self.conv_in(x)
        h = x_in
        skips = []
        for conv in self.enc:
            h = conv(h)
            skips.append(h)
        d = self.bottom(h)
        for conv, skip in zip(self.dec, reversed(skips)):
            d = conv(torch.cat((d, skip), 1))
        return d + x_in


class SpatialAttentionLogits(nn.Module):
    """Spatial attention map (pre-sigmoid): a 3x3 conv over the channel mean and channel max."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat((x.mean(1, keepdim=True), x.amax(1, keepdim=True)), 1))


class InteractiveCrossAttentionFusion(nn.Module):
    """UIU-Net's interactive-cross attention (IC-A) fusion of a deep and a shallow decoder input.

    The deep input is projected to ``channels`` (1x1 conv-BN-ReLU). A global
    channel attention computed from the deep input re-weights the shallow input
    (top-down); a spatial attention computed from that re-weighted shallow input
    re-weights the deep input (bottom-up). Both branches go through one shared
    3x3 conv-norm-ReLU (``post``) and are returned as a pair for concatenation.

    ``norm``: "group" = GroupNorm with one group after every conv (the authors' PyTorch
    code in PAL, default); "batch" = BatchNorm (the UIU-Net authors' release).
    """

    def __init__(self, high_ch: int, channels: int, r: int = 4, norm: str = "group") -> None:
        super().__init__()
        mid = channels // r
        self.proj_high = nn.Sequential(
            nn.Conv2d(high_ch, channels, 1), norm2d(channels, norm), nn.ReLU(inplace=True)
        )
        self.topdown = channel_gate(channels, r, pooled=True, norm=norm)
        self.bottomup = nn.Sequential(
            nn.Conv2d(channels, mid, 1),
            norm2d(mid, norm),
            nn.ReLU(inplace=True),
            SpatialAttentionLogits(),
            nn.Sigmoid(),
        )
        self.post = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), norm2d(channels, norm), nn.ReLU(inplace=True)
        )

    def forward(self, high: torch.Tensor, low: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        high = self.proj_high(high)
        low = low * self.topdown(high)
        spatial = self.bottomup(low)
        return self.post(2 * low), self.post(2 * high * spatial)
