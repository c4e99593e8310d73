"""SAMF: both forms against a functional reference of Eq. 1-6, shapes and gradient flow for every network's top."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from fdep.errors import ConfigError, ModelError
from fdep.framework import SAMF, SAMF_FORMS, AddFusion, ConcatFusion
from fdep.models import create_model, list_models

from .conftest import TINY_NAME


# learned networks only: a classical method has no encoder/decoder (FDEPModel refuses it, tested in
# test_fdep_model.py::test_classical_methods_are_refused)
@pytest.fixture(params=[*list_models(kind="learned"), TINY_NAME])
def net_name(request):
    if request.param == TINY_NAME:
        request.getfixturevalue("tiny_registered")
    return request.param


def _perturb_bn(bn):
    """Non-trivial BN statistics and affine parameters (eval mode uses them)."""
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)


def _bn(x, bn):
    shape = (1, -1, 1, 1)
    return ((x - bn.running_mean.view(shape)) / torch.sqrt(bn.running_var.view(shape) + bn.eps)
            * bn.weight.view(shape) + bn.bias.view(shape))


def test_samf_equations_literal_form():
    torch.manual_seed(0)
    samf = SAMF(24, 8, form="literal").eval()
    bn = samf.add[1]
    _perturb_bn(bn)
    top, prior = torch.randn(2, 8, 6, 6), torch.randn(2, 24, 4, 4)
    # Eq. 1-6 written out with the module's weights
    p = F.interpolate(F.conv2d(prior, samf.align.weight, samf.align.bias), size=(6, 6), mode="bilinear",
                      align_corners=False)
    m_mul = torch.sigmoid(F.conv2d(p, samf.gate.weight, samf.gate.bias))
    conv = samf.add[0]
    m_add = F.relu(_bn(F.conv2d(p, conv.weight, conv.bias), bn))
    a, b = top[:, :4], top[:, 4:]
    b_mul = F.conv2d(a * m_mul, samf.mul_conv.weight, samf.mul_conv.bias, padding=1)
    b_add = F.conv2d(b + m_add, samf.add_conv.weight, samf.add_conv.bias)
    expected = F.conv2d(torch.cat([b_mul, b_add], 1) + top, samf.fuse.weight, samf.fuse.bias, padding=1)
    torch.testing.assert_close(samf(top, prior), expected, atol=1e-5, rtol=1e-5)
    assert samf.align.out_channels == 4  # aligned prior: C/2 channels
    n = sum(p.numel() for p in samf.parameters())
    assert n == (24 * 4 + 4) + 2 * (4 * 4 + 4) + 2 * 4 + (9 * 4 * 4 + 4) + (4 * 4 + 4) + (9 * 8 * 8 + 8)


def test_samf_equations_table1_form():
    """Two direct C/2 projections of F_dino (no shared P~), Eq. 4-6, then ReLU(BN(.)) on F_t+1."""
    torch.manual_seed(0)
    samf = SAMF(24, 8, form="table1").eval()
    bn_add, bn_out = samf.add_norm[0], samf.out_norm[0]
    _perturb_bn(bn_add)
    _perturb_bn(bn_out)
    top, prior = torch.randn(2, 8, 6, 6), torch.randn(2, 24, 4, 4)

    def up(t):
        return F.interpolate(t, size=(6, 6), mode="bilinear", align_corners=False)

    m_mul = torch.sigmoid(up(F.conv2d(prior, samf.gate.weight, samf.gate.bias)))
    m_add = F.relu(_bn(up(F.conv2d(prior, samf.add.weight, samf.add.bias)), bn_add))
    a, b = top[:, :4], top[:, 4:]
    b_mul = F.conv2d(a * m_mul, samf.mul_conv.weight, samf.mul_conv.bias, padding=1)
    b_add = F.conv2d(b + m_add, samf.add_conv.weight, samf.add_conv.bias)
    fused = F.conv2d(torch.cat([b_mul, b_add], 1) + top, samf.fuse.weight, samf.fuse.bias, padding=1)
    torch.testing.assert_close(samf(top, prior), F.relu(_bn(fused, bn_out)), atol=1e-5, rtol=1e-5)
    assert not hasattr(samf, "align") and samf.gate.in_channels == samf.add.in_channels == 24
    n = sum(p.numel() for p in samf.parameters())
    assert n == 2 * (24 * 4 + 4) + 2 * 4 + (9 * 4 * 4 + 4) + (4 * 4 + 4) + (9 * 8 * 8 + 8) + 2 * 8
    assert SAMF(24, 8).form == "table1"  # the default


def test_samf_form_by_name():
    assert set(SAMF_FORMS) == {"table1", "literal"}
    with pytest.raises(ConfigError, match="SAMF form"):
        SAMF(24, 8, form="eq16")
    assert "form='literal'" in repr(SAMF(24, 8, form="literal"))


@pytest.mark.parametrize("form", SAMF_FORMS)
def test_samf_shapes_and_gradients_for_every_network_top(net_name, form):
    net = create_model(net_name)
    c, s = net.top_channels, net.top_stride
    size = net.size_multiple * max(1, math.ceil(64 / net.size_multiple))
    h = w = max(1, size // s)
    samf = SAMF(32, c, form=form).train()
    top = torch.randn(2, c, h, w, requires_grad=True)
    prior = torch.randn(2, 32, math.ceil(size / 14), math.ceil(size / 14), requires_grad=True)
    out = samf(top, prior)
    assert out.shape == top.shape
    out.square().mean().backward()
    assert top.grad.abs().sum() > 0 and prior.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in samf.parameters())


def test_fusion_alternatives_and_odd_channels():
    top, prior = torch.randn(1, 6, 5, 5), torch.randn(1, 10, 3, 3)
    assert AddFusion(10, 6)(top, prior).shape == top.shape
    assert ConcatFusion(10, 6)(top, prior).shape == top.shape
    assert sum(p.numel() for p in AddFusion(1024, 64).parameters()) * 4 == 262400  # paper Table 3: +0.26 M
    with pytest.raises(ModelError, match="even"):
        SAMF(10, 7)
