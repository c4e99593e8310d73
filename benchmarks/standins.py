"""Small stand-ins for the third-party packages the authors' reference code imports, when they are missing.

The comparison scripts load the authors' files (PAL's networks and losses, the MTU-Net reference)
without installing what those files import. Each stand-in provides only what those files use, with
the real package's semantics: torchvision's ResNet basic block and tensor ``Resize``, PyWavelets'
Haar filter taps, einops' ``rearrange``/``repeat`` patterns, ml_collections' ``ConfigDict``, thop's
name, and segmentation_models_pytorch's ``SoftBCEWithLogitsLoss`` (plain BCE as the authors call it).
A real package, when importable, is always used instead.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import re
import sys
import types
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn


def _torchvision() -> dict[str, types.ModuleType]:
    class BasicBlock(nn.Module):
        """ResNet basic block with torchvision's attribute names and semantics."""

        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                     norm_layer=None):
            super().__init__()
            norm_layer = norm_layer or nn.BatchNorm2d
            if groups != 1 or base_width != 64 or dilation != 1:
                raise ValueError("stand-in BasicBlock supports groups=1, base_width=64, dilation=1 only")
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = norm_layer(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = norm_layer(planes)
            self.downsample = downsample
            self.stride = stride

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + identity)

    def resize(img, size, interpolation=None, max_size=None, antialias=True):
        """torchvision's tensor path: identity when the size already matches, else antialiased bilinear."""
        size = [int(s) for s in size]
        if list(img.shape[-2:]) == size:
            return img
        return F.interpolate(img, size=size, mode="bilinear", align_corners=False, antialias=bool(antialias))

    class Resize(nn.Module):
        def __init__(self, size, interpolation=None, max_size=None, antialias=True):
            super().__init__()
            self.size, self.antialias = size, antialias

        def forward(self, img):
            return resize(img, self.size, antialias=self.antialias)

    tv = types.ModuleType("torchvision")
    models = types.ModuleType("torchvision.models")
    resnet = types.ModuleType("torchvision.models.resnet")
    transforms = types.ModuleType("torchvision.transforms")
    functional = types.ModuleType("torchvision.transforms.functional")
    resnet.BasicBlock = BasicBlock
    transforms.Resize, transforms.functional, functional.resize = Resize, functional, resize
    tv.models, models.resnet, tv.transforms = models, resnet, transforms
    return {"torchvision": tv, "torchvision.models": models, "torchvision.models.resnet": resnet,
            "torchvision.transforms": transforms, "torchvision.transforms.functional": functional}


def _pywt() -> dict[str, types.ModuleType]:
    class Wavelet:
        def __init__(self, name):
            if name != "haar":
                raise ValueError(f"stand-in pywt knows only 'haar', not {name!r}")
            s = 1 / math.sqrt(2)
            self.dec_lo, self.dec_hi, self.rec_lo, self.rec_hi = [s, s], [-s, s], [s, s], [s, -s]

    pywt = types.ModuleType("pywt")
    pywt.Wavelet = Wavelet
    return {"pywt": pywt}


def einops_rearrange(tensor: torch.Tensor, pattern: str, **sizes: int) -> torch.Tensor:
    """einops.rearrange for reshape/permute patterns with parenthesised groups (no ellipsis)."""

    def parse(side: str) -> list[list[str]]:
        return [t[1:-1].split() if t.startswith("(") else [t] for t in re.findall(r"\([^)]*\)|\S+", side)]

    left, right = (parse(s) for s in pattern.split("->"))
    if len(left) != tensor.dim():
        raise ValueError(f"rearrange {pattern!r}: tensor has {tensor.dim()} dims")
    known = dict(sizes)
    for group, n in zip(left, tensor.shape):
        free = [a for a in group if a not in known]
        prod = math.prod(known[a] for a in group if a in known)
        if len(free) > 1:
            raise ValueError(f"rearrange {pattern!r}: cannot infer {free}")
        if free:
            known[free[0]] = n // prod
    atoms = [a for g in left for a in g]
    out_atoms = [a for g in right for a in g]
    t = tensor.reshape([known[a] for a in atoms]).permute([atoms.index(a) for a in out_atoms])
    return t.reshape([math.prod(known[a] for a in g) for g in right])


def _einops_repeat(tensor: torch.Tensor, pattern: str, **sizes: int) -> torch.Tensor:
    if " ".join(pattern.split()) != "b ... -> (b batch_size) ...":
        raise NotImplementedError(pattern)
    return tensor.repeat_interleave(sizes["batch_size"], dim=0)


class _ConfigDict(dict):
    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError as e:
            raise AttributeError(key) from e

    def __setattr__(self, key, value):
        self[key] = value


def _segmentation_models_pytorch() -> dict[str, types.ModuleType]:
    class SoftBCEWithLogitsLoss(torch.nn.Module):
        """SoftBCEWithLogitsLoss(reduction='None', smooth_factor=None), as the authors' loss builds it: plain BCE."""

        def __init__(self, smooth_factor=None, reduction="mean", **_):
            super().__init__()
            self.reduction = reduction

        def forward(self, pred, target):
            loss = F.binary_cross_entropy_with_logits(pred, target, reduction="none")
            return loss.mean() if self.reduction == "mean" else loss

    smp = types.ModuleType("segmentation_models_pytorch")
    losses = types.ModuleType("segmentation_models_pytorch.losses")
    for n in ("DiceLoss", "SoftCrossEntropyLoss", "LovaszLoss"):
        setattr(losses, n, None)
    losses.SoftBCEWithLogitsLoss = SoftBCEWithLogitsLoss
    smp.losses = losses
    return {"segmentation_models_pytorch": smp, "segmentation_models_pytorch.losses": losses}


#: package -> (module that must import for the real package to be used, builder of the stand-in's modules)
STANDINS: dict[str, tuple[str, Callable[[], dict[str, types.ModuleType]]]] = {
    "torchvision": ("torchvision", _torchvision),
    "pywt": ("pywt", _pywt),
    "einops": ("einops", lambda: {"einops": types.SimpleNamespace(rearrange=einops_rearrange,
                                                                   repeat=_einops_repeat)}),
    "ml_collections": ("ml_collections", lambda: {"ml_collections": types.SimpleNamespace(ConfigDict=_ConfigDict)}),
    "thop": ("thop", lambda: {"thop": types.SimpleNamespace(profile=None)}),
    "segmentation_models_pytorch": ("segmentation_models_pytorch.losses", _segmentation_models_pytorch),
}


def _importable(module: str) -> bool:
    if module in sys.modules:
        return True
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def install(*packages: str) -> dict[str, list[str]]:
    """Put the stand-in of each package that cannot be imported into ``sys.modules``.

    Returns {package: the module names installed for it}, for the packages that got a stand-in.
    """
    installed: dict[str, list[str]] = {}
    for package in packages:
        probe, build = STANDINS[package]
        if not _importable(probe):
            modules = build()
            for name, module in modules.items():
                sys.modules.setdefault(name, module)
            installed[package] = list(modules)
    return installed


@contextlib.contextmanager
def while_loading(packages: tuple[str, ...], *loaded: str) -> Iterator[None]:
    """Stand-ins for the missing ``packages`` while reference files load; afterwards those stand-ins and the
    ``loaded`` module names leave ``sys.modules`` again (the loaded modules keep their references)."""
    installed = install(*packages)
    try:
        yield
    finally:
        for name in [*loaded, *(m for modules in installed.values() for m in modules)]:
            sys.modules.pop(name, None)
