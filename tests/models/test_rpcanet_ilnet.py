"""RPCANet and ILNet-L beyond the generic zoo suite: exact parameter arithmetic of the published
designs, RPCANet's unfolded recurrence and reconstruction term, ILNet's DODA/IPOF/output-BN facts,
and ONNX export (slow).

Equality with the authors' code (weights transferred from their randomised networks) is checked
outside the repository; docs/equality.md gives the numbers.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from fdep.errors import ModelError
from fdep.losses import build_loss
from fdep.models import count_parameters, create_model
from fdep.models.networks.ilnet import DODA, IPOF, doda_kernel_and_repeats


def _x(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _conv(k: int, cin: int, cout: int, bias: bool = True) -> int:
    return k * k * cin * cout + (cout if bias else 0)


# ------------------------------------------------------------------------------------------ RPCANet


def rpcanet_params(stages: int = 6, c: int = 32) -> int:
    """f_B and f_D: conv-BN-ReLU x (1 + 3) then conv to 1; f_T: conv-ReLU x (1 + 6), conv to 1, step."""
    bn_stack = _conv(3, 1, c) + 2 * c + 3 * (_conv(3, c, c) + 2 * c) + _conv(3, c, 1)
    target = _conv(3, 1, c) + 6 * _conv(3, c, c) + _conv(3, c, 1) + 1
    return stages * (2 * bn_stack + target)


@pytest.mark.parametrize("in_chans", [1, 3])
def test_rpcanet_parameter_count(in_chans):
    assert rpcanet_params() == 679_896  # 0.68 M (Table S3)
    assert count_parameters(create_model("rpcanet", in_chans=in_chans)) == rpcanet_params()
    assert count_parameters(create_model("rpcanet", stages=2, channels=8)) == rpcanet_params(2, 8)


def _unrolled(net, image):
    """The published recurrence written out with the network's sub-modules (T_0 = 0)."""
    d, t = image, torch.zeros_like(image)
    for stage in net.stages:
        x = d - t
        b = x + stage.background.body(x)
        x = t + d - b
        t = x - stage.target.step * stage.target.out(stage.target.features(x))
        d = stage.reconstruction.body(b + t)
    return d, t


def test_rpcanet_is_the_unfolded_recurrence():
    torch.manual_seed(0)
    net = create_model("rpcanet").eval()
    with torch.no_grad():
        for stage in net.stages:  # distinct learned step sizes
            stage.target.step.uniform_(0.5, 1.5)
        x = _x(2, 1, 32, 64)
        d_ref, t_ref = _unrolled(net, x)
        torch.testing.assert_close(net(x), t_ref, rtol=0, atol=0)
        d, t = net.decompose(x)
        torch.testing.assert_close((d, t), (d_ref, t_ref), rtol=0, atol=0)


def test_rpcanet_training_output_and_reconstruction_term():
    torch.manual_seed(0)
    net = create_model("rpcanet").train()
    x = _x(2, 1, 32, 32)
    torch.manual_seed(1)
    out = net(x)
    assert isinstance(out, list) and len(out) == 2
    aux, t = out
    assert aux.dim() == 0 and t.shape == (2, 1, 32, 32)
    d, t2 = net.decompose(x)
    torch.testing.assert_close(t2, t)
    torch.testing.assert_close(aux, 0.01 * F.mse_loss(d, x))
    # the loss path adds the 0-dim term as it is; every parameter, the last reconstruction's included, learns
    target = (_x(2, 1, 32, 32, seed=2) > 1.5).float()
    loss = build_loss("softiou")(out, target)
    torch.testing.assert_close(loss, build_loss("softiou")(t, target) + aux)
    loss.backward()
    assert all(p.grad is not None for p in net.stages[-1].reconstruction.parameters())


def test_rpcanet_without_reconstruction_term():
    torch.manual_seed(0)
    net = create_model("rpcanet", stages=2, recon_weight=0.0).train()
    out = net(_x(2, 1, 32, 32))
    assert isinstance(out, list) and len(out) == 1 and out[0].shape == (2, 1, 32, 32)
    out[0].sum().backward()
    assert all(p.grad is None for p in net.stages[-1].reconstruction.parameters())


def test_rpcanet_three_channels_decompose_their_mean():
    """in_chans=3 is the 1-channel design on the channel mean: a replicated image gives the image's output."""
    torch.manual_seed(0)
    one = create_model("rpcanet", stages=2).eval()
    three = create_model("rpcanet", in_chans=3, stages=2).eval()
    three.load_state_dict(one.state_dict())
    x = _x(1, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(three(x.repeat(1, 3, 1, 1)), one(x), rtol=1e-4, atol=1e-5)
        y = _x(1, 3, 32, 32, seed=1)
        torch.testing.assert_close(three(y), one(y.mean(1, keepdim=True)), rtol=0, atol=0)


@pytest.mark.parametrize("kwargs", [{"stages": 0}, {"channels": 0}, {"recon_weight": -1.0}])
def test_rpcanet_bad_arguments(kwargs):
    with pytest.raises(ModelError, match="rpcanet"):
        create_model("rpcanet", **kwargs)


def test_rpcanet_non_default_arguments_survive_export_light():
    from fdep.models.pretrained import model_kwargs

    net = create_model("rpcanet", stages=2, channels=8)
    assert model_kwargs(net) == {"stages": 2, "channels": 8, "recon_weight": 0.01}
    assert net.top_channels == 8


# ------------------------------------------------------------------------------------------ ILNet


def _cbr(cin: int, cout: int) -> int:
    return _conv(3, cin, cout, bias=False) + 2 * cout


def _rsu(height: int, cin: int, mid: int, cout: int) -> int:
    enc = _cbr(cout, mid) + (height - 2) * _cbr(mid, mid)
    dec = (height - 2) * _cbr(2 * mid, mid) + _cbr(2 * mid, cout)
    return _cbr(cin, cout) + enc + _cbr(mid, mid) + dec


def _rsuf(cin: int, mid: int, cout: int) -> int:
    return _cbr(cin, cout) + _cbr(cout, mid) + 3 * _cbr(mid, mid) + 2 * _cbr(2 * mid, mid) + _cbr(2 * mid, cout)


def _ipof(c: int) -> int:
    i = c // 2
    pw = _conv(1, c, i, False) + 2 * i + _conv(1, i, i, False) + 2 * i
    gate = _conv(1, c, i, False) + 2 * i + _conv(1, i, 1, False) + 2
    excite = _conv(1, i, i // 4) + 2 * (i // 4) + _conv(1, i // 4, c) + 2 * c
    k, _ = doda_kernel_and_repeats(i)
    return gate + 3 * pw + excite + k + _conv(3, c, 2 * c) + 4 * c


def ilnet_params(in_chans: int) -> int:
    enc = (_rsu(7, in_chans, 16, 64) + _rsu(6, 64, 16, 64) + _rsu(5, 64, 32, 64) + _rsu(4, 64, 32, 128)
           + _rsuf(128, 32, 128) + _rsuf(128, 64, 128))
    dec = (_rsuf(256, 64, 128) + _rsu(4, 256, 32, 64) + _rsu(5, 128, 32, 64) + _rsu(6, 128, 16, 64)
           + _rsu(7, 128, 16, 64))
    fusions = 2 * _ipof(128) + 3 * _ipof(64)
    sides = _conv(3, 128, 1) * 2 + 4 * _conv(3, 64, 1)
    return enc + dec + fusions + sides + _conv(1, 6, 1)


@pytest.mark.parametrize("in_chans", [1, 3])
def test_ilnet_parameter_count(in_chans):
    assert ilnet_params(3) + 2 == 4_039_792  # the reference's count (its output BN's 2 included): 4.04 M
    assert count_parameters(create_model("ilnet", in_chans=in_chans)) == ilnet_params(in_chans)


@pytest.mark.parametrize(
    ("channels", "kernel", "repeats"), [(16, 3, 2), (32, 3, 2), (64, 3, 2), (128, 5, 3), (256, 5, 3)]
)
def test_doda_kernel_size_and_repeats(channels, kernel, repeats):
    # k = |(log2 C + 1) / 2| made odd; the conv runs 1 + ceil(1 + (log2 C - 2) / 4) times
    assert doda_kernel_and_repeats(channels) == (kernel, repeats)
    assert DODA(channels).conv.kernel_size == (kernel,)


def test_doda_forward_is_the_repeated_1d_conv():
    torch.manual_seed(0)
    doda = DODA(32)
    x = _x(2, 32, 1, 1)
    h = x.view(2, 1, 32)
    for _ in range(1 + doda.repeats):
        h = F.conv1d(h, doda.conv.weight, padding=doda.conv.padding[0])
    torch.testing.assert_close(doda(x), x + torch.sigmoid(h).view(2, 32, 1, 1))


def test_ipof_branches_are_orthogonal_gates():
    """The channel branch re-weights the skip by one factor per channel, the spatial branch the deep map by
    one factor per pixel (from a layer-normalised map); the output has twice the channels."""
    torch.manual_seed(0)
    ipof = IPOF(16).eval()
    e, d = _x(2, 16, 8, 8, seed=1), _x(2, 16, 8, 8, seed=2)
    with torch.no_grad():
        ch = ipof.channel_branch(e, d) / d
        sp = ipof.spatial_branch(e, d) / e
        out = ipof(e, d)
    torch.testing.assert_close(ch, ch[..., :1, :1].expand_as(ch))  # constant over space
    torch.testing.assert_close(sp, sp[:, :1].expand_as(sp))  # constant over channels
    assert ((ch > 0) & (ch < 1)).all() and ((sp > 0) & (sp < 1)).all()
    logits = torch.logit(sp[:, :1])
    torch.testing.assert_close(logits.mean(dim=(2, 3)), torch.zeros(2, 1), atol=1e-4, rtol=0)
    assert out.shape == (2, 32, 8, 8)


def test_ilnet_output_batchnorm_is_fixed_and_eval_only():
    """The reference's output BN never trains (it runs only in eval): buffers, applied to the fused map in eval."""
    torch.manual_seed(0)
    net = create_model("ilnet")
    assert not list(net.out_norm.parameters())
    buffers = {"out_norm.weight", "out_norm.bias", "out_norm.running_mean", "out_norm.running_var"}
    assert buffers <= set(net.state_dict())
    with torch.no_grad():
        net.out_norm.weight.fill_(2.0), net.out_norm.bias.fill_(0.5)
        net.out_norm.running_mean.fill_(0.1), net.out_norm.running_var.fill_(4.0)
    fused = []
    net.fuse.register_forward_hook(lambda m, i, o: fused.append(o))
    net.eval()
    with torch.no_grad():
        y = net(_x(1, 1, 64, 64))
    torch.testing.assert_close(y, (fused[0] - 0.1) / math.sqrt(4.0 + 1e-5) * 2.0 + 0.5)
    net.train()
    out = net(_x(2, 1, 64, 64))
    assert len(out) == 7 and out[-1] is fused[-1]  # training: six side maps, the raw fused map last


def test_ilnet_side_of_the_top_feature_is_last_before_the_fused_map():
    torch.manual_seed(0)
    net = create_model("ilnet").train()
    x = _x(2, 1, 64, 64)
    with torch.no_grad():
        f = net.encode(x)
        torch.manual_seed(0)
        a = net.decode(f)
        b = net.decode(f.with_top(f.top + 1.0))
    torch.testing.assert_close(a[5], F.interpolate(net.sides[5](f.top), size=(64, 64), mode="bilinear"))
    assert all(not torch.allclose(u, v) for u, v in zip(a, b))  # every output depends on top


# ------------------------------------------------------------------------------------------ ONNX


@pytest.mark.slow
@pytest.mark.parametrize(("name", "kwargs"), [("rpcanet", {"stages": 2}), ("ilnet", {})])
def test_onnx_export(name, kwargs, tmp_path):
    """Both export with the default exporter (dynamo, dynamic N/H/W) and match PyTorch (ILNet: not with the
    legacy exporter, whose layer norm over the dynamic spatial size fails)."""
    pytest.importorskip("onnxruntime")
    from fdep.tools.export import export_onnx

    torch.manual_seed(0)
    net = create_model(name, **kwargs).eval()
    meta = dict(model=name, variant="original", in_chans=1, mean=0.0, std=1.0, size_multiple=32)
    summary = export_onnx(net, meta, tmp_path / f"{name}.onnx")
    assert summary["exporter"] == "dynamo" and summary["max_abs_error"] < 1e-3
