"""SCTransNet (Yuan et al., IEEE TGRS 2024): spatial-channel cross transformer network.

A U-Net of residual blocks (32, 64, 128, 256, 256 channels at strides 1..16)
whose four skip connections pass through a channel cross transformer (CCT)
before the decoder: each skip is patch-embedded to the stride-16 grid (patch
16, 8, 4, 2), four spatial-channel cross transformer blocks (SCTB) let every
scale's channels attend over the channels of all scales (SSCA) and refine them
with a complementary feed-forward network (CFN), and the result is mapped back
to the skip's resolution and added to it. The decoder upsamples (nearest) and
gates each skip with channel cross attention (CCA) before two conv-BN-ReLU.
Deep supervision: 1x1 heads on the stride-16 feature and the three coarser
decoder maps, upsampled to the input size and fused with the final map by a
1x1 conv.

FDEP split: ``top`` is the stride-16 encoder output (256 channels). The CCT
works on the skips only and never sees it, so it runs in ``encode`` (its
outputs are the skips); ``decode`` is the CCA decoder plus the heads, and
both the decoder and the stride-16 side head read ``top``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
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
SKIP_WIDTHS = (BASE, 2 * BASE, 4 * BASE, 8 * BASE)  # 32, 64, 128, 256 at strides 1, 2, 4, 8
PATCHES = (16, 8, 4, 2)  # every skip becomes a stride-16 token grid
LAYERS = 4
FFN_EXPANSION = 2.66


class SSCA(nn.Module):
    """Spatial-embedded single-head channel cross attention over the four scales.

    Queries: per scale 1x1 conv then a 3x3 conv with groups of two channels;
    keys/values: 1x1 conv then depthwise 3x3 over the concatenation of all
    scales (480 channels); output: per scale 1x1 projection.
    """

    def __init__(self, widths: tuple[int, ...]) -> None:
        super().__init__()
        kv = sum(widths)
        self.kv = kv
        self.q_point = nn.ModuleList(nn.Conv2d(c, c, 1, bias=False) for c in widths)
        self.q_spatial = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1, groups=c // 2, bias=False) for c in widths)
        self.k_point = nn.Conv2d(kv, kv, 1, bias=False)
        self.k_spatial = nn.Conv2d(kv, kv, 3, padding=1, groups=kv, bias=False)
        self.v_point = nn.Conv2d(kv, kv, 1, bias=False)
        self.v_spatial = nn.Conv2d(kv, kv, 3, padding=1, groups=kv, bias=False)
        self.proj = nn.ModuleList(nn.Conv2d(c, c, 1, bias=False) for c in widths)

    def forward(self, xs: list[torch.Tensor], all_: torch.Tensor) -> list[torch.Tensor]:
        k = self.k_spatial(self.k_point(all_))
        v = self.v_spatial(self.v_point(all_))
        out = []
        for x, qp, qs, proj in zip(xs, self.q_point, self.q_spatial, self.proj):
            out.append(proj(channel_attention(qs(qp(x)), k, v, self.kv)))
        return out


class ECA(nn.Module):
    """Efficient channel attention: a 1-D conv (k=3) across the globally pooled channels, sigmoid gate."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        g = self.conv(x.mean(dim=(2, 3)).view(n, 1, c))
        return x * torch.sigmoid(g).view(n, c, 1, 1)


class CFN(nn.Module):
    """Complementary feed-forward network: 1x1 expand, split into depthwise 3x3 / 5x5 branches (ReLU), 1x1, ECA."""

    def __init__(self, dim: int, expansion: float = FFN_EXPANSION) -> None:
        super().__init__()
        hidden = int(dim * expansion)
        self.expand = nn.Conv2d(dim, 2 * hidden, 1, bias=False)
        self.dw3 = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden, bias=False)
        self.dw5 = nn.Conv2d(hidden, hidden, 5, padding=2, groups=hidden, bias=False)
        self.project = nn.Conv2d(2 * hidden, dim, 1, bias=False)
        self.eca = ECA()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.expand(x).chunk(2, dim=1)
        y = torch.cat([F.relu(self.dw3(a)), F.relu(self.dw5(b))], dim=1)
        return self.eca(self.project(y))


class SCTB(nn.Module):
    """Spatial-channel cross transformer block: pre-norm SSCA and CFN, each with a residual, per scale."""

    def __init__(self, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.attn_norms = nn.ModuleList(ChannelLayerNorm(c) for c in widths)
        self.all_norm = ChannelLayerNorm(sum(widths))
        self.attn = SSCA(widths)
        self.ffn_norms = nn.ModuleList(ChannelLayerNorm(c) for c in widths)
        self.ffns = nn.ModuleList(CFN(c) for c in widths)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        all_ = self.all_norm(torch.cat(xs, dim=1))
        attn = self.attn([norm(x) for norm, x in zip(self.attn_norms, xs)], all_)
        xs = [x + a for x, a in zip(xs, attn)]
        return [ffn(norm(x)) + x for x, norm, ffn in zip(xs, self.ffn_norms, self.ffns)]


class ChannelCrossTransformer(nn.Module):
    """CCT on the four skips: patch embedding to one grid, SCTB layers, final norms, mapping back, residual."""

    def __init__(self, widths: tuple[int, ...] = SKIP_WIDTHS, patches: tuple[int, ...] = PATCHES) -> None:
        super().__init__()
        self.embed = nn.ModuleList(nn.Conv2d(c, c, p, stride=p) for c, p in zip(widths, patches))
        self.layers = nn.ModuleList(SCTB(widths) for _ in range(LAYERS))
        self.norms = nn.ModuleList(ChannelLayerNorm(c) for c in widths)
        self.mapping = nn.ModuleList(TokenMapping(c, p) for c, p in zip(widths, patches))

    def forward(self, skips: list[torch.Tensor]) -> list[torch.Tensor]:
        tokens = [emb(s) for emb, s in zip(self.embed, skips)]
        for layer in self.layers:
            tokens = layer(tokens)
        tokens = [norm(t) for norm, t in zip(self.norms, tokens)]
        # The reference adds the skip twice: once inside the CCT and once around it.
        return [m(t) + s + s for m, t, s in zip(self.mapping, tokens, skips)]


class CCA(nn.Module):
    """Channel cross attention gate of the decoder: skip * sigmoid(mean(Linear(pool(skip)), Linear(pool(up)))), ReLU."""

    def __init__(self, up_channels: int, skip_channels: int) -> None:
        super().__init__()
        self.fc_skip = nn.Linear(skip_channels, skip_channels)
        self.fc_up = nn.Linear(up_channels, skip_channels)

    def forward(self, up: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        att = (self.fc_skip(skip.mean(dim=(2, 3))) + self.fc_up(up.mean(dim=(2, 3)))) / 2.0
        return F.relu(skip * torch.sigmoid(att)[:, :, None, None])


def _cbr(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UpCCA(nn.Module):
    """Decoder stage: nearest x2 upsampling, CCA-gated skip, concat [skip, up], two conv-BN-ReLU."""

    def __init__(self, up_channels: int, skip_channels: int, cout: int) -> None:
        super().__init__()
        self.cca = CCA(up_channels, skip_channels)
        self.convs = nn.Sequential(_cbr(up_channels + skip_channels, cout), _cbr(cout, cout))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.convs(torch.cat([self.cca(up, skip), up], dim=1))


@register_model(name="sctransnet")
class SCTransNet(SIRSTNet):
    """SCTransNet with deep supervision: training returns [side16, side8, side4, side2, fused, final] logits."""

    paper_params_m = 11.32
    # The reference builds position embeddings for a 256x256 input (4 x 256 tokens x C, 122,880) and
    # 16 scalar "q_attn" weights per layer (64) that its forward never uses; the paper counts them.
    paper_unused_params = 122_944
    source = "Yuan et al., TGRS 2024 (arXiv:2401.15583); code: YuChuang1205/PAL model/SCTransNet (= xdFai/SCTransNet)"
    top_channels = 8 * BASE
    top_stride = 16
    deep_supervision = True

    def __init__(self, in_chans: int = 1) -> None:
        super().__init__(in_chans)
        w = SKIP_WIDTHS
        self.enc = nn.ModuleList(
            [
                LeakyResBlock(in_chans, w[0]),
                LeakyResBlock(w[0], w[1]),
                LeakyResBlock(w[1], w[2]),
                LeakyResBlock(w[2], w[3]),
                LeakyResBlock(w[3], self.top_channels),
            ]
        )
        self.cct = ChannelCrossTransformer()
        self.dec = nn.ModuleList(
            [
                UpCCA(self.top_channels, w[3], w[2]),  # stride 8
                UpCCA(w[2], w[2], w[1]),  # stride 4
                UpCCA(w[1], w[1], w[0]),  # stride 2
                UpCCA(w[0], w[0], w[0]),  # stride 1
            ]
        )
        self.head = nn.Conv2d(w[0], 1, 1)
        # side heads on top (stride 16) and the decoder maps at strides 8, 4, 2
        self.side = nn.ModuleList(nn.Conv2d(c, 1, 1) for c in (self.top_channels, w[2], w[1], w[0]))
        self.fuse = nn.Conv2d(5, 1, 1)

    def encode(self, x: torch.Tensor) -> Features:
        skips = unet_encoder_levels(self.enc, x)
        top = skips.pop()
        return Features(top=top, skips=tuple(self.cct(skips)))

    def decode(self, features: Features) -> torch.Tensor | list[torch.Tensor]:
        s1, s2, s4, s8 = features.skips
        top = features.top
        d8 = self.dec[0](top, s8)
        d4 = self.dec[1](d8, s4)
        d2 = self.dec[2](d4, s2)
        final = self.head(self.dec[3](d2, s1))
        if not self.training:
            return final
        size = final.shape[-2:]
        sides = [upsample_to(head(f), size) for head, f in zip(self.side, (top, d8, d4, d2))]
        fused = self.fuse(torch.cat([sides[3], sides[2], sides[1], sides[0], final], dim=1))
        return [*sides, fused, final]
