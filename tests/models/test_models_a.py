"""ACM, ALCNet, MLCL-Net, ALCL-Net and GGL-Net: the model contract, shapes and published sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from fdep.errors import ModelError
from fdep.models import Features, SIRSTNet, count_parameters, create_model, list_models
from fdep.models.blocks.layers import PooledBatchNorm2d
from fdep.models.blocks.local_contrast import gradient_magnitude

NAMES = ["acm", "alcnet", "mlclnet", "alclnet", "gglnet"]
# (top channels, top stride, paper parameters in millions): SPEC.md section 3
EXPECTED = {
    "acm": (64, 16, 0.40),
    "alcnet": (64, 16, 0.43),
    "mlclnet": (64, 4, 0.66),
    "alclnet": (256, 16, 5.67),
    "gglnet": (256, 16, 8.99),
}


def build(name: str, **kw) -> SIRSTNet:
    torch.manual_seed(0)
    return create_model(name, **kw)


@pytest.mark.parametrize("name", NAMES)
def test_registered_with_contract_attributes(name):
    assert name in list_models()
    net = build(name)
    assert isinstance(net, SIRSTNet)
    assert net.model_name == name
    channels, stride, paper = EXPECTED[name]
    assert (net.top_channels, net.top_stride, net.paper_params_m) == (channels, stride, paper)
    assert net.deep_supervision is False
    assert net.size_multiple == 32


@pytest.mark.parametrize("name", NAMES)
def test_parameter_count_within_two_percent_of_paper(name):
    net = build(name)
    params_m = count_parameters(net) / 1e6
    assert abs(params_m - net.paper_params_m) / net.paper_params_m < 0.02, params_m


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [(64, 64), (96, 160)])
def test_eval_forward_shape_and_top_shape(name, size):
    net = build(name).eval()
    x = torch.randn(1, 1, *size)
    with torch.no_grad():
        out = net(x)
        feats = net.encode(x)
    assert isinstance(out, torch.Tensor) and out.shape == (1, 1, *size)
    assert torch.isfinite(out).all()
    h, w = size
    assert isinstance(feats, Features)
    assert feats.top.shape == (1, net.top_channels, h // net.top_stride, w // net.top_stride)


@pytest.mark.parametrize("name", NAMES)
def test_forward_equals_decode_of_encode_and_is_deterministic(name):
    net = build(name).eval()
    x = torch.randn(2, 1, 64, 96)
    with torch.no_grad():
        a = net(x)
        b = net.decode(net.encode(x))
        c = net(x)
    assert torch.equal(a, b)
    assert torch.equal(a, c)


@pytest.mark.parametrize("name", NAMES)
def test_decode_uses_top_and_accepts_a_replacement(name):
    """FDEP swaps features.top for a same-shape tensor: the output must depend on it, and only shapes matter."""
    net = build(name).eval()
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        feats = net.encode(x)
        assert all(s is not feats.top for s in feats.skips)
        base = net.decode(feats)
        other = net.decode(feats.with_top(torch.randn_like(feats.top)))
    assert other.shape == base.shape
    assert not torch.allclose(base, other)
    with pytest.raises(ModelError):
        feats.with_top(torch.zeros(1, net.top_channels + 1, *feats.top.shape[-2:]))


@pytest.mark.parametrize("name", NAMES)
def test_backward_reaches_every_parameter_with_finite_gradients(name):
    net = build(name).train()
    x = torch.randn(2, 1, 64, 64)
    out = net(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 1, 64, 64)
    (out * torch.randn_like(out)).sum().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    assert not missing, f"parameters unused in forward: {missing[:5]}"
    bad = [n for n, p in net.named_parameters() if not torch.isfinite(p.grad).all()]
    assert not bad
    assert any(p.grad.abs().sum() > 0 for p in net.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_train_mode_batch_of_one_returns_a_tensor(name):
    """Training with a single image must work (global-pooled BatchNorm included)."""
    net = build(name).train()
    out = net(torch.randn(1, 1, 32, 64))
    assert isinstance(out, torch.Tensor) and out.shape == (1, 1, 32, 64)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", NAMES)
def test_three_channel_input(name):
    net = build(name, in_chans=3).eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 1, 64, 64)
    with pytest.raises(ModelError, match="3 input channel"):
        net(torch.randn(1, 1, 64, 64))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [(64, 48), (50, 64)])
def test_size_not_multiple_of_32_is_a_model_error(name, size):
    net = build(name).eval()
    with pytest.raises(ModelError, match="multiples of 32"):
        net(torch.randn(1, 1, *size))


# --- independent parameter-count arithmetic from the published layer lists --------------------


def conv(k: int, cin: int, cout: int, bias: bool = True) -> int:
    return k * k * cin * cout + (cout if bias else 0)


def bn(c: int) -> int:
    return 2 * c


def acm_family(in_chans: int, blocks: int, decoder: str) -> int:
    def basic(cin, cout, stride):
        n = conv(3, cin, cout, False) + bn(cout) + conv(3, cout, cout, False) + bn(cout)
        return n + (conv(1, cin, cout, False) + bn(cout) if stride != 1 or cin != cout else 0)

    def stage(cin, cout, stride):
        return basic(cin, cout, stride) + (blocks - 1) * basic(cout, cout, 1)

    def fuse(c):  # GroupNorm (authors) and BatchNorm (original) both have 2 parameters per channel
        gate = conv(1, c, c // 4) + bn(c // 4) + conv(1, c // 4, c) + bn(c)
        return 2 * gate + conv(3, c, c) + bn(c)

    def fcn(c):
        return conv(3, c, c // 4, False) + bn(c // 4) + conv(1, c // 4, 1)

    def convt(cin, cout):
        return 16 * cin * cout + cout

    # the authors' (default) input BN is affine: 2 per input channel
    stem = bn(in_chans) + conv(3, in_chans, 8, False) + bn(8) + conv(3, 8, 8, False) + bn(8)
    stem += conv(3, 8, 16, False) + bn(16)
    enc = stem + stage(16, 16, 1) + stage(16, 32, 2) + stage(32, 64, 2)
    if decoder == "unet":  # ACM: deconv + fuse + 3 blocks, twice; FCN head on 16 ch
        return enc + convt(64, 32) + fuse(32) + stage(32, 32, 1) + convt(32, 16) + fuse(16) + stage(16, 16, 1) + fcn(16)
    # ALCNet (FPN): deconv + fuse twice, a third deconv to 8 ch, FCN head on 8 ch
    return enc + convt(64, 32) + fuse(32) + convt(32, 16) + fuse(16) + convt(16, 8) + fcn(8)


def lcl_family(in_chans: int, name: str) -> int:
    def convbn(cin, cout):
        return conv(3, cin, cout) + bn(cout)

    def se(c):
        return 2 * c * (c // 4)

    def res(c, with_se):
        return 2 * convbn(c, c) + (se(c) if with_se else 0)

    def stage(cin, cout, down, with_se):
        first = 2 * convbn(cin, cout) + convbn(cout, cout) if down else res(cout, False)
        return first + 2 * res(cout, with_se)

    stem = convbn(in_chans, 16) + convbn(16, 16)
    if name == "mlclnet":
        widths = (16, 32, 64)
        enc = stem + sum(stage(w // 2 if i else w, w, i > 0, False) for i, w in enumerate(widths))
        mlcl = sum(
            conv(1, c, c)
            + conv(3, c, c)
            + conv(3, c, c)
            + conv(3, c, c)
            + conv(5, c, c)
            + conv(3, c, c)
            + conv(1, 3 * c, c)
            for c in widths
        )
        return enc + mlcl + sum(conv(1, c, 64) for c in widths) + conv(1, 64, 64) + conv(1, 64, 1)
    widths = (16, 32, 64, 128, 256)
    ggl = name == "gglnet"
    enc = stem + sum(stage(w // 2 if i else w, w, i > 0, ggl) for i, w in enumerate(widths))
    if ggl:
        enc += sum(convbn(in_chans, c) + se(c) + convbn(c, c) + convbn(2 * c, c) + se(c) + convbn(c, c) for c in widths)
    lcl = sum(conv(1, c, c) + conv(3, c, c) for c in widths)
    pairs = list(zip(widths[1:], widths[:-1]))
    if ggl:  # up-projection + CBAM channel (r=8, no bias) and 7x7 spatial attention
        sbam = sum(conv(1, h, lo) + bn(lo) + 2 * lo * (lo // 8) + conv(7, 2, 1) for h, lo in pairs)
    else:  # up-projection + 1x1 conv-BN sigmoid gate
        sbam = sum(conv(1, h, lo) + bn(lo) + conv(1, lo, lo) + bn(lo) for h, lo in pairs)
    return enc + lcl + sbam + conv(1, 16, 16) + conv(1, 16, 1)


@pytest.mark.parametrize("in_chans", [1, 3])
@pytest.mark.parametrize("name", NAMES)
def test_parameter_count_matches_layer_arithmetic(name, in_chans):
    if name == "acm":
        expected = acm_family(in_chans, 3, "unet")
    elif name == "alcnet":
        expected = acm_family(in_chans, 4, "fpn")
    else:
        expected = lcl_family(in_chans, name)
    assert count_parameters(build(name, in_chans=in_chans)) == expected


# --- blocks ----------------------------------------------------------------------------------


def test_gradient_magnitude_matches_a_numpy_loop():
    rng = np.random.default_rng(0)
    img = rng.normal(size=(2, 3, 5, 7))
    padded = np.pad(img, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.empty_like(img)
    for i in range(5):
        for j in range(7):
            dx = (padded[:, :, i + 1, j + 2] - padded[:, :, i + 1, j]) / 2
            dy = (padded[:, :, i, j + 1] - padded[:, :, i + 2, j + 1]) / 2
            expected[:, :, i, j] = np.sqrt(dx**2 + dy**2)
    got = gradient_magnitude(torch.from_numpy(img)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_gradient_magnitude_of_a_ramp():
    x = torch.arange(6.0).repeat(4, 1)[None, None]  # value = column index
    g = gradient_magnitude(x)[0, 0]
    assert torch.allclose(g[1:-1, 1:-1], torch.ones(2, 4))  # interior: (j+1 - (j-1)) / 2 = 1


def test_pooled_batchnorm_matches_batchnorm_and_handles_one_value():
    torch.manual_seed(0)
    ref, ours = nn.BatchNorm2d(4), PooledBatchNorm2d(4)
    with torch.no_grad():
        for m in (ref, ours):
            m.weight.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
            m.bias.copy_(torch.tensor([0.5, -0.5, 1.0, 0.0]))
    x = torch.randn(3, 4, 1, 1)
    assert torch.allclose(ref(x), ours(x))
    assert torch.allclose(ref.running_mean, ours.running_mean)
    one = torch.randn(1, 4, 1, 1, requires_grad=True)
    y = ours(one)
    assert torch.allclose(y.detach().flatten(), ours.bias.detach())  # MXNet semantics: mean = x, var = 0
    y.sum().backward()
    assert torch.isfinite(one.grad).all() and ours.weight.grad is not None
    ours.eval()
    assert torch.allclose(ours(one), ref.eval()(one))
