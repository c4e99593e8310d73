"""MSDA-Net: multi-scale direction-aware network (Zhao et al., 2024).

Encoder: a full-resolution stem (two conv3x3, 16 channels) and five stages at
strides 1, 2, 4, 8, 16 (16, 32, 64, 64, 64 channels). Every stage opens with
a residual block (a down-sampling one from stage 2 on) followed by two MSDA
blocks: multi-scale local relation learning (four conv branches: 1x1; 1x1
then 3x3; 3x3 then 3x3 dilation 3; 5x5 then 3x3 dilation 5),
multi-directional feature awareness (MDFA: the LL, LH, HL and HH Haar filters
each drive a spatial attention map) and SE channel attention. Stage 2 concatenates
the stride-2 Haar high-frequency bands (LH, HL, HH) of the input image before
its first block's output (high-frequency direction injection, HFDI). The deepest
feature (feature aggregation, FA) fuses max-pooled, 1x1-reduced
(16-channel) stages 1-4 with stage 5 into 64 channels at stride 16.

Decoder: a multi-scale local-contrast block (three dilated branches) per
scale, then feature alignment fusion (FAF) from deep to shallow, and a 1x1
head at full resolution.

FDEP split: ``top`` is the fused deepest feature (64 channels, stride 16);
the decoder reads the deepest path only through it. The four shallower stage
outputs are the skips.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ModelError
from ..base import Features, SIRSTNet
from ..registry import register_model

#: Haar tap as the authors' code computes it: pywt's 1/sqrt(2) stored in float32 and squared in
#: float32, i.e. 0.49999997 rather than 0.5 (1 ulp), so our filters equal theirs bit for bit.
_HAAR_TAP = float(torch.tensor(2**-0.5, dtype=torch.float32) ** 2)

#: 2x2 Haar analysis filters (pywt 'haar', as correlation kernels), order LL, LH, HL, HH.
#: LH responds to horizontal edges (rows differ), HL to vertical ones, HH to diagonals.
_HAAR = (
    torch.tensor(
        [
            [[1.0, 1.0], [1.0, 1.0]],
            [[1.0, 1.0], [-1.0, -1.0]],
            [[1.0, -1.0], [1.0, -1.0]],
            [[1.0, -1.0], [-1.0, 1.0]],
        ]
    )
    * _HAAR_TAP
)

#: order in which the authors' MDFA evaluates and sums the directions (indices into _HAAR)
_MDFA_ORDER = (1, 2, 3, 0)  # LH, HL, HH, LL

STAGE_WIDTHS = (16, 32, 64, 64, 64)
HAAR_INPUT_CHANNELS = 3  # the published design reads a 3-channel image; 1 channel is replicated


def _kaiming(module: nn.Module) -> nn.Module:
    """The reference's initialisation for convs (Kaiming normal, fan_out) and BN (1, 0)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return module


def conv_bn_relu(cin: int, cout: int, k: int = 3, dilation: int = 1) -> nn.Sequential:
    """Bias-free conv (same padding) + BN + ReLU: the basic unit of the MSDA and LCL branches."""
    pad = dilation * (k - 1) // 2
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=pad, dilation=dilation, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class HaarAttention(nn.Module):
    """Multi-directional feature awareness (MDFA): Haar-filter spatial attention.

    Each of the four 2x2 Haar filters is applied depthwise at stride 1 (input
    padded one pixel on the top/left so the size is kept); a per-direction
    spatial attention (7x7 conv over the channel-wise max and mean of the
    filtered map) weights ``x``; the four weighted copies are summed, refined by
    conv3x3-BN and added back to ``x``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("haar", _HAAR.unsqueeze(1).repeat(channels, 1, 1, 1), persistent=False)
        # One 7x7 conv per direction, stored as one grouped conv (group k = direction k, over (max, mean)).
        self.spatial = nn.Conv2d(8, 4, 7, padding=3, groups=4)
        self.refine = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels))
        _kaiming(self)
        for k in range(4):  # fan_out of one 2->1 direction conv, as four separate convs would have
            nn.init.kaiming_normal_(self.spatial.weight[k : k + 1], mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Direction by direction, in the authors' order (LH, HL, HH, LL) and summing
        # x * a_k as they do, so float32 rounding matches theirs too (the grouped
        # conv's k-th group is the k-th direction's 2->1 conv).
        c = x.shape[1]
        padded = F.pad(x, (1, 0, 1, 0))
        out = None
        for k in _MDFA_ORDER:
            band = F.conv2d(padded, self.haar[k::4], groups=c)
            stats = torch.cat([band.amax(dim=1, keepdim=True), band.mean(dim=1, keepdim=True)], 1)
            w, b = self.spatial.weight[k : k + 1], self.spatial.bias[k : k + 1]
            weighted = x * torch.sigmoid(F.conv2d(stats, w, b, padding=3))
            out = weighted if out is None else out + weighted
        return F.relu(x + self.refine(out))


class SEAttention(nn.Module):
    """Squeeze-and-excitation channel attention (reduction 4, bias-free MLP)."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction, bias=False),
            nn.ReLU(),
            nn.Linear(channels // reduction, channels, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.fc(x.mean(dim=(2, 3))))[:, :, None, None]


class MSDABlock(nn.Module):
    """Multi-scale direction-aware (MSDA) block: dilated branches (MLRL) + MDFA + SE, residual."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        c = channels
        self.branches = nn.ModuleList(
            [
                conv_bn_relu(c, c, 1),
                nn.Sequential(conv_bn_relu(c, c, 1), conv_bn_relu(c, c, 3)),
                nn.Sequential(conv_bn_relu(c, c, 3), conv_bn_relu(c, c, 3, dilation=3)),
                nn.Sequential(conv_bn_relu(c, c, 5), conv_bn_relu(c, c, 3, dilation=5)),
            ]
        )
        self.merge = conv_bn_relu(4 * c, c, 3)
        self.haar_attention = HaarAttention(c)
        self.se = SEAttention(c)
        self.out = conv_bn_relu(c, c, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.merge(torch.cat([b(x) for b in self.branches], 1))
        y = self.se(self.haar_attention(y))
        return F.relu(x + self.out(y))


class ResBlock(nn.Module):
    """Plain residual block (conv3x3-BN-ReLU-conv3x3-BN + identity) at constant width."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        c = channels
        self.body = _kaiming(
            nn.Sequential(
                nn.Conv2d(c, c, 3, padding=1),
                nn.BatchNorm2d(c),
                nn.ReLU(),
                nn.Conv2d(c, c, 3, padding=1),
                nn.BatchNorm2d(c),
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class DownResBlock(nn.Module):
    """Stride-2 residual block: conv-BN-ReLU-maxpool-conv-BN plus a strided conv-BN-ReLU shortcut."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.body = _kaiming(
            nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(cout, cout, 3, padding=1),
                nn.BatchNorm2d(cout),
            )
        )
        self.shortcut = _kaiming(
            nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm2d(cout), nn.ReLU())
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class LocalContrast(nn.Module):
    """Decoder multi-scale local-contrast block: three dilated branches merged by conv3x3."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        c = channels
        self.branches = nn.ModuleList(
            [
                conv_bn_relu(c, c, 1),
                nn.Sequential(conv_bn_relu(c, c, 3), conv_bn_relu(c, c, 3, dilation=3)),
                nn.Sequential(conv_bn_relu(c, c, 5), conv_bn_relu(c, c, 3, dilation=5)),
            ]
        )
        self.merge = conv_bn_relu(3 * c, c, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.merge(torch.cat([b(x) for b in self.branches], 1))


class AlignmentFusion(nn.Module):
    """Feature alignment fusion (FAF) of a deep map (``cdeep``) into a shallow one (``cshallow``).

    The deep map is up-sampled x2 (bilinear, align_corners=True), refined by a
    residual computed from its concatenation with the shallow map, projected to
    the shallow width and added to the shallow map.
    """

    def __init__(self, cdeep: int, cshallow: int) -> None:
        super().__init__()
        self.mix = _kaiming(
            nn.Sequential(
                nn.Conv2d(cdeep + cshallow, cdeep, 1),
                nn.BatchNorm2d(cdeep),
                nn.ReLU(),
                nn.Conv2d(cdeep, cdeep, 3, padding=1),
                nn.BatchNorm2d(cdeep),
                nn.ReLU(),
            )
        )
        self.project = _kaiming(nn.Sequential(nn.Conv2d(cdeep, cshallow, 1), nn.BatchNorm2d(cshallow), nn.ReLU()))

    def forward(self, deep: torch.Tensor, shallow: torch.Tensor) -> torch.Tensor:
        deep = F.interpolate(deep, size=shallow.shape[-2:], mode="bilinear", align_corners=True)
        deep = deep + self.mix(torch.cat([deep, shallow], 1))
        return shallow + self.project(deep)


@register_model(name="msdanet")
class MSDANet(SIRSTNet):
    """Multi-Scale Direction-Aware Network (MSDA blocks, HFDI, FA deepest feature, FAF decoder)."""

    paper_params_m = 4.79

    source = "Zhao et al., 2024; code: YuChuang1205/PAL model/MSDA"
    top_channels = 64
    top_stride = 16
    deep_supervision = False

    def __init__(self, in_chans: int = 1) -> None:
        super().__init__(in_chans)
        # A 1-channel image is replicated to the 3 channels the design reads (stem and Haar bands).
        self.image_chans = HAAR_INPUT_CHANNELS if in_chans == 1 else in_chans
        w = STAGE_WIDTHS
        n_bands = 3 * self.image_chans
        if n_bands >= w[1]:
            raise ModelError(
                f"msdanet: in_chans={in_chans} gives {n_bands} Haar bands; at most {(w[1] - 1) // 3} channels"
            )
        self.register_buffer("haar_hi", _HAAR[1:].unsqueeze(1).repeat(self.image_chans, 1, 1, 1), persistent=False)
        self.stem = _kaiming(
            nn.Sequential(
                nn.Conv2d(self.image_chans, w[0], 3, padding=1),
                nn.BatchNorm2d(w[0]),
                nn.ReLU(),
                nn.Conv2d(w[0], w[0], 3, padding=1),
                nn.BatchNorm2d(w[0]),
                nn.ReLU(),
            )
        )
        # Each stage: an opening residual block, then two MSDA blocks.
        self.open1 = ResBlock(w[0])
        self.open2 = DownResBlock(w[0], w[1] - n_bands)  # HFDI bands fill the stage-2 width
        self.open3 = DownResBlock(w[1], w[2])
        self.open4 = DownResBlock(w[2], w[3])
        self.open5 = DownResBlock(w[3], w[4])
        self.msda = nn.ModuleList(nn.Sequential(MSDABlock(c), MSDABlock(c)) for c in w)
        # Feature aggregation (FA): stages 1-4 max-pooled to stride 16 and reduced to 16 channels, fused with stage 5.
        self.reduce = nn.ModuleList(_kaiming(nn.Sequential(nn.Conv2d(c, 16, 1), nn.ReLU())) for c in w[:4])
        self.fuse = _kaiming(
            nn.Sequential(
                nn.Conv2d(w[4] + 4 * 16, 128, 1),
                nn.ReLU(),
                nn.Conv2d(128, w[4], 1),
                nn.ReLU(),
            )
        )
        # Decoder.
        self.contrast = nn.ModuleList(LocalContrast(c) for c in w)
        self.aggregate = nn.ModuleList(
            [
                AlignmentFusion(w[1], w[0]),
                AlignmentFusion(w[2], w[1]),
                AlignmentFusion(w[3], w[2]),
                AlignmentFusion(w[4], w[3]),
            ]
        )
        self.head = _kaiming(nn.Sequential(nn.Conv2d(w[0], w[0], 1), nn.ReLU(), nn.Conv2d(w[0], 1, 1)))

    def haar_bands(self, x: torch.Tensor) -> torch.Tensor:
        """Stride-2 Haar LH, HL, HH bands of the image, band-major (all LH, then HL, then HH)."""
        c = x.shape[1]
        bands = F.conv2d(x, self.haar_hi, stride=2, groups=c)  # channel-major: c0 LH HL HH, c1 ...
        n, _, h, w = bands.shape
        return bands.view(n, c, 3, h, w).transpose(1, 2).reshape(n, 3 * c, h, w)

    def encode(self, x: torch.Tensor) -> Features:
        if self.in_chans == 1:
            x = x.expand(-1, self.image_chans, -1, -1)
        s1 = self.msda[0](self.open1(self.stem(x)))
        s2 = self.msda[1](torch.cat([self.haar_bands(x), self.open2(s1)], 1))
        s3 = self.msda[2](self.open3(s2))
        s4 = self.msda[3](self.open4(s3))
        s5 = self.msda[4](self.open5(s4))
        stride = self.top_stride
        pooled = [r(F.max_pool2d(s, stride // 2**i)) for i, (r, s) in enumerate(zip(self.reduce, (s1, s2, s3, s4)))]
        top = self.fuse(torch.cat([s5, pooled[3], pooled[2], pooled[1], pooled[0]], 1))
        return Features(top=top, skips=(s1, s2, s3, s4))

    def decode(self, features: Features) -> torch.Tensor:
        y = self.contrast[4](features.top)
        for i in (3, 2, 1, 0):
            y = self.aggregate[i](y, self.contrast[i](features.skips[i]))
        return self.head(y)
