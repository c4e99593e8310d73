"""Tiny networks and image folders for the tools tests (predict, export, benchmark, report)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from fdep.models import Features, SIRSTNet, registry

MEAN, STD = 100.0, 50.0


TINY = "tools_tiny"


class ToolsTinyNet(SIRSTNet):
    """Encoder (two stride-2 convs) + decoder (upsampled top + a 1x1 head on the input).

    With ``blob_detector()`` the top path is zeroed and the head set so that
    ``logit = GAIN * (x_norm - LEVEL)``: a bright pixel gets p ~ 1, background p ~ 0.
    """

    model_name = TINY
    top_channels = 8
    top_stride = 4
    size_multiple = 32
    paper_params_m = None

    def __init__(self, in_chans: int = 1) -> None:
        super().__init__(in_chans)
        self.c1 = nn.Conv2d(in_chans, 4, 3, 2, 1)
        self.c2 = nn.Conv2d(4, 8, 3, 2, 1)
        self.up = nn.Conv2d(8, 1, 1)
        self.head = nn.Conv2d(in_chans, 1, 1)

    def encode(self, x: torch.Tensor) -> Features:
        top = F.relu(self.c2(F.relu(self.c1(x))))
        return Features(top, (x,))

    def decode(self, features: Features) -> torch.Tensor:
        (x,) = features.skips
        up = F.interpolate(self.up(features.top), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(x) + up


@contextlib.contextmanager
def registered() -> Iterator[str]:
    """Register ToolsTinyNet only while the block runs (other areas' tests never see it)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(registry._REGISTRY, TINY, ToolsTinyNet)
        yield TINY


@pytest.fixture(scope="module", autouse=True)
def tiny_registered() -> Iterator[str]:
    """Import into a test module to register the tiny network for that module's tests."""
    with registered() as name:
        yield name


GAIN, LEVEL = 10.0, 1.0


def blob_detector() -> ToolsTinyNet:
    """logit = GAIN * ((x - MEAN) / STD - LEVEL): pixels above MEAN + LEVEL*STD = 150 are targets."""
    net = ToolsTinyNet()
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.head.weight.fill_(GAIN)
        net.head.bias.fill_(-GAIN * LEVEL)
    return net.eval()


def random_net(seed: int = 0) -> ToolsTinyNet:
    torch.manual_seed(seed)
    return ToolsTinyNet().eval()


def reference_prob(net: nn.Module, image: np.ndarray, multiple: int = 32) -> np.ndarray:
    """Independent slow path: normalise, zero-pad bottom/right with F.pad, run, crop, sigmoid."""
    h, w = image.shape
    x = (torch.from_numpy(image.astype(np.float32))[None, None] - MEAN) / STD
    x = F.pad(x, (0, (-w) % multiple, 0, (-h) % multiple))
    with torch.no_grad():
        y = net(x)
    return torch.sigmoid(y[0, 0, :h, :w]).numpy()


def save_net(net: SIRSTNet, folder: Path) -> Path:
    from fdep.models import save_pretrained

    return save_pretrained(net, folder, mean=MEAN, std=STD)


def mixed_images(folder: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """Images of several sizes and PNG/BMP modes; returns stem -> the gray 0-255 values fdep reads."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    gray: dict[str, np.ndarray] = {}

    a = rng.integers(0, 256, (40, 70), dtype=np.uint8)
    Image.fromarray(a, "L").save(folder / "a_gray.png")
    gray["a_gray"] = a.astype(np.float32)

    b = rng.integers(0, 256, (40, 70), dtype=np.uint8)  # same size as a: batched with it
    Image.fromarray(b, "L").save(folder / "b_gray.bmp")
    gray["b_gray"] = b.astype(np.float32)

    pal = Image.fromarray(rng.integers(0, 256, (33, 50), dtype=np.uint8), "L").convert("P")
    pal.save(folder / "c_palette.png")
    gray["c_palette"] = np.asarray(pal.convert("RGB").convert("L"), dtype=np.float32)

    rgb = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), "RGB")
    rgb.save(folder / "d_rgb.png")
    gray["d_rgb"] = np.asarray(rgb.convert("L"), dtype=np.float32)

    s16 = rng.integers(0, 65536, (45, 31), dtype=np.uint16)
    Image.fromarray(s16).save(folder / "e_16bit.png")
    gray["e_16bit"] = s16.astype(np.float32) / 257.0

    (folder / "notes.txt").write_text("not an image: ignored")
    return gray


def gray_images(folder: Path, n: int = 2, size: int = 24) -> Path:
    """``n`` random 8-bit gray PNGs ``im<k>.png`` in a new ``folder``; returns the folder."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8)).save(folder / f"im{k}.png")
    return folder
