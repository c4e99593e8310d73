"""RPCANet: deep-unfolded robust PCA for infrared small targets (Wu et al., WACV 2024).

The image D is modelled as background B plus sparse target T. Each of the six
stages unfolds one iteration of a robust-PCA solver into three small
full-resolution CNNs: background estimation ``B = (D - T) + f_B(D - T)``, target
extraction (a proximal step) ``T = x - eps * f_T(x)`` with ``x = T + D - B`` and a
learned step size ``eps``, and image reconstruction ``D = f_D(B + T)``. The output
is the last stage's target map T (logits); the paper trains it with SoftIoU on T
plus ``gamma * MSE(D, image)``, gamma = 0.01.

FDEP split: ``top`` is the deepest feature of the last stage's target-extraction
CNN (its last hidden 32-channel map, full resolution). ``decode`` applies that
CNN's output conv and the proximal step, and in training also the last
reconstruction module, whose term is returned as a 0-dim auxiliary loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ModelError
from ..base import Features, SIRSTNet
from ..registry import register_model


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1)


def _bn_stack(channels: int, hidden: int) -> nn.Sequential:
    """conv(1->c)-BN-ReLU, ``hidden`` x conv(c->c)-BN-ReLU, conv(c->1): f_B and f_D."""
    layers: list[nn.Module] = []
    for cin in [1] + [channels] * hidden:
        layers += [_conv(cin, channels), nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, _conv(channels, 1))


class BackgroundEstimation(nn.Module):
    """Low-rank (background) update: ``B = (D - T) + f_B(D - T)``."""

    def __init__(self, channels: int, hidden: int = 3) -> None:
        super().__init__()
        self.body = _bn_stack(channels, hidden)

    def forward(self, d: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        x = d - t
        return x + self.body(x)


class TargetExtraction(nn.Module):
    """Sparse (target) update, a learned proximal step: ``T = x - eps * out(features(x))``, ``x = T + D - B``.

    ``features`` (conv(1->c)-ReLU and ``hidden`` x conv(c->c)-ReLU, no normalisation)
    ends in the map FDEP fuses into; ``out`` maps it to one channel.
    """

    def __init__(self, channels: int, hidden: int = 6) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for cin in [1] + [channels] * hidden:
            layers += [_conv(cin, channels), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.out = _conv(channels, 1)
        self.step = nn.Parameter(torch.tensor([0.01]))

    @staticmethod
    def input(d: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return t + d - b

    def update(self, x: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
        return x - self.step * self.out(feature)

    def forward(self, d: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        x = self.input(d, b, t)
        return self.update(x, self.features(x))


class ImageReconstruction(nn.Module):
    """Image update: ``D = f_D(B + T)``."""

    def __init__(self, channels: int, hidden: int = 3) -> None:
        super().__init__()
        self.body = _bn_stack(channels, hidden)

    def forward(self, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.body(b + t)


class UnfoldingStage(nn.Module):
    """One unfolded iteration: background, then target, then image reconstruction."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.background = BackgroundEstimation(channels)
        self.target = TargetExtraction(channels)
        self.reconstruction = ImageReconstruction(channels)

    def forward(self, d: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b = self.background(d, t)
        t = self.target(d, b, t)
        return self.reconstruction(b, t), t


@register_model(name="rpcanet")
class RPCANet(SIRSTNet):
    """RPCANet (6 stages, 32 channels): the sparse target map T as logits.

    ``in_chans`` > 1: the design decomposes one image channel, so the channels
    are averaged first (a replicated grayscale image gives back that image).
    Training returns ``[recon_weight * MSE(D, image), T]``: a 0-dim auxiliary
    loss term (added as it is by :func:`fdep.losses.build_loss`) and the map;
    with ``recon_weight=0`` only ``[T]`` (the last reconstruction module then
    gets no gradient). Any input size works; 32 is the zoo's uniform multiple.
    """

    paper_params_m = 0.68
    top_channels = 32
    top_stride = 1
    deep_supervision = True
    source = ("Wu et al., RPCANet: Deep Unfolding RPCA Based Infrared Small Target Detection, WACV 2024; "
              "code: fengyiwu98/RPCANet (models/deepunfolding.py, RPCANet9)")

    def __init__(self, in_chans: int = 1, stages: int = 6, channels: int = 32, recon_weight: float = 0.01) -> None:
        super().__init__(in_chans)
        if stages < 1 or channels < 1 or recon_weight < 0:
            raise ModelError(f"rpcanet: stages and channels must be >= 1 and recon_weight >= 0, got stages={stages}, "
                             f"channels={channels}, recon_weight={recon_weight}")
        self.top_channels = channels
        self.recon_weight = float(recon_weight)
        self.init_kwargs = {"stages": stages, "channels": channels, "recon_weight": recon_weight}
        self.stages = nn.ModuleList(UnfoldingStage(channels) for _ in range(stages))
        # the reference initialises every conv weight Xavier-normal (biases and BN keep PyTorch's defaults)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_normal_(m.weight)

    def encode(self, x: torch.Tensor) -> Features:
        image = x if x.shape[1] == 1 else x.mean(dim=1, keepdim=True)
        d, t = image, torch.zeros_like(image)
        for stage in self.stages[:-1]:
            d, t = stage(d, t)
        last = self.stages[-1]
        b = last.background(d, t)
        xt = last.target.input(d, b, t)
        return Features(top=last.target.features(xt), skips=(xt, b, image))

    def decode(self, f: Features) -> torch.Tensor | list[torch.Tensor]:
        xt, b, image = f.skips
        last = self.stages[-1]
        t = last.target.update(xt, f.top)
        if not self.training:
            return t
        if self.recon_weight == 0:
            return [t]
        d = last.reconstruction(b, t)
        return [self.recon_weight * F.mse_loss(d, image), t]

    def decompose(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstructed image D, target logits T) of the last stage, in either mode (the paper's outputs)."""
        self.check_input(x)
        f = self.encode(x)
        xt, b, _ = f.skips
        last = self.stages[-1]
        t = last.target.update(xt, f.top)
        return last.reconstruction(b, t), t
