"""MLCL-Net: multiscale local contrast learning network (Yu et al., Infrared Phys. Technol. 2022).

Encoder: full-resolution two-conv stem (16 ch) and three stages of three
residual blocks (16 ch s1, 32 ch s2, 64 ch s4). Decoder: an MLCL module (three
dilated branches) on every scale, 1x1 conv-ReLU projections to 64 ch, FPN-style
top-down addition with x2 bilinear upsampling, and a 1x1 conv head at full
resolution. This is the paper's "base" variant (three blocks per stage).
``Features.top`` is the stage-3 output (64 ch, stride 4).
"""

from __future__ import annotations

import torch
from torch import nn

from ..base import Features, SIRSTNet
from ..blocks.local_contrast import MLCL, init_kaiming, point_head, res_stage, stem, upsample2
from ..registry import register_model


def _proj(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 1), nn.ReLU(inplace=True))


@register_model
class MLCLNet(SIRSTNet):
    """MLCL-Net (base): widths 16/32/64, 3 residual blocks per stage, 64-ch FPN fusion."""

    paper_params_m = 0.66

    source = "Yu et al., Infrared Phys. Technol. 2022; code: YuChuang1205/PAL model/MLCL"
    top_channels = 64
    top_stride = 4
    deep_supervision = False

    def __init__(self, in_chans: int = 1, blocks: int = 3, width: int = 64) -> None:
        super().__init__(in_chans)
        self.stem = stem(in_chans, 16)
        self.stage1 = res_stage(16, 16, blocks, down=False)
        self.stage2 = res_stage(16, 32, blocks)
        self.stage3 = res_stage(32, 64, blocks)
        self.mlcl3, self.mlcl2, self.mlcl1 = MLCL(64), MLCL(32), MLCL(16)
        self.proj3, self.proj2, self.proj1 = _proj(64, width), _proj(32, width), _proj(16, width)
        self.head = point_head(width)
        init_kaiming(self)

    def encode(self, x: torch.Tensor) -> Features:
        c1 = self.stage1(self.stem(x))
        c2 = self.stage2(c1)
        return Features(top=self.stage3(c2), skips=(c1, c2))

    def decode(self, features: Features) -> torch.Tensor:
        c1, c2 = features.skips
        out = upsample2(self.proj3(self.mlcl3(features.top))) + self.proj2(self.mlcl2(c2))
        out = upsample2(out) + self.proj1(self.mlcl1(c1))
        return self.head(out)
