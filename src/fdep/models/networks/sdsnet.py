"""SDS-Net (PhysiLearn group, 2025): shallow-deep synergistic detection network.

A residual CNN backbone (32, 64, 128 channels at strides 1, 2, 4, then a
128-channel block at stride 8) feeds two transformer modules. The *shallow*
module patch-embeds the three shallow maps to one stride-16 grid (patch 16, 8,
4) and runs four layers of multi-scale channel cross attention (MSCA: queries
per scale, keys/values from the concatenation, all built by multi-scale strip
convolutions, MSM) with a CBAM refinement; the *deep* module patch-embeds the
stride-8 map with patch 4 and runs four layers of the self-attention version
(MSSA) with CBAM. Both map their tokens back to pixel resolution and add
residuals. The decoder upsamples (bilinear), fuses each skip with adaptive
dual-stream fusion (ADSF: a cross-channel gate from the pooled deep and shallow
maps re-weights the skip, concatenated with the upsampled map) and applies two
conv-BN-ReLU. Deep supervision: 1x1 heads on the stride-8, 4 and 2 maps,
upsampled and fused with the final map by a 1x1 conv.

FDEP split: ``top`` is the output of the deep module plus its residual
(128 channels, stride 8), i.e. *after* the deep transformer: it is the
bottleneck feature the decoder starts from (and the stride-8 side head
reads). ``encode`` runs the backbone, the shallow module (on the skips) and
the deep module; ``decode`` the ADSF decoder and the heads.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..base import Features, SIRSTNet
from ..blocks.transformer_unet import (
    ChannelLayerNorm,
    LeakyResBlock,
    TokenMapping,
    channel_attention,
    unet_encoder_levels,
    upsample_to,
)
from ..registry import register_model

BASE = 32
WIDTHS = (BASE, 2 * BASE, 4 * BASE)  # shallow maps at strides 1, 2, 4
SHALLOW_PATCHES = (16, 8, 4)
DEEP_PATCH = 4
LAYERS = 4
STRIP_KERNELS = (7, 11, 21)


class MSM(nn.Module):
    """Multi-scale strip module: channel LayerNorm, then the sum of depthwise 1xk and kx1 convs, k = 7, 11, 21."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = ChannelLayerNorm(channels)
        self.rows = nn.ModuleList(
            nn.Conv2d(channels, channels, (1, k), padding=(0, k // 2), groups=channels) for k in STRIP_KERNELS
        )
        self.cols = nn.ModuleList(
            nn.Conv2d(channels, channels, (k, 1), padding=(k // 2, 0), groups=channels) for k in STRIP_KERNELS
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        return sum(c(x) for c in self.rows) + sum(c(x) for c in self.cols)


class CBAM(nn.Module):
    """CBAM: a bias-free MLP (reduction 16) on max- and avg-pooled channels, then 7x7 conv on channel max/mean."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1, bias=False),
        )
        self.spatial = nn.Conv2d(2, 1, 7, padding=3, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * torch.sigmoid(self.mlp(x.amax(dim=(2, 3), keepdim=True)) + self.mlp(x.mean(dim=(2, 3), keepdim=True)))
        stats = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(stats))


class ShallowLayer(nn.Module):
    """MSCA over the three scales (keys/values from their concatenation), residual, norm + CBAM, residual."""

    def __init__(self, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.kv = sum(widths)
        self.q = nn.ModuleList(MSM(c) for c in widths)
        self.k = MSM(self.kv)
        self.v = MSM(self.kv)
        self.proj = nn.ModuleList(nn.Conv2d(c, c, 1) for c in widths)
        self.norms = nn.ModuleList(ChannelLayerNorm(c) for c in widths)
        self.cbam = nn.ModuleList(CBAM(c) for c in widths)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        all_ = torch.cat(xs, dim=1)
        k, v = self.k(all_), self.v(all_)
        out = []
        for x, q, proj, norm, cbam in zip(xs, self.q, self.proj, self.norms, self.cbam):
            y = proj(channel_attention(q(x), k, v, self.kv)) + x
            out.append(cbam(norm(y)) + y)
        return out


class DeepLayer(nn.Module):
    """MSSA (channel self-attention, q/k/v by MSM), residual, norm + CBAM, residual."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.q, self.k, self.v = MSM(channels), MSM(channels), MSM(channels)
        self.proj = nn.Conv2d(channels, channels, 1)
        self.norm = ChannelLayerNorm(channels)
        self.cbam = CBAM(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.proj(channel_attention(self.q(x), self.k(x), self.v(x), x.shape[1])) + x
        return self.cbam(self.norm(y)) + y


class ShallowModule(nn.Module):
    """Patch embedding of the three shallow maps, shallow layers, norms, token mapping + residual."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS, patches: tuple[int, ...] = SHALLOW_PATCHES) -> None:
        super().__init__()
        self.embed = nn.ModuleList(nn.Conv2d(c, c, p, stride=p) for c, p in zip(widths, patches))
        self.layers = nn.ModuleList(ShallowLayer(widths) for _ in range(LAYERS))
        self.norms = nn.ModuleList(ChannelLayerNorm(c) for c in widths)
        self.mapping = nn.ModuleList(TokenMapping(c, p) for c, p in zip(widths, patches))

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        t = [emb(x) for emb, x in zip(self.embed, xs)]
        for layer in self.layers:
            t = layer(t)
        # The reference adds the input twice: inside the module and around it.
        return [m(norm(ti)) + x + x for m, norm, ti, x in zip(self.mapping, self.norms, t, xs)]


class DeepModule(nn.Module):
    """Patch embedding (patch 4) of the stride-8 map, deep layers, norm, token mapping + residual."""

    def __init__(self, channels: int = WIDTHS[-1], patch: int = DEEP_PATCH) -> None:
        super().__init__()
        self.embed = nn.Conv2d(channels, channels, patch, stride=patch)
        self.layers = nn.ModuleList(DeepLayer(channels) for _ in range(LAYERS))
        self.norm = ChannelLayerNorm(channels)
        self.mapping = TokenMapping(channels, patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.embed(x)
        for layer in self.layers:
            t = layer(t)
        return self.mapping(self.norm(t)) + x


def _eca_kernel(channels: int, b: int = 1, gamma: int = 2) -> int:
    """ECA's adaptive 1-D kernel size: |(log2 C + b) / gamma| rounded down, made odd."""
    t = int(abs((math.log(channels, 2) + b) / gamma))
    return t if t % 2 else t + 1


class ADSF(nn.Module):
    """Adaptive dual-stream fusion of an upsampled deep map and a skip (same channel count C).

    The pooled deep vector passes a 1-D conv across channels (a), the pooled
    skip vector a 1x1 conv (s); two cross-channel gates sigmoid(sum(a) * s) and
    sigmoid(sum(s) * a) are mixed by a learned sigmoid weight, smoothed by the
    same 1-D conv and squashed again; the skip times that gate is concatenated
    in front of the deep map (2C channels).
    """

    def __init__(self, channels: int, mix_init: float = -0.80) -> None:
        super().__init__()
        self.mix = nn.Parameter(torch.tensor([mix_init]))
        k = _eca_kernel(channels)
        self.conv1d = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)
        self.fc = nn.Conv2d(channels, channels, 1)

    def forward(self, deep: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        n, c = deep.shape[:2]
        a = self.conv1d(deep.mean(dim=(2, 3)).view(n, 1, c)).view(n, c)
        s = self.fc(skip.mean(dim=(2, 3), keepdim=True)).view(n, c)
        g1 = torch.sigmoid(a.sum(dim=1, keepdim=True) * s)
        g2 = torch.sigmoid(s.sum(dim=1, keepdim=True) * a)
        m = torch.sigmoid(self.mix)
        g = g1 * m + g2 * (1 - m)
        g = torch.sigmoid(self.conv1d(g.view(n, 1, c))).view(n, c, 1, 1)
        return torch.cat([skip * g, deep], dim=1)


def _dcbl(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


@register_model(name="sdsnet")
class SDSNet(SIRSTNet):
    """SDS-Net with deep supervision: training returns [side8, side4, side2, fused, final] logits."""

    paper_params_m = 2.55
    # The reference builds a LayerNorm over the 224 concatenated channels in each of the four shallow
    # layers (448 parameters each) that its forward never uses; the paper counts them.
    paper_unused_params = 1_792
    source = "SDS-Net (PhysiLearn group, 2025); code: YuChuang1205/PAL model/SDSNet (= PhysiLearn/SDS-Net)"
    top_channels = WIDTHS[-1]
    top_stride = 8
    deep_supervision = True

    def __init__(self, in_chans: int = 1) -> None:
        super().__init__(in_chans)
        w = WIDTHS
        # residual blocks at strides 1, 2, 4 (the skips) and 8 (into the deep module)
        pairs = ((in_chans, w[0]), (w[0], w[1]), (w[1], w[2]), (w[2], w[2]))
        self.enc = nn.ModuleList(LeakyResBlock(a, b) for a, b in pairs)
        self.shallow = ShallowModule()
        self.deep = DeepModule()
        self.fusion = nn.ModuleList(ADSF(c) for c in (w[2], w[1], w[0]))
        self.dec = nn.ModuleList([_dcbl(2 * w[2], w[1]), _dcbl(2 * w[1], w[0]), _dcbl(2 * w[0], w[0])])
        self.head = nn.Conv2d(w[0], 1, 1)
        # side heads on top (stride 8) and the decoder maps at strides 4 and 2
        self.side = nn.ModuleList(nn.Conv2d(c, 1, 1) for c in (w[2], w[1], w[0]))
        self.fuse = nn.Conv2d(4, 1, 1)

    def encode(self, x: torch.Tensor) -> Features:
        feats = unet_encoder_levels(self.enc, x)
        top = self.deep(feats.pop())
        return Features(top=top, skips=tuple(self.shallow(feats)))

    def decode(self, features: Features) -> torch.Tensor | list[torch.Tensor]:
        s1, s2, s4 = features.skips
        top = features.top
        d4 = self.dec[0](self.fusion[0](upsample_to(top, s4.shape[-2:]), s4))
        d2 = self.dec[1](self.fusion[1](upsample_to(d4, s2.shape[-2:]), s2))
        final = self.head(self.dec[2](self.fusion[2](upsample_to(d2, s1.shape[-2:]), s1)))
        if not self.training:
            return final
        size = final.shape[-2:]
        sides = [upsample_to(head(f), size) for head, f in zip(self.side, (top, d4, d2))]
        fused = self.fuse(torch.cat([sides[2], sides[1], sides[0], final], dim=1))
        return [*sides, fused, final]
