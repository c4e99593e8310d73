"""ILNet-L: low-level matters for salient infrared small target detection (Li et al., 2023).

A U^2-Net-style encoder-decoder of residual U-blocks (bias-free conv-BN-ReLU):
encoder RSU-7, RSU-6, RSU-5, RSU-4, RSU-4F, RSU-4F (64, 64, 64, 128, 128, 128
channels at strides 1..32, ceil-mode max-pooling between stages); at every
decoder step the up-sampled deeper map and the encoder skip are fused by an
interactive polarized orthogonal fusion (IPOF) module, whose output (twice the
channels) feeds the decoder block (RSU-4F 128, RSU-4 64, RSU-5 64, RSU-6 64,
RSU-7 64). 3x3 side heads on the five decoder maps and the deepest encoder map
are up-sampled to the input size and fused by a 1x1 conv. Training returns the
six side maps and the fused map (fused last); eval returns the fused map through
the reference's output BatchNorm, which is never trained (kept as fixed buffers).

FDEP split: ``top`` is the deepest encoder stage's output (128 channels, stride
32); it feeds the first IPOF and the sixth side head.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..base import Features, SIRSTNet
from ..registry import register_model


def _resize(x: torch.Tensor, size) -> torch.Tensor:
    """Bilinear resize (align_corners=False), skipped where the size already agrees (then it is the identity)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class ConvBNReLU(nn.Sequential):
    """Bias-free 3x3 (dilated) conv, BatchNorm, ReLU."""

    def __init__(self, cin: int, cout: int, dilation: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


class RSU(nn.Module):
    """Residual U-block of height ``height``: input conv, ``height - 1`` encoder convs with
    2x2 ceil-mode max-pooling between them, a dilation-2 bottom, ``height - 1`` decoder convs
    on [up-sampled deeper map, same-scale encoder map], plus the input conv's map."""

    def __init__(self, height: int, cin: int, mid: int, cout: int) -> None:
        super().__init__()
        self.conv_in = ConvBNReLU(cin, cout)
        self.enc = nn.ModuleList(ConvBNReLU(cout if i == 0 else mid, mid) for i in range(height - 1))
        self.bottom = ConvBNReLU(mid, mid, dilation=2)
        self.dec = nn.ModuleList(ConvBNReLU(2 * mid, cout if i == height - 2 else mid) for i in range(height - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_in = self.conv_in(x)
        h, skips = x_in, []
        for i, conv in enumerate(self.enc):
            if i:
                h = F.max_pool2d(h, 2, 2, ceil_mode=True)
            h = conv(h)
            skips.append(h)
        d = self.bottom(h)
        for conv, skip in zip(self.dec, reversed(skips)):
            d = conv(torch.cat([_resize(d, skip.shape[-2:]), skip], 1))
        return d + x_in


class RSUF(nn.Module):
    """RSU-4F: no pooling, dilations 1, 2, 4, bottom 8, back 4, 2, 1, plus the input conv's map."""

    def __init__(self, cin: int, mid: int, cout: int) -> None:
        super().__init__()
        self.conv_in = ConvBNReLU(cin, cout)
        self.enc = nn.ModuleList([ConvBNReLU(cout, mid), ConvBNReLU(mid, mid, 2), ConvBNReLU(mid, mid, 4)])
        self.bottom = ConvBNReLU(mid, mid, dilation=8)
        self.dec = nn.ModuleList([ConvBNReLU(2 * mid, mid, 4), ConvBNReLU(2 * mid, mid, 2), ConvBNReLU(2 * mid, cout)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_in = self.conv_in(x)
        h, skips = x_in, []
        for conv in self.enc:
            h = conv(h)
            skips.append(h)
        d = self.bottom(h)
        for conv, skip in zip(self.dec, reversed(skips)):
            d = conv(torch.cat([d, skip], 1))
        return d + x_in


def doda_kernel_and_repeats(channels: int) -> tuple[int, int]:
    """DODA's 1-D kernel size (ECA-style, odd) and how many extra times the conv is re-applied."""
    k = int(abs((math.log2(channels) + 1) / 2))
    k = k if k % 2 else k + 1
    return k, math.ceil(1 + (math.log2(channels) - 2) / 4)


class DODA(nn.Module):
    """Dynamic one-dimensional aggregation on a N x C x 1 x 1 vector: one bias-free 1-D conv
    across channels applied ``1 + repeats`` times; returns ``x + sigmoid(result)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        k, self.repeats = doda_kernel_and_repeats(channels)
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # N x C x 1 x 1 -> contiguous N x 1 x C. (The reference passes a transposed view; at batch 1
        # CPU conv1d then takes another kernel, differing by float rounding, and torch.export cannot
        # keep the batch dynamic through that layout decision.)
        n, c = x.shape[:2]
        h = self.conv(x.reshape(n, 1, c))
        for _ in range(self.repeats):
            h = self.conv(h)
        return x + torch.sigmoid(h).reshape(n, c, 1, 1)


def _pw_stack(cin: int, cmid: int, cout: int) -> nn.Sequential:
    """Two bias-free 1x1 conv-BN-ReLU layers."""
    return nn.Sequential(
        nn.Conv2d(cin, cmid, 1, bias=False), nn.BatchNorm2d(cmid), nn.ReLU(inplace=True),
        nn.Conv2d(cmid, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class IPOF(nn.Module):
    """Interactive polarized orthogonal fusion of a deep map ``e`` and an encoder skip ``d``
    (both ``channels`` wide, same size) into ``2 * channels``.

    Channel branch: a spatial softmax computed from ``e`` pools the projected skip into a
    channel context, refined by DODA and a 1x1 bottleneck with LayerNorm, whose sigmoid
    re-weights ``d``. Spatial branch: a channel softmax of the pooled, DODA-refined projection
    of ``e`` weights the projected skip's channels into one map, layer-normalised, whose
    sigmoid re-weights ``e``. The two products are summed and a 3x3 conv-BN-ReLU doubles
    the channels. One DODA serves both branches.
    """

    def __init__(self, channels: int, ratio: int = 4) -> None:
        super().__init__()
        inter = channels // 2
        self.inter = inter
        self.deep_weights = nn.Sequential(
            nn.Conv2d(channels, inter, 1, bias=False), nn.BatchNorm2d(inter), nn.ReLU(inplace=True),
            nn.Conv2d(inter, 1, 1, bias=False), nn.BatchNorm2d(1), nn.ReLU(inplace=True),
        )
        self.skip_values = _pw_stack(channels, inter, inter)
        self.excite = nn.Sequential(
            nn.Conv2d(inter, inter // ratio, 1), nn.LayerNorm([inter // ratio, 1, 1]), nn.ReLU(inplace=True),
            nn.Conv2d(inter // ratio, channels, 1), nn.LayerNorm([channels, 1, 1]),
        )
        self.deep_query = _pw_stack(channels, inter, inter)
        self.skip_keys = _pw_stack(channels, inter, inter)
        self.doda = DODA(inter)
        self.out = nn.Sequential(
            nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.BatchNorm2d(2 * channels), nn.ReLU(inplace=True)
        )

    def channel_branch(self, e: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        n, _, h, w = d.shape
        values = self.skip_values(d).reshape(n, self.inter, h * w)
        weights = torch.softmax(self.deep_weights(e).reshape(n, 1, h * w), dim=2)
        context = torch.matmul(values, weights.transpose(1, 2)).unsqueeze(-1)  # N x inter x 1 x 1
        return d * torch.sigmoid(self.excite(self.doda(context)))

    def spatial_branch(self, e: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        n, _, h, w = e.shape
        query = self.doda(F.adaptive_avg_pool2d(self.deep_query(e), 1))
        query = torch.softmax(query.reshape(n, 1, self.inter), dim=2)
        keys = self.skip_keys(d).reshape(n, self.inter, h * w)
        context = torch.matmul(query, keys).reshape(n, 1, h, w)
        context = F.layer_norm(context, context.shape[1:])
        return e * torch.sigmoid(context)

    def forward(self, e: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        return self.out(self.spatial_branch(e, d) + self.channel_branch(e, d))


class FrozenBatchNorm(nn.Module):
    """Eval-mode BatchNorm with fixed buffers (ILNet's output BN, which its training never updates)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(channels))
        self.register_buffer("bias", torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)


#: encoder stages (height, in, mid, out); height 0 = RSU-4F. The first stage's input is ``in_chans``.
ENCODER = ((7, None, 16, 64), (6, 64, 16, 64), (5, 64, 32, 64), (4, 64, 32, 128), (0, 128, 32, 128), (0, 128, 64, 128))
#: decoder stages De5 .. De1 (height, in, mid, out); each is preceded by IPOF(in / 2)
DECODER = ((0, 256, 64, 128), (4, 256, 32, 64), (5, 128, 32, 64), (6, 128, 16, 64), (7, 128, 16, 64))


def _block(height: int, cin: int, mid: int, cout: int) -> nn.Module:
    return RSUF(cin, mid, cout) if height == 0 else RSU(height, cin, mid, cout)


@register_model(name="ilnet")
class ILNet(SIRSTNet):
    """ILNet-L: six side maps and a fused map in training (fused last); the fused map in eval."""

    paper_params_m = 4.04
    top_channels = 128
    top_stride = 32
    deep_supervision = True
    source = ("Li et al., ILNet: Low-level Matters for Salient Infrared Small Target Detection, arXiv:2309.13646, "
              "2023 (IEEE TAES 2025); code: Li-Haoqing/ILNet (model/ilnet.py, ILNet_L)")

    def __init__(self, in_chans: int = 1) -> None:
        super().__init__(in_chans)
        self.enc = nn.ModuleList(
            _block(hgt, in_chans if cin is None else cin, mid, cout) for hgt, cin, mid, cout in ENCODER
        )
        self.fusions = nn.ModuleList(IPOF(cin // 2) for _, cin, _, _ in DECODER)
        self.dec = nn.ModuleList(_block(*c) for c in DECODER)
        # side heads on De1, De2, De3, De4, De5 and the deepest encoder map, in that order
        side_channels = [c[3] for c in reversed(DECODER)] + [ENCODER[-1][3]]
        self.sides = nn.ModuleList(nn.Conv2d(c, 1, 3, padding=1) for c in side_channels)
        self.fuse = nn.Conv2d(len(side_channels), 1, 1)
        self.out_norm = FrozenBatchNorm(1)

    def encode(self, x: torch.Tensor) -> Features:
        size = tuple(x.shape[-2:])
        feats = []
        for i, stage in enumerate(self.enc):
            if i:
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            x = stage(x)
            feats.append(x)
        return Features(top=feats[-1], skips=(*feats[:-1], size))

    def decode(self, f: Features) -> torch.Tensor | list[torch.Tensor]:
        *enc, size = f.skips
        x, maps = f.top, [f.top]
        for fusion, block, skip in zip(self.fusions, self.dec, reversed(enc)):
            x = block(fusion(_resize(x, skip.shape[-2:]), skip))
            maps.insert(0, x)  # -> De1, De2, ..., De5, top
        sides = [_resize(head(m), size) for head, m in zip(self.sides, maps)]
        fused = self.fuse(torch.cat(sides, 1))
        if self.training:
            return [*sides, fused]
        return self.out_norm(fused)
