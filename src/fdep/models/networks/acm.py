"""ACM: asymmetric contextual modulation U-Net (Dai et al., WACV 2021).

Encoder: input BN + 3-conv stem with max-pool (stride 4, 16 ch), then three
stages of three basic blocks (16 ch s4, 32 ch s8, 64 ch s16). Decoder: 4x4
stride-2 transposed conv, asymmetric bi-directional fusion with the skip, three
basic blocks, twice; FCN head at stride 4 and x4 bilinear upsampling.
``Features.top`` is the stage-3 output (64 ch, stride 16).
"""

from __future__ import annotations

import torch

from ..base import Features, SIRSTNet
from ..blocks.acm_family import AsymBiChaFuse, FCNHead, acm_stem, acm_style, basic_stage, resize_to, up2
from ..registry import register_model


@register_model
class ACM(SIRSTNet):
    """ACM (ASKCResUNet with AsymBi fusion), layers 3-3-3, widths 8/16/32/64."""

    paper_params_m = 0.40

    source = "Dai et al., WACV 2021; code: YuChuang1205/PAL model/ACM"
    top_channels = 64
    top_stride = 16
    deep_supervision = False

    def __init__(self, in_chans: int = 1, blocks: int = 3, style: str = "authors") -> None:
        """``style``: "authors" (default) = the authors' PyTorch ACM in PAL, the network behind the
        FDEP paper's numbers; "original" = Dai et al.'s MXNet open-acm normalisation (affine-free
        input BN, PyTorch-default BN momentum, BatchNorm in the fusion). See ``ACMStyle``."""
        super().__init__(in_chans)
        st = acm_style("acm", style)
        self.style = style
        m, norm = st.momentum, st.fusion_norm
        self.stem = acm_stem(in_chans, 8, st)
        self.layer1 = basic_stage(16, 16, blocks, 1, m)
        self.layer2 = basic_stage(16, 32, blocks, 2, m)
        self.layer3 = basic_stage(32, 64, blocks, 2, m)
        self.deconv2 = up2(64, 32)
        self.fuse2 = AsymBiChaFuse(32, norm=norm)
        self.uplayer2 = basic_stage(32, 32, blocks, 1, m)
        self.deconv1 = up2(32, 16)
        self.fuse1 = AsymBiChaFuse(16, norm=norm)
        self.uplayer1 = basic_stage(16, 16, blocks, 1, m)
        self.head = FCNHead(16, momentum=m)

    def encode(self, x: torch.Tensor) -> Features:
        c1 = self.layer1(self.stem(x))
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        return Features(top=c3, skips=(c1, c2, tuple(x.shape[-2:])))

    def decode(self, features: Features) -> torch.Tensor:
        c1, c2, size = features.skips
        out = self.uplayer2(self.fuse2(self.deconv2(features.top), c2))
        out = self.uplayer1(self.fuse1(self.deconv1(out), c1))
        return resize_to(self.head(out), size)
