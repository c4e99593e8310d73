"""DNA-Net and MSDA-Net: the SIRSTNet contract plus checks of their building blocks against slow references."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fdep.errors import ModelError
from fdep.models import Features, count_parameters, create_model, final_output, list_models
from fdep.models.networks.dnanet import _resize
from fdep.models.networks.msdanet import HaarAttention

NAMES = ["dnanet", "msdanet"]


def _net(name: str, in_chans: int = 1, seed: int = 0):
    torch.manual_seed(seed)
    return create_model(name, in_chans=in_chans)


@pytest.fixture(scope="module", params=NAMES)
def name(request) -> str:
    return request.param


def test_registered():
    assert set(NAMES) <= set(list_models())


@pytest.mark.parametrize("size", [(64, 64), (96, 160)])
def test_eval_output_shape(name, size):
    net = _net(name).eval()
    x = torch.randn(1, 1, *size)
    with torch.no_grad():
        out = net(x)
    assert isinstance(out, torch.Tensor)
    assert out.shape == (1, 1, *size)
    assert torch.isfinite(out).all()


def test_train_output_type(name):
    net = _net(name).train()
    out = net(torch.randn(2, 1, 64, 96))
    if net.deep_supervision:
        assert isinstance(out, list) and len(out) == 4
        assert all(o.shape == (2, 1, 64, 96) for o in out)
    else:
        assert isinstance(out, torch.Tensor) and out.shape == (2, 1, 64, 96)


def test_deep_supervision_final_last():
    """With BN frozen, the last training output is exactly the eval output."""
    net = _net("dnanet").eval()
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        ref = net(x)
        net.training = True  # only the top-level flag: decode returns the list, BN stays in eval
        outs = net(x)
    assert isinstance(outs, list) and len(outs) == 4
    assert torch.equal(outs[-1], ref)
    assert not torch.equal(outs[0], ref)


def test_backward_reaches_every_parameter(name):
    net = _net(name).train()
    out = net(torch.randn(2, 1, 64, 64))
    loss = sum(o.square().mean() for o in out) if isinstance(out, list) else out.square().mean()
    loss.backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    assert not missing, f"parameters unused in forward: {missing}"
    bad = [n for n, p in net.named_parameters() if not torch.isfinite(p.grad).all()]
    assert not bad
    assert any(p.grad.abs().sum() > 0 for p in net.parameters())


def test_encode_decode_equivalence_and_top_shape(name):
    net = _net(name).eval()
    x = torch.randn(1, 1, 96, 160)
    with torch.no_grad():
        feats = net.encode(x)
        assert isinstance(feats, Features)
        s = net.top_stride
        assert feats.top.shape == (1, net.top_channels, 96 // s, 160 // s)
        assert torch.equal(net(x), net.decode(feats))
        # A replaced top of the same shape changes the output: decode reads the deepest path through top.
        other = net.decode(feats.with_top(torch.randn_like(feats.top)))
    assert other.shape == (1, 1, 96, 160)
    assert not torch.allclose(other, net.decode(feats))


def test_skips_do_not_depend_on_top_branch(name):
    """Everything decode takes from the deepest path must come through ``top``, not the skips."""
    net = _net(name).train()
    feats = net.encode(torch.randn(1, 1, 64, 64))
    top_grads = torch.autograd.grad(feats.top.sum(), list(net.parameters()), allow_unused=True, retain_graph=True)
    top_only = {n for (n, _), g in zip(net.named_parameters(), top_grads) if g is not None}
    skip_sum = sum(s.sum() for s in feats.skips)
    skip_grads = torch.autograd.grad(skip_sum, list(net.parameters()), allow_unused=True)
    skip_used = {n for (n, _), g in zip(net.named_parameters(), skip_grads) if g is not None}
    # The modules that make only the deepest feature: none of them may feed a skip.
    prefixes = {"dnanet": ("conv4_0.",), "msdanet": ("fuse.", "open5.", "msda.4.", "reduce.")}[name]
    deepest = {n for n in top_only if n.startswith(prefixes)}
    assert deepest and all(any(n.startswith(p) for n in deepest) for p in prefixes)
    assert not deepest & skip_used


def test_param_count_matches_paper(name):
    net = _net(name)
    ours = count_parameters(net) / 1e6
    assert abs(ours - net.paper_params_m) / net.paper_params_m <= 0.02, (ours, net.paper_params_m)


def test_three_channel_input(name):
    net = _net(name, in_chans=3).eval()
    with torch.no_grad():
        out = final_output(net(torch.randn(1, 3, 64, 64)))
    assert out.shape == (1, 1, 64, 64)


@pytest.mark.parametrize("size", [(48, 64), (64, 80), (65, 64)])
def test_non_multiple_of_32_raises(name, size):
    net = _net(name).eval()
    with pytest.raises(ModelError, match="multiples of 32"):
        net(torch.randn(1, 1, *size))


def test_wrong_channel_count_raises(name):
    with pytest.raises(ModelError, match="input channel"):
        _net(name).eval()(torch.randn(1, 3, 64, 64))


def test_eval_deterministic(name):
    net = _net(name).eval()
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        assert torch.equal(net(x), net(x))


# --- MSDA-Net building blocks against slow references -------------------------------------------------------------


def test_msda_gray_input_is_replicated():
    """in_chans=1 is the 3-channel design fed a replicated image (same weights, same output)."""
    gray, rgb = _net("msdanet", 1).eval(), _net("msdanet", 3).eval()
    rgb.load_state_dict(gray.state_dict())
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        assert torch.allclose(gray(x), rgb(x.repeat(1, 3, 1, 1)), atol=1e-6)


def test_msda_too_many_channels_raises():
    with pytest.raises(ModelError, match="Haar bands"):
        create_model("msdanet", in_chans=11)


def test_haar_bands_match_block_formulas():
    """LH/HL/HH of each 2x2 block [[a, b], [c, d]]: (a+b-c-d)/2, (a-b+c-d)/2, (a-b-c+d)/2, band-major."""
    net = _net("msdanet", 3)
    x = torch.randn(2, 3, 8, 12)
    a, b, c, d = x[..., 0::2, 0::2], x[..., 0::2, 1::2], x[..., 1::2, 0::2], x[..., 1::2, 1::2]
    expected = torch.cat([(a + b - c - d) / 2, (a - b + c - d) / 2, (a - b - c + d) / 2], dim=1)
    assert torch.allclose(net.haar_bands(x), expected, atol=1e-6)


def test_haar_attention_matches_per_direction_loop():
    """The grouped implementation equals four separate filter + spatial-attention passes."""
    torch.manual_seed(1)
    mod = HaarAttention(6).eval()
    x = torch.randn(2, 6, 10, 14)
    filters = [
        torch.tensor([[0.5, 0.5], [0.5, 0.5]]),
        torch.tensor([[0.5, 0.5], [-0.5, -0.5]]),
        torch.tensor([[0.5, -0.5], [0.5, -0.5]]),
        torch.tensor([[0.5, -0.5], [-0.5, 0.5]]),
    ]
    xp = F.pad(x, (1, 0, 1, 0))  # one pixel on the top and left
    acc = torch.zeros_like(x)
    for k, f in enumerate(filters):
        band = torch.zeros_like(x)
        for i in range(2):
            for j in range(2):
                band += f[i, j] * xp[..., i : i + 10, j : j + 14]
        stats = torch.cat([band.amax(1, keepdim=True), band.mean(1, keepdim=True)], 1)
        w = mod.spatial.weight[k : k + 1]
        att = torch.sigmoid(F.conv2d(stats, w, mod.spatial.bias[k : k + 1], padding=3))
        acc = acc + x * att
    expected = F.relu(x + mod.refine(acc))
    with torch.no_grad():
        assert torch.allclose(mod(x), expected, atol=1e-5)


# --- DNA-Net building blocks --------------------------------------------------------------------------------------


@pytest.mark.parametrize("factor", [2.0, 0.5, 16.0])
def test_dna_resize_equals_fixed_factor_upsample(factor):
    x = torch.randn(1, 3, 8, 16)
    ref = nn.Upsample(scale_factor=factor, mode="bilinear", align_corners=True)(x)
    like = torch.empty(1, 1, *ref.shape[-2:])
    assert torch.allclose(_resize(x, like), ref, atol=1e-6)


def test_dna_nested_widths():
    """Five levels 16..256 channels at strides 1..16 and two Res-CBAM blocks per level below the top row."""
    net = _net("dnanet").eval()
    feats = net.encode(torch.randn(1, 1, 64, 64))
    x0_0, x0_1, x0_2, x0_3, x1_0, x1_1, x1_2, x2_0, x2_1, x3_0 = feats.skips
    assert [t.shape[1] for t in (x0_0, x1_0, x2_0, x3_0, feats.top)] == [16, 32, 64, 128, 256]
    assert [t.shape[-1] for t in (x0_0, x1_0, x2_0, x3_0, feats.top)] == [64, 32, 16, 8, 4]
    assert len(net.conv1_0) == len(net.conv3_1) == 2 and len(net.conv0_1) == 1
