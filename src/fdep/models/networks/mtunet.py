"""MTU-Net (Wu et al., IEEE TGRS 2023): multilevel TransUNet.

A residual U-Net (16, 32, 64, 128, 256 channels at strides 1..16; two
residual blocks per level below the first) with a multilevel ViT bottleneck:
the maps of levels 1-4 (strides 1, 2, 4, 8) are each cut into tokens on the
stride-16 grid (patch 16, 8, 4, 2), embedded to 64 dimensions and passed
through one post-norm transformer block (one head, MLP width 4096); the four
64-channel token maps are concatenated with the stride-16 CNN feature (256 ch)
and fused by a residual block to 256 channels. The decoder upsamples
(bilinear, align_corners=True) and concatenates the skip at every level, one
residual block each, and a 1x1 head. No deep supervision.

FDEP split: ``top`` is the bottleneck output *after* the multilevel ViT fusion
(256 channels, stride 16): the feature the decoder starts from. The ViTs only
read the shallower encoder maps, so all of them run in ``encode``.

Two properties of the reference ViT are kept because the published weights
and results depend on them: a "patch" is not a contiguous block but the pixels
spaced H/P (W/P) apart (token (i, j) of level l takes pixels (a*H_l/P + i,
b*W_l/P + j) for a, b < P), and the attention logits are multiplied by d/2
(d = 64) instead of divided by sqrt(d). Position embeddings are a fixed table
of 1 + 4096 vectors (a 64 x 64 token grid, i.e. the authors' 1024 x 1024
input) of which the first 1 + N are added in raster order, so an input may
hold at most 4096 stride-16 cells (H * W <= 1024 * 1024).
"""

from __future__ import annotations

import torch
from torch import nn

from ...errors import ModelError
from ..base import Features, SIRSTNet
from ..blocks.transformer_unet import leaky_res_stage, unet_encoder_levels, upsample_to
from ..registry import register_model

WIDTHS = (16, 32, 64, 128, 256)
BLOCKS = (2, 2, 2, 2)
EMBED = 64
MLP = 64 * 64
MAX_TOKENS = 64 * 64
PATCHES = (16, 8, 4, 2)  # levels 1-4 (strides 1, 2, 4, 8) onto the stride-16 grid


class TransformerBlock(nn.Module):
    """Post-norm transformer block: x = LN(x + Drop(MHSA(x))); x = LN(x + MLP(x)); one head, logits * d/2."""

    def __init__(self, dim: int = EMBED, mlp: int = MLP, dropout: float = 0.1) -> None:
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim, bias=False)
        self.drop = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp, dim), nn.Dropout(dropout)
        )
        self.norm2 = nn.LayerNorm(dim)
        self.logit_scale = dim / 2

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        # the reference interleaves q, k, v in the projection's output: feature i of q/k/v is output 3i/3i+1/3i+2
        q, k, v = self.qkv(x).view(n, t, d, 3).unbind(-1)
        attn = torch.softmax((q @ k.transpose(1, 2)) * self.logit_scale, dim=-1)
        return self.out(attn @ v)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.drop(self.attention(x)))
        return self.norm2(x + self.mlp(x))


class LevelViT(nn.Module):
    """One level's ViT: strided patch tokens, linear embedding, class token + position table, one block.

    Returns the patch tokens as an N x ``EMBED`` x H/16 x W/16 map (the class token is dropped).
    """

    def __init__(self, channels: int, patch: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.patch = patch
        self.proj = nn.Linear(channels * patch * patch, EMBED)
        self.pos = nn.Parameter(torch.rand(MAX_TOKENS + 1, EMBED))
        self.cls = nn.Parameter(torch.randn(1, 1, EMBED))
        self.drop = nn.Dropout(dropout)
        self.block = TransformerBlock(dropout=dropout)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """N x C x H x W -> N x (gh*gw) x (P*P*C): token (i, j) holds pixels (a*gh + i, b*gw + j), a, b < P."""
        n, c, h, w = x.shape
        p = self.patch
        gh, gw = h // p, w // p
        return x.view(n, c, p, gh, p, gw).permute(0, 3, 5, 2, 4, 1).reshape(n, gh * gw, p * p * c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        gh, gw = h // self.patch, w // self.patch
        t = self.proj(self.tokens(x))
        t = torch.cat([self.cls.expand(n, -1, -1), t], dim=1) + self.pos[: gh * gw + 1]
        t = self.block(self.drop(t))
        return t[:, 1:].transpose(1, 2).reshape(n, EMBED, gh, gw)


@register_model(name="mtunet")
class MTUNet(SIRSTNet):
    """MTU-Net: residual U-Net with a multilevel ViT bottleneck; one logit map in training and eval."""

    paper_params_m = 12.75
    # The reference also builds a fifth ViT on the stride-16 map (3,479,552 parameters), a residual
    # block on the input (180 with 3 input channels) and an FCN head (589) that its forward never
    # runs; the paper's 12.75 M counts them.
    paper_unused_params = 3_480_321
    source = (
        "Wu et al., TGRS 2023 (IEEE Xplore 10011449); "
        "code: TianhaoWu16/Multi-level-TransUNet-for-Space-based-Infrared-Tiny-ship-Detection"
    )
    top_channels = WIDTHS[4]
    top_stride = 16
    deep_supervision = False

    def __init__(self, in_chans: int = 1) -> None:
        super().__init__(in_chans)
        w, b = WIDTHS, BLOCKS
        self.enc = nn.ModuleList(
            [
                leaky_res_stage(in_chans, w[0]),
                leaky_res_stage(w[0], w[1], b[0]),
                leaky_res_stage(w[1], w[2], b[1]),
                leaky_res_stage(w[2], w[3], b[2]),
                leaky_res_stage(w[3], w[4], b[3]),
            ]
        )
        # ViTs on levels 1-4 (the reference's vit5, vit4, vit3, vit2)
        self.vits = nn.ModuleList(LevelViT(c, p) for c, p in zip(w[:4], PATCHES))
        self.bottleneck = leaky_res_stage(4 * EMBED + w[4], w[4])
        self.dec = nn.ModuleList(
            [
                leaky_res_stage(w[3] + w[4], w[3]),
                leaky_res_stage(w[2] + w[3], w[2]),
                leaky_res_stage(w[1] + w[2], w[1]),
                leaky_res_stage(w[0] + w[1], w[0]),
            ]
        )
        self.head = nn.Conv2d(w[0], 1, 1)
        # The authors' trainer initialises every Conv2d weight Xavier-normal (biases keep PyTorch's default).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_normal_(m.weight)

    def check_input(self, x: torch.Tensor) -> None:
        super().check_input(x)
        h, w = x.shape[-2:]
        if (h // 16) * (w // 16) > MAX_TOKENS:
            raise ModelError(
                f"{self.model_name}: input {h} x {w} has {(h // 16) * (w // 16)} stride-16 cells, more than the "
                f"{MAX_TOKENS} position embeddings of the reference design (H * W <= 1024 * 1024); "
                f"tile the image"
            )

    def encode(self, x: torch.Tensor) -> Features:
        levels = unet_encoder_levels(self.enc, x)
        deep = levels.pop()
        # the reference runs (and draws dropout masks for) the deepest level's ViT first
        maps = [vit(level) for vit, level in reversed(list(zip(self.vits, levels)))]
        top = self.bottleneck(torch.cat([*maps, deep], dim=1))
        return Features(top=top, skips=tuple(levels))

    def decode(self, features: Features) -> torch.Tensor:
        d = features.top
        for stage, skip in zip(self.dec, reversed(features.skips)):
            d = stage(torch.cat([skip, upsample_to(d, skip.shape[-2:])], dim=1))
        return self.head(d)
