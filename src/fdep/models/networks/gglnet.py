"""GGL-Net: gradient-guided learning network (Zhao, Yu et al., IEEE GRSL 2023).

ALCL-Net's five-stage residual encoder (16..256 ch, strides 1..16) with SE
attention in the residual blocks and, after every stage, a gradient
supplementary module (GSM) fusing the stage output with the first-order
gradient magnitude of the input image (max-pooled to the stage's scale). The
decoder is ALCL-Net's LCL modules with two-way guided fusion modules (TGFM:
channel attention from the deeper map, spatial attention from the shallower
one) and a 1x1 conv head. ``Features.top`` is the stage-5 output after its GSM
(256 ch, stride 16); the gradient branch lives wholly in the encoder, so
decode needs nothing of the input image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..base import Features, SIRSTNet
from ..blocks.local_contrast import (
    LCL,
    GradientSupplement,
    TwoWayGuidedFusion,
    gradient_magnitude,
    init_kaiming,
    lcl_decode,
    point_head,
    res_stage,
    stem,
)
from ..registry import register_model

WIDTHS = (16, 32, 64, 128, 256)


@register_model
class GGLNet(SIRSTNet):
    """GGL-Net: widths 16..256, SE residual blocks, GSM per stage, LCL + TGFM decoder."""

    paper_params_m = 8.99

    source = "Zhao et al., 2023; code: YuChuang1205/PAL model/GGL"
    top_channels = 256
    top_stride = 16
    deep_supervision = False

    def __init__(self, in_chans: int = 1, blocks: int = 3) -> None:
        super().__init__(in_chans)
        w = WIDTHS
        self.stem = stem(in_chans, w[0])
        self.stages = nn.ModuleList(
            res_stage(w[max(i - 1, 0)], w[i], blocks, down=i > 0, se=True) for i in range(len(w))
        )
        self.gsm = nn.ModuleList(GradientSupplement(in_chans, c) for c in w)
        self.lcl = nn.ModuleList(LCL(c) for c in w)
        self.sbam = nn.ModuleList(TwoWayGuidedFusion(w[i + 1], w[i]) for i in range(len(w) - 1))
        self.head = point_head(w[0])
        init_kaiming(self)

    def encode(self, x: torch.Tensor) -> Features:
        grad = gradient_magnitude(x)
        feats = []
        out = self.stem(x)
        for i, (stage, fusion) in enumerate(zip(self.stages, self.gsm)):
            if i:
                grad = F.max_pool2d(grad, 2, 2)
            out = fusion(stage(out), grad)
            feats.append(out)
        return Features(top=feats[-1], skips=tuple(feats[:-1]))

    def decode(self, features: Features) -> torch.Tensor:
        return lcl_decode(features.top, features.skips, self.lcl, self.sbam, self.head)
