"""DNA-Net: dense nested attention network (Li et al., IEEE TIP 2023).

A UNet++-style nest of Res-CBAM blocks over five levels (16/32/64/128/256
channels at strides 1..16, two blocks per level below the top row) in which
every nested node also takes the down-sampled node of the row above; the
output fuses the last node of every level (1x1 projections up-sampled to full
resolution) with a final Res-CBAM block. Deep supervision: 1x1 heads on
x0_1, x0_2, x0_3 and on the fused map, all used in training; eval returns the
fused map's head only.

FDEP split: ``top`` is x4_0 (256 channels, stride 16). The nodes that need
no x4_0 (x0_0..x0_3, x1_0..x1_2, x2_0, x2_1, x3_0) are computed by ``encode``
and handed to ``decode`` as skips; the nodes that depend on x4_0 (x3_1, x2_2,
x1_3, x0_4 and the fusion) run in ``decode`` so that a replaced ``top``
reaches all of them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..base import Features, SIRSTNet
from ..registry import register_model

WIDTHS = (16, 32, 64, 128, 256)
BLOCKS = (2, 2, 2, 2)


def _resize(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Bilinear (align_corners=True) resize of ``x`` to the spatial size of ``like``.

    With align_corners=True the sampling grid depends only on the two sizes, so
    this equals the reference's fixed-factor ``nn.Upsample`` (x2, x0.5, x4 ...)
    on sizes the factors divide.
    """
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=True)


class ChannelAttention(nn.Module):
    """CBAM channel attention: shared 2-layer MLP over avg- and max-pooled vectors (ratio 16)."""

    def __init__(self, channels: int, ratio: int = 16) -> None:
        super().__init__()
        hidden = max(channels // ratio, 1)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(), nn.Conv2d(hidden, channels, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(x.mean(dim=(2, 3), keepdim=True))
        mx = self.mlp(x.amax(dim=(2, 3), keepdim=True))
        return torch.sigmoid(avg + mx)


class SpatialAttention(nn.Module):
    """CBAM spatial attention: 7x7 conv over the channel-wise mean and max maps."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stats = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(stats))


class ResCBAM(nn.Module):
    """Residual block (conv3x3-BN-ReLU-conv3x3-BN) with CBAM before the residual sum."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1),
            nn.BatchNorm2d(cout),
        )
        self.ca = ChannelAttention(cout)
        self.sa = SpatialAttention()
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout)) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        out = out * self.ca(out)
        out = out * self.sa(out)
        return F.relu(out + self.shortcut(x))


def _stage(cin: int, cout: int, n: int = 1) -> nn.Sequential:
    """``n`` Res-CBAM blocks, the first changing ``cin`` to ``cout``."""
    return nn.Sequential(ResCBAM(cin, cout), *[ResCBAM(cout, cout) for _ in range(n - 1)])


@register_model(name="dnanet")
class DNANet(SIRSTNet):
    """Dense Nested Attention Network with deep supervision (4 heads)."""

    paper_params_m = 4.70

    source = "Li et al., TIP 2023; code: YuChuang1205/PAL model/DNA"
    top_channels = 256
    top_stride = 16
    deep_supervision = True

    def __init__(self, in_chans: int = 1) -> None:
        super().__init__(in_chans)
        w, b = WIDTHS, BLOCKS
        # Backbone column x{i}_0.
        self.conv0_0 = _stage(in_chans, w[0])
        self.conv1_0 = _stage(w[0], w[1], b[0])
        self.conv2_0 = _stage(w[1], w[2], b[1])
        self.conv3_0 = _stage(w[2], w[3], b[2])
        self.conv4_0 = _stage(w[3], w[4], b[3])
        # Nested node x{i}_{j} takes x{i}_0..x{i}_{j-1}, the up-sampled x{i+1}_{j-1} and
        # (for i > 0) the down-sampled x{i-1}_{j}.
        self.conv0_1 = _stage(w[0] + w[1], w[0])
        self.conv1_1 = _stage(w[1] + w[2] + w[0], w[1], b[0])
        self.conv2_1 = _stage(w[2] + w[3] + w[1], w[2], b[1])
        self.conv3_1 = _stage(w[3] + w[4] + w[2], w[3], b[2])
        self.conv0_2 = _stage(2 * w[0] + w[1], w[0])
        self.conv1_2 = _stage(2 * w[1] + w[2] + w[0], w[1], b[0])
        self.conv2_2 = _stage(2 * w[2] + w[3] + w[1], w[2], b[1])
        self.conv0_3 = _stage(3 * w[0] + w[1], w[0])
        self.conv1_3 = _stage(3 * w[1] + w[2] + w[0], w[1], b[0])
        self.conv0_4 = _stage(4 * w[0] + w[1], w[0])
        # Multi-level output fusion: 1x1 projections of x4_0, x3_1, x2_2, x1_3 to 16 channels.
        self.proj4 = nn.Conv2d(w[4], w[0], 1)
        self.proj3 = nn.Conv2d(w[3], w[0], 1)
        self.proj2 = nn.Conv2d(w[2], w[0], 1)
        self.proj1 = nn.Conv2d(w[1], w[0], 1)
        self.fuse = _stage(5 * w[0], w[0])
        # Deep-supervision heads on x0_1, x0_2, x0_3 and the fused map (the last is the final head).
        self.heads = nn.ModuleList(nn.Conv2d(w[0], 1, 1) for _ in range(4))
        # The reference trainer initialises every conv weight Xavier-normal (biases keep PyTorch's default).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_normal_(m.weight)

    def encode(self, x: torch.Tensor) -> Features:
        pool = F.max_pool2d
        x0_0 = self.conv0_0(x)
        x1_0 = self.conv1_0(pool(x0_0, 2))
        x0_1 = self.conv0_1(torch.cat([x0_0, _resize(x1_0, x0_0)], 1))
        x2_0 = self.conv2_0(pool(x1_0, 2))
        x1_1 = self.conv1_1(torch.cat([x1_0, _resize(x2_0, x1_0), _resize(x0_1, x1_0)], 1))
        x0_2 = self.conv0_2(torch.cat([x0_0, x0_1, _resize(x1_1, x0_0)], 1))
        x3_0 = self.conv3_0(pool(x2_0, 2))
        x2_1 = self.conv2_1(torch.cat([x2_0, _resize(x3_0, x2_0), _resize(x1_1, x2_0)], 1))
        x1_2 = self.conv1_2(torch.cat([x1_0, x1_1, _resize(x2_1, x1_0), _resize(x0_2, x1_0)], 1))
        x0_3 = self.conv0_3(torch.cat([x0_0, x0_1, x0_2, _resize(x1_2, x0_0)], 1))
        x4_0 = self.conv4_0(pool(x3_0, 2))
        skips = (x0_0, x0_1, x0_2, x0_3, x1_0, x1_1, x1_2, x2_0, x2_1, x3_0)
        return Features(top=x4_0, skips=skips)

    def decode(self, features: Features) -> torch.Tensor | list[torch.Tensor]:
        x0_0, x0_1, x0_2, x0_3, x1_0, x1_1, x1_2, x2_0, x2_1, x3_0 = features.skips
        x4_0 = features.top
        x3_1 = self.conv3_1(torch.cat([x3_0, _resize(x4_0, x3_0), _resize(x2_1, x3_0)], 1))
        x2_2 = self.conv2_2(torch.cat([x2_0, x2_1, _resize(x3_1, x2_0), _resize(x1_2, x2_0)], 1))
        x1_3 = self.conv1_3(torch.cat([x1_0, x1_1, x1_2, _resize(x2_2, x1_0), _resize(x0_3, x1_0)], 1))
        x0_4 = self.conv0_4(torch.cat([x0_0, x0_1, x0_2, x0_3, _resize(x1_3, x0_0)], 1))
        fused = self.fuse(
            torch.cat(
                [
                    _resize(self.proj4(x4_0), x0_0),
                    _resize(self.proj3(x3_1), x0_0),
                    _resize(self.proj2(x2_2), x0_0),
                    _resize(self.proj1(x1_3), x0_0),
                    x0_4,
                ],
                1,
            )
        )
        final = self.heads[3](fused)
        if self.training:
            return [self.heads[0](x0_1), self.heads[1](x0_2), self.heads[2](x0_3), final]
        return final
