"""Blocks shared by the transformer U-Nets of the zoo (SCTransNet, SDSNet, MTU-Net).

All three use the same residual CNN block (conv3x3-BN-LeakyReLU-conv3x3-BN plus
a 1x1 conv-BN projection where the shape changes); SCTransNet and SDSNet share
the channel-wise layer norm, the single-head *channel* cross attention (attention
between channels, with the spatial positions as the feature axis) and the token
mapping that brings a patch-embedded map back to its resolution.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class LeakyResBlock(nn.Module):
    """Residual block: conv3x3-BN-LeakyReLU-conv3x3-BN, + shortcut (1x1 conv-BN if the width changes), LeakyReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout)) if cin != cout else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.leaky_relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.leaky_relu(y + self.shortcut(x))


def leaky_res_stage(cin: int, cout: int, n: int = 1) -> nn.Sequential:
    """``n`` residual blocks, the first changing ``cin`` to ``cout``."""
    return nn.Sequential(LeakyResBlock(cin, cout), *[LeakyResBlock(cout, cout) for _ in range(n - 1)])


def unet_encoder_levels(stages: nn.ModuleList, x: torch.Tensor) -> list[torch.Tensor]:
    """Outputs of a U-Net encoder: stage 0 at full resolution, every later stage after a 2x2 max-pool."""
    levels = []
    h = x
    for i, stage in enumerate(stages):
        h = stage(F.max_pool2d(h, 2) if i else h)
        levels.append(h)
    return levels


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of every pixel of an N x C x H x W map (weight and bias, eps 1e-5)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # computed along dim 1 directly: a permute to channels-last and back makes torch.export
        # specialise the batch size of batch-1 example inputs (ONNX export with dynamic batch fails)
        mu = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, keepdim=True, unbiased=False)
        return (x - mu) / torch.sqrt(var + 1e-5) * self.weight[:, None, None] + self.bias[:, None, None]


def channel_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale_dim: int) -> torch.Tensor:
    """Single-head channel (cross) attention of SCTransNet/SDSNet.

    ``q``: N x Cq x H x W, ``k``/``v``: N x Ck x H x W. Every query *channel*
    attends over the key channels: both are L2-normalised over the H*W
    positions, their dot products divided by sqrt(``scale_dim``) form an
    N x Cq x Ck map that is instance-normalised (over all its Cq x Ck entries,
    per sample, no affine) and softmaxed over the key channels; the output is
    that map applied to the value channels (N x Cq x H x W).
    """
    n, cq, h, w = q.shape
    qf = F.normalize(q.flatten(2), dim=-1)
    kf = F.normalize(k.flatten(2), dim=-1)
    attn = (qf @ kf.transpose(1, 2)) / math.sqrt(scale_dim)
    attn = F.instance_norm(attn.unsqueeze(1)).squeeze(1)
    out = attn.softmax(dim=-1) @ v.flatten(2)
    return out.view(n, cq, h, w)


class TokenMapping(nn.Module):
    """Patch-grid map back to pixel resolution: bilinear upsampling by the patch size, 1x1 conv-BN-ReLU."""

    def __init__(self, channels: int, patch: int) -> None:
        super().__init__()
        self.patch = patch
        self.conv = nn.Conv2d(channels, channels, 1)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=float(self.patch), mode="bilinear", align_corners=False)
        return F.relu(self.bn(self.conv(x)))


def upsample_to(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Bilinear resize with align_corners=True (the grid depends only on the two sizes)."""
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)
