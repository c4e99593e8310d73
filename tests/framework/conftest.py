"""Fixtures of the FDEP-core tests: a tiny test network and a tiny DINOv2 saved like a user's model folder."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fdep.models import Features, SIRSTNet, registry


def _cbr(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class TinyDSNet(SIRSTNet):
    """A tiny encoder-decoder with deep supervision (an auxiliary head at stride 2)."""

    top_channels = 16
    top_stride = 4
    size_multiple = 32
    deep_supervision = True

    def __init__(self, in_chans: int = 1, width: int = 8):
        super().__init__(in_chans)
        self.init_kwargs = {"width": width}
        w = width
        self.stem = _cbr(in_chans, w)
        self.down1 = _cbr(w, 2 * w, 2)
        self.down2 = _cbr(2 * w, self.top_channels, 2)
        self.up1 = _cbr(self.top_channels + 2 * w, 2 * w)
        self.up0 = _cbr(3 * w, w)
        self.head = nn.Conv2d(w, 1, 1)
        self.aux = nn.Conv2d(2 * w, 1, 1)

    def encode(self, x):
        s0 = self.stem(x)
        s1 = self.down1(s0)
        return Features(self.down2(s1), (s0, s1))

    def decode(self, f):
        s0, s1 = f.skips
        d1 = self.up1(torch.cat([F.interpolate(f.top, size=s1.shape[-2:]), s1], 1))
        d0 = self.up0(torch.cat([F.interpolate(d1, size=s0.shape[-2:]), s0], 1))
        out = self.head(d0)
        if self.training:
            return [F.interpolate(self.aux(d1), size=out.shape[-2:], mode="bilinear"), out]
        return out


TINY_NAME = "tinyds_test"


@pytest.fixture
def tiny_registered(monkeypatch):
    """Register TinyDSNet for this test only (so other areas' tests never see it)."""
    monkeypatch.setitem(registry._REGISTRY, TINY_NAME, TinyDSNet)
    monkeypatch.setattr(TinyDSNet, "model_name", TINY_NAME)
    return TINY_NAME


def tiny_dinov2(depth: int = 4, registers: int = 0, swiglu: bool = False, seed: int = 0):
    """A tiny random DINOv2 (hidden 32, patch 14) with every parameter perturbed (no trivial init)."""
    from transformers import Dinov2Config, Dinov2Model, Dinov2WithRegistersConfig, Dinov2WithRegistersModel

    torch.manual_seed(seed)
    kw = dict(hidden_size=32, num_hidden_layers=depth, num_attention_heads=2, image_size=56, patch_size=14,
              use_swiglu_ffn=swiglu)
    if registers:
        model = Dinov2WithRegistersModel(Dinov2WithRegistersConfig(num_register_tokens=registers, **kw))
    else:
        model = Dinov2Model(Dinov2Config(**kw))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model.eval()


@pytest.fixture(scope="session")
def tiny_vfm_dir(tmp_path_factory):
    """A user's local HF model folder (config.json + model.safetensors) holding a tiny DINOv2."""
    path = tmp_path_factory.mktemp("vfm") / "tiny-dinov2"
    tiny_dinov2().save_pretrained(path)
    return path


@pytest.fixture
def tiny_vfm(tiny_vfm_dir):
    from fdep.vfm import load_vfm

    return load_vfm(tiny_vfm_dir)
