"""ALCL-Net: "Pay attention to local contrast learning networks" (Yu et al., IEEE GRSL 2022).

Encoder: full-resolution two-conv stem and five stages of three residual
blocks (16, 32, 64, 128, 256 ch at strides 1..16). Decoder: a local contrast
learning (LCL) module on every scale and four SBAM blocks fusing each deeper
map (x2 bilinear, 1x1 conv-BN-ReLU) with the next shallower one gated by a
sigmoid attention of the latter; 1x1 conv head at full resolution.
``Features.top`` is the stage-5 output (256 ch, stride 16).
"""

from __future__ import annotations

import torch
from torch import nn

from ..base import Features, SIRSTNet
from ..blocks.local_contrast import LCL, SBAM, init_kaiming, lcl_decode, point_head, res_stage, stem
from ..registry import register_model

WIDTHS = (16, 32, 64, 128, 256)


@register_model
class ALCLNet(SIRSTNet):
    """ALCL-Net: widths 16..256, 3 residual blocks per stage, LCL + SBAM decoder."""

    paper_params_m = 5.67

    source = "Yu et al., IEEE GRSL 2022; code: YuChuang1205/PAL model/ALCL"
    top_channels = 256
    top_stride = 16
    deep_supervision = False

    def __init__(self, in_chans: int = 1, blocks: int = 3) -> None:
        super().__init__(in_chans)
        w = WIDTHS
        self.stem = stem(in_chans, w[0])
        self.stages = nn.ModuleList(res_stage(w[max(i - 1, 0)], w[i], blocks, down=i > 0) for i in range(len(w)))
        self.lcl = nn.ModuleList(LCL(c) for c in w)
        self.sbam = nn.ModuleList(SBAM(w[i + 1], w[i]) for i in range(len(w) - 1))
        self.head = point_head(w[0])
        init_kaiming(self)

    def encode(self, x: torch.Tensor) -> Features:
        feats = []
        out = self.stem(x)
        for stage in self.stages:
            out = stage(out)
            feats.append(out)
        return Features(top=feats[-1], skips=tuple(feats[:-1]))

    def decode(self, features: Features) -> torch.Tensor:
        return lcl_decode(features.top, features.skips, self.lcl, self.sbam, self.head)
