"""UIU-Net (Wu, Hong, Chanussot, IEEE TIP 2023): U-Net in U-Net for infrared small objects.

A U^2-Net style encoder of six residual U-blocks (RSU-7, 6, 5, 4, 4F, 4F with
64, 128, 256, 512, 512, 512 channels at strides 1 ... 32), a mirrored decoder
whose inputs are fused by interactive-cross attention (IC-A) at strides 16 ... 2
(plain concatenation at stride 1), six 3x3 side heads upsampled to the input
size and a 1x1 conv fusing them into the final map.

FDEP's ``top`` is the stage-6 output (512 channels, stride 32): it feeds both
the decoder and the sixth side head, so replacing it changes every output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..base import Features, SIRSTNet
from ..blocks.layers import check_style
from ..blocks.rsu import RSU, RSUF, InteractiveCrossAttentionFusion, upsample_like
from ..registry import register_model


@register_model(name="uiunet")
class UIUNet(SIRSTNet):
    """UIU-Net with deep supervision: training returns [side1 ... side6, fused] logits."""

    paper_params_m = 50.54

    source = "Wu et al., TIP 2023; code: YuChuang1205/PAL model/UIU"
    top_channels = 512
    top_stride = 32
    size_multiple = 32
    deep_supervision = True

    def __init__(self, in_chans: int = 1, style: str = "authors") -> None:
        """``style``: "authors" (default) = the authors' PyTorch UIU-Net in PAL (GroupNorm with one
        group in the IC-A fusion), the network behind the FDEP paper's numbers; "original" = the
        UIU-Net release (danfenghong/IEEE_TIP_UIU-Net), BatchNorm in the fusion."""
        super().__init__(in_chans)
        self.style = check_style("uiunet", style)
        norm = "group" if style == "authors" else "batch"
        self.encoder = nn.ModuleList(
            [
                RSU(7, in_chans, 32, 64),
                RSU(6, 64, 32, 128),
                RSU(5, 128, 64, 256),
                RSU(4, 256, 128, 512),
                RSUF(512, 256, 512),
                RSUF(512, 256, 512),
            ]
        )
        # IC-A fusion of (upsampled deeper decoder map, encoder skip) at strides 16, 8, 4, 2
        self.fuse = nn.ModuleList(
            [
                InteractiveCrossAttentionFusion(512, 512, norm=norm),
                InteractiveCrossAttentionFusion(512, 512, norm=norm),
                InteractiveCrossAttentionFusion(256, 256, norm=norm),
                InteractiveCrossAttentionFusion(128, 128, norm=norm),
            ]
        )
        # decoder stages at strides 16, 8, 4, 2, 1
        self.decoder = nn.ModuleList(
            [
                RSUF(1024, 256, 512),
                RSU(4, 1024, 128, 256),
                RSU(5, 512, 64, 128),
                RSU(6, 256, 32, 64),
                RSU(7, 128, 16, 64),
            ]
        )
        # side heads on the decoder outputs at strides 1, 2, 4, 8, 16 and on top (stride 32)
        self.side = nn.ModuleList([nn.Conv2d(c, 1, 3, padding=1) for c in (64, 64, 128, 256, 512, 512)])
        self.out_fuse = nn.Conv2d(6, 1, 1)

    def encode(self, x: torch.Tensor) -> Features:
        skips = []
        h = x
        for i, stage in enumerate(self.encoder):
            if i > 0:
                h = F.max_pool2d(h, 2, 2, ceil_mode=True)
            h = stage(h)
            skips.append(h)
        # skips: stage outputs at strides 1, 2, 4, 8, 16; top: stage 6 at stride 32
        return Features(top=skips.pop(), skips=tuple(skips))

    def decode(self, features: Features) -> torch.Tensor | list[torch.Tensor]:
        top = features.top
        enc = list(features.skips)  # strides 1, 2, 4, 8, 16
        dec_maps = []
        d = top
        for i, stage in enumerate(self.decoder):
            skip = enc[len(enc) - 1 - i]
            d = upsample_like(d, skip)
            if i < len(self.fuse):
                d = stage(torch.cat(self.fuse[i](d, skip), 1))
            else:
                d = stage(torch.cat((d, skip), 1))
            dec_maps.append(d)
        # decoder maps at strides 16, 8, 4, 2, 1 -> fine to coarse, then top
        maps = [*reversed(dec_maps), top]
        size_ref = maps[0]
        sides = [upsample_like(head(m), size_ref) for head, m in zip(self.side, maps)]
        fused = self.out_fuse(torch.cat(sides, 1))
        if self.training:
            return [*sides, fused]
        return fused
