"""ALCNet as benchmarked in the FDEP paper (Dai et al., TGRS 2021, via the BasicIRSTD/PAL port).

The PyTorch ALCNet that BasicIRSTD ships and the PAL/FDEP code base trains is
an ``ASKCResNetFPN``: ACM's stem and encoder with four basic blocks per stage
(16 ch s4, 32 ch s8, 64 ch s16), and an FPN-style decoder of 4x4 stride-2
transposed convs with asymmetric bi-directional fusion at strides 8 and 4, a
third transposed conv to stride 2 (8 ch), an FCN head and bilinear upsampling
to the input size. Its forward-pass parameters (0.427 M) give the paper's
0.43 M. ``Features.top`` is the stage-3 output (64 ch, stride 16).
"""

from __future__ import annotations

import torch

from ..base import Features, SIRSTNet
from ..blocks.acm_family import AsymBiChaFuse, FCNHead, acm_stem, acm_style, basic_stage, resize_to, up2
from ..registry import register_model


@register_model
class ALCNet(SIRSTNet):
    """ALCNet (ASKCResNetFPN with AsymBi fusion), layers 4-4-4, widths 8/16/32/64."""

    paper_params_m = 0.43

    source = "Dai et al., TGRS 2021; code: YuChuang1205/PAL model/ALC"
    top_channels = 64
    top_stride = 16
    deep_supervision = False

    def __init__(self, in_chans: int = 1, blocks: int = 4, style: str = "authors") -> None:
        """``style``: "authors" (default) = the authors' PyTorch ALCNet in PAL; "original" = the
        MXNet normalisation of Dai et al.'s code (as for ACM; see ``ACMStyle``)."""
        super().__init__(in_chans)
        st = acm_style("alcnet", style)
        self.style = style
        m, norm = st.momentum, st.fusion_norm
        self.stem = acm_stem(in_chans, 8, st)
        self.layer1 = basic_stage(16, 16, blocks, 1, m)
        self.layer2 = basic_stage(16, 32, blocks, 2, m)
        self.layer3 = basic_stage(32, 64, blocks, 2, m)
        self.deconv2 = up2(64, 32)
        self.fuse23 = AsymBiChaFuse(32, norm=norm)
        self.deconv1 = up2(32, 16)
        self.fuse12 = AsymBiChaFuse(16, norm=norm)
        self.deconv0 = up2(16, 8)
        self.head = FCNHead(8, momentum=m)

    def encode(self, x: torch.Tensor) -> Features:
        c1 = self.layer1(self.stem(x))
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        return Features(top=c3, skips=(c1, c2, tuple(x.shape[-2:])))

    def decode(self, features: Features) -> torch.Tensor:
        c1, c2, size = features.skips
        out = self.fuse23(self.deconv2(features.top), c2)
        out = self.fuse12(self.deconv1(out), c1)
        return resize_to(self.head(self.deconv0(out)), size)
