"""FDEP at a named layer (fdep_at): for every zoo network, the named-layer path at the module whose output is
``encode(x).top`` gives the outputs and gradients of the encode/decode path. Compared in float64: in float32
the two orders of summing the encoder's gradient (once over both branches, or once per branch) differ by
rounding alone, up to 9% on ACM's one-channel input BatchNorm whose gradient cancels to almost nothing."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from fdep.errors import ConfigError, ModelError
from fdep.framework import FDEPModel
from fdep.models import create_model, list_models
from fdep.models.inspection import encode_top_module

VFM = {"name": "fake", "layers": [1, 2], "embed_dim": 8, "patch_size": 14}


def top_module_name(net, x) -> str:
    """The outermost named submodule whose output *is* ``net.encode(x).top`` (found, not hard-coded)."""
    name = encode_top_module(net, x)
    assert name, f"{net.model_name}: no submodule returns the top feature"
    return name


def _size(net) -> int:
    return net.size_multiple * max(1, math.ceil(64 / net.size_multiple))


def _no_dropout(net: nn.Module) -> None:
    # dropout draws different masks when the encoder runs twice: the comparison is of the arithmetic
    for m in net.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.p = 0.0


def _vfm_maps(x):
    g = torch.Generator().manual_seed(3)
    return [torch.randn(x.shape[0], 8, 5, 5, generator=g, dtype=x.dtype) for _ in VFM["layers"]]


def _loss(out):
    total = 0.0
    for key in sorted(out):
        maps = out[key] if isinstance(out[key], (list, tuple)) else [out[key]]
        w = 1.0 if key == "main" else 0.7
        total = total + w * sum((m * torch.linspace(-1, 1, m.numel(), dtype=m.dtype).view_as(m)).sum() for m in maps
                                if m.dim() == 4)
    return total


# "fdep" runs both branches (main and light) for every network; "fdep-main" adds the eval path of the main branch
CASES = [(n, "fdep") for n in list_models(kind="learned")] + [("acm", "fdep-main"), ("dnanet", "fdep-main")]


@pytest.mark.parametrize("name, variant", CASES)
def test_named_layer_path_equals_encode_decode(name, variant):
    torch.manual_seed(0)
    net = create_model(name).double()
    _no_dropout(net)
    s = _size(net)
    x = torch.randn(2, 1, s, s, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    at = top_module_name(net, x)
    ref = FDEPModel(net, VFM, variant=variant, fusion="samf")
    tap = FDEPModel(copy.deepcopy(net), VFM, variant=variant, fusion="samf", fdep_at=at)
    ref.double(), tap.double()
    tap.load_state_dict(ref.state_dict())
    assert tap.tap.channels == net.top_channels
    feats = _vfm_maps(x)
    outs = []
    for model in (ref, tap):
        model.train()
        out = model(x, vfm_features=feats)
        _loss(out).backward()
        outs.append(out)
    for key in outs[0]:
        a, b = outs[0][key], outs[1][key]
        a, b = (a if isinstance(a, (list, tuple)) else [a]), (b if isinstance(b, (list, tuple)) else [b])
        assert len(a) == len(b)
        for u, v in zip(a, b):
            torch.testing.assert_close(v, u, rtol=1e-9, atol=1e-9)
    grads_ref = {n: p.grad for n, p in ref.named_parameters()}
    # absolute tolerance on the scale of the largest gradient: a conv bias before a BatchNorm has a gradient
    # of exactly 0 in exact arithmetic, rounding noise in either path
    scale = max(float(g.abs().max()) for g in grads_ref.values() if g is not None)
    for n, p in tap.named_parameters():
        g = grads_ref[n]
        assert (p.grad is None) == (g is None), n
        if g is not None:
            torch.testing.assert_close(p.grad, g, rtol=1e-7, atol=1e-9 * scale, msg=lambda m, n=n: f"{name} {n}: {m}")
    # eval: fdep infers with the untouched network, fdep-main with the fused one; both paths agree. (The
    # encoder ran twice on the named-layer path, so its BatchNorm running statistics moved twice: same start.)
    tap.load_state_dict(ref.state_dict())
    ref.eval(), tap.eval()
    with torch.no_grad():
        torch.testing.assert_close(tap(x, vfm_features=feats) if variant == "fdep-main" else tap(x),
                                   ref(x, vfm_features=feats) if variant == "fdep-main" else ref(x),
                                   rtol=1e-9, atol=1e-9)


def test_share_ablations_are_refused_at_a_named_layer():
    net = create_model("acm")
    with pytest.raises(ConfigError, match="encoder/decoder split"):
        FDEPModel(net, VFM, variant="fdep", share="encoder", fdep_at="layer3")


def test_unknown_layer_offers_the_closest_names():
    net = create_model("acm")
    with pytest.raises(ModelError, match="no submodule 'layer33'.*closest: layer3"):
        FDEPModel(net, VFM, variant="fdep", fdep_at="layer33")


def test_a_layer_run_twice_is_refused():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)
            self.stem = nn.Conv2d(1, 4, 3, padding=1)
            self.head = nn.Conv2d(4, 1, 1)

        def forward(self, x):
            return self.head(self.conv(self.conv(self.stem(x))))

    net = create_model_from(Twice())
    with pytest.raises(ModelError, match="runs 2 times"):
        FDEPModel(net, VFM, variant="fdep", fdep_at="conv")


def create_model_from(module):
    from fdep.models import ExternalNetwork

    return ExternalNetwork(module, "test:Twice", in_chans=1)


def test_a_network_that_changes_the_layer_output_in_place_still_trains():
    class InPlace(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 4, 3, 2, 1)
            self.middle = nn.Conv2d(4, 8, 3, 1, 1)
            self.relu = nn.ReLU(inplace=True)
            self.head = nn.Conv2d(8, 1, 1)

        def forward(self, x):
            m = self.relu(self.middle(self.stem(x)))  # in place on the layer's output
            return nn.functional.interpolate(self.head(m), size=x.shape[-2:])

    from fdep.models import ExternalNetwork

    model = FDEPModel(ExternalNetwork(InPlace(), "test:InPlace"), VFM, variant="fdep", fdep_at="middle").train()
    x = torch.randn(2, 1, 32, 32)
    out = model(x, vfm_features=_vfm_maps(x))
    (out["main"].sum() + out["light"].sum()).backward()  # the table1 SAMF ends in a ReLU whose backward needs it
    assert all(p.grad is not None for p in model.fusions.parameters())


@pytest.mark.parametrize("fusion, form", [("samf", "table1"), ("samf", "literal"), ("add", "table1"),
                                          ("concat", "table1")])
def test_every_fusion_at_a_named_layer_of_a_plain_network(fusion, form):
    from fdep.models import ExternalNetwork

    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 4, 3, 2, 1)
            self.bottom = nn.Sequential(nn.Conv2d(4, 6, 3, 2, 1), nn.BatchNorm2d(6), nn.ReLU())
            self.head = nn.Conv2d(6, 1, 1)

        def forward(self, x):
            return nn.functional.interpolate(self.head(self.bottom(self.stem(x))), size=x.shape[-2:])

    model = FDEPModel(ExternalNetwork(Plain(), "test:Plain"), VFM, variant="fdep", fusion=fusion, samf_form=form,
                      fdep_at="bottom")
    assert (model.tap.channels, model.tap.stride) == (6, 4)
    x = torch.randn(2, 1, 32, 32)
    out = model.train()(x, vfm_features=_vfm_maps(x))
    (out["main"].square().mean() + out["light"].square().mean()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.fusions.parameters())
    # the light branch is the plain network: eval output == the user's module alone
    model.eval()
    torch.testing.assert_close(model(x), model.network.user_module(x))
