"""Building blocks of the local-contrast-learning family (MLCL-Net, ALCL-Net, GGL-Net).

Yu, Zhao et al. build all three on the same full-resolution residual encoder
(a two-conv stem, then stages whose first block halves the resolution with a
max-pool in the main path and a stride-2 conv in the shortcut) and decode with
light local-contrast modules. Written from their published designs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def init_kaiming(module: nn.Module) -> None:
    """Kaiming-normal (fan_out, ReLU) convs with zero bias, BN at (1, 0): the authors' init."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def conv_bn(cin: int, cout: int, relu: bool = True, stride: int = 1) -> list[nn.Module]:
    """3x3 conv (with bias, as the authors write it) + BN (+ ReLU)."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout)]
    return [*layers, nn.ReLU(inplace=True)] if relu else layers


def stem(in_chans: int, width: int = 16) -> nn.Sequential:
    """Two 3x3 conv-BN-ReLU at full resolution."""
    return nn.Sequential(*conv_bn(in_chans, width), *conv_bn(width, width))


class SqueezeExcite(nn.Module):
    """SE channel attention with bias-free linear layers (reduction ``r``)."""

    def __init__(self, channels: int, r: int = 4) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // r, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(channels // r, channels, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.fc(x.mean(dim=(2, 3)))
        return x * w[:, :, None, None]


class ResBlock(nn.Module):
    """Residual block at constant width: conv-BN-ReLU-[SE]-conv-BN + identity, ReLU."""

    def __init__(self, channels: int, se: bool = False) -> None:
        super().__init__()
        mid: list[nn.Module] = [SqueezeExcite(channels)] if se else []
        self.body = nn.Sequential(*conv_bn(channels, channels), *mid, *conv_bn(channels, channels, relu=False))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + x)


class DownResBlock(nn.Module):
    """Residual block halving H, W: conv-BN-ReLU-maxpool-conv-BN + (stride-2 conv-BN-ReLU shortcut), ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*conv_bn(cin, cout), nn.MaxPool2d(2, 2), *conv_bn(cout, cout, relu=False))
        self.shortcut = nn.Sequential(*conv_bn(cin, cout, stride=2))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


def res_stage(cin: int, cout: int, blocks: int = 3, down: bool = True, se: bool = False) -> nn.Sequential:
    """A stage: a down block (or a plain block when ``down`` is False) then plain blocks.

    With ``se`` every block after the first carries SE attention (GGL-Net).
    """
    first = DownResBlock(cin, cout) if down else ResBlock(cout)
    return nn.Sequential(first, *(ResBlock(cout, se=se) for _ in range(blocks - 1)))


class LCL(nn.Module):
    """Local contrast learning: 1x1 conv-ReLU then 3x3 conv-ReLU (no BN)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class MLCL(nn.Module):
    """Multiscale local contrast learning: three branches (1x1 / 3x3 / 5x5 conv, ReLU,
    3x3 conv dilated 1 / 3 / 5, ReLU), concatenated and merged by a 1x1 conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, k, 1, k // 2),
                nn.ReLU(inplace=True),
                nn.Conv2d(channels, channels, 3, 1, d, dilation=d),
                nn.ReLU(inplace=True),
            )
            for k, d in ((1, 1), (3, 3), (5, 5))
        )
        self.merge = nn.Conv2d(3 * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.merge(torch.cat([b(x) for b in self.branches], dim=1))


def upsample2(x: torch.Tensor) -> torch.Tensor:
    """x2 bilinear upsampling with align_corners=True (``nn.UpsamplingBilinear2d``, as published)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)


class _UpProject(nn.Module):
    """x2 bilinear upsampling, then 1x1 conv-BN-ReLU to the shallower width."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(upsample2(x))


class SBAM(nn.Module):
    """ALCL-Net's simplified bilinear interpolation attention module (SBAM).

    ``low + up(high) * sigmoid(BN(conv1x1(low)))``: the shallower map gates the
    upsampled, projected deeper one.
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.high = _UpProject(cin, cout)
        self.gate = nn.Sequential(nn.Conv2d(cout, cout, 1), nn.BatchNorm2d(cout), nn.Sigmoid())

    def forward(self, high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        return low + self.high(high) * self.gate(low)


class ChannelAttention(nn.Module):
    """CBAM channel attention: shared bias-free 1x1 MLP on max- and avg-pooled features, sigmoid."""

    def __init__(self, channels: int, r: int = 8) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, channels // r, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // r, channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.mlp(x.amax(dim=(2, 3), keepdim=True)) + self.mlp(x.mean(dim=(2, 3), keepdim=True)))


class SpatialAttention(nn.Module):
    """CBAM spatial attention: 7x7 conv over the channel-wise max and mean maps, sigmoid."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stats = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(stats))


class TwoWayGuidedFusion(nn.Module):
    """GGL-Net's two-way guided fusion module (TGFM): ``low * CA(up(high)) + up(high) * SA(low)``.

    The deeper map guides the shallower one through channel attention, the
    shallower guides the deeper through spatial attention (ALCL-Net's SBAM, extended).
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.high = _UpProject(cin, cout)
        self.channel = ChannelAttention(cout)
        self.spatial = SpatialAttention()

    def forward(self, high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        high = self.high(high)
        return low * self.channel(high) + high * self.spatial(low)


def gradient_magnitude(x: torch.Tensor) -> torch.Tensor:
    """Per-channel first-order gradient magnitude, central differences with zero padding.

    ``sqrt(((x[i, j+1] - x[i, j-1]) / 2)^2 + ((x[i-1, j] - x[i+1, j]) / 2)^2)``,
    pixels outside the image counting as 0 (GGL-Net's ``gradient_1order``).
    """
    p = F.pad(x, (1, 1, 1, 1))
    dx = (p[..., 1:-1, 2:] - p[..., 1:-1, :-2]) * 0.5
    dy = (p[..., :-2, 1:-1] - p[..., 2:, 1:-1]) * 0.5
    return torch.sqrt(dx * dx + dy * dy)


class GradientSupplement(nn.Module):
    """GGL-Net's gradient supplementary module (GSM): fuses a stage output with the gradient map at its scale.

    The gradient map goes through conv-BN-ReLU-SE-conv-BN-ReLU to the stage width;
    the concatenation [feature, gradient] through conv-BN-ReLU-SE-conv-BN; the
    feature is added back and a ReLU applied.
    """

    def __init__(self, grad_chans: int, channels: int) -> None:
        super().__init__()
        self.grad = nn.Sequential(
            *conv_bn(grad_chans, channels),
            SqueezeExcite(channels),
            *conv_bn(channels, channels),
        )
        self.fuse = nn.Sequential(
            *conv_bn(2 * channels, channels),
            SqueezeExcite(channels),
            *conv_bn(channels, channels, relu=False),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        return self.relu(self.fuse(torch.cat([x, self.grad(grad)], dim=1)) + x)


def point_head(channels: int) -> nn.Sequential:
    """1x1 conv-ReLU then 1x1 conv to one logit map (the authors' head, without its sigmoid)."""
    return nn.Sequential(nn.Conv2d(channels, channels, 1), nn.ReLU(inplace=True), nn.Conv2d(channels, 1, 1))


def lcl_decode(top: torch.Tensor, skips: tuple[torch.Tensor, ...], lcl: nn.ModuleList, fusions: nn.ModuleList,
               head: nn.Module) -> torch.Tensor:
    """The ALCL-Net / GGL-Net decoder: local contrast (LCL) on every scale, fused deep to shallow.

    ``lcl[i]`` belongs to scale i (``lcl[-1]`` to ``top``); ``fusions[i](high, low)`` fuses the
    running deep map into scale i; ``head`` maps the stride-1 result to logits.
    """
    out = lcl[-1](top)
    for i in reversed(range(len(skips))):
        out = fusions[i](out, lcl[i](skips[i]))
    return head(out)
