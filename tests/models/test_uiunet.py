"""UIU-Net against hand-computed facts of the published design (Wu et al., IEEE TIP 2023)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fdep.models import count_parameters, create_model
from fdep.models.blocks.rsu import RSU, RSUF, InteractiveCrossAttentionFusion


def conv3(cin: int, cout: int) -> int:
    """3x3 conv with bias + BatchNorm (weight, bias)."""
    return 9 * cin * cout + cout + 2 * cout


def rsu_params(height: int, cin: int, mid: int, cout: int) -> int:
    """RSU-L: input conv, L-1 encoder convs, dilated bottom, L-1 decoder convs on concatenations."""
    enc = conv3(cout, mid) + (height - 2) * conv3(mid, mid)
    dec = (height - 2) * conv3(2 * mid, mid) + conv3(2 * mid, cout)
    return conv3(cin, cout) + enc + conv3(mid, mid) + dec


def rsu4f_params(cin: int, mid: int, cout: int) -> int:
    # same conv layout as RSU-4, dilations instead of pooling
    return rsu_params(4, cin, mid, cout)


def ica_params(c: int, r: int = 4) -> int:
    """IC-A: 1x1 projection+BN, channel attention (2 1x1 convs + BN), bottom-up 1x1+BN + 3x3 spatial conv, post."""
    m = c // r
    proj = c * c + c + 2 * c
    topdown = (c * m + m + 2 * m) + (m * c + c + 2 * c)
    bottomup = (c * m + m + 2 * m) + 2 * 9
    return proj + topdown + bottomup + conv3(c, c)


def uiunet_params(in_ch: int) -> int:
    enc = (
        rsu_params(7, in_ch, 32, 64)
        + rsu_params(6, 64, 32, 128)
        + rsu_params(5, 128, 64, 256)
        + rsu_params(4, 256, 128, 512)
        + 2 * rsu4f_params(512, 256, 512)
    )
    dec = (
        rsu4f_params(1024, 256, 512)
        + rsu_params(4, 1024, 128, 256)
        + rsu_params(5, 512, 64, 128)
        + rsu_params(6, 256, 32, 64)
        + rsu_params(7, 128, 16, 64)
    )
    fuse = 2 * ica_params(512) + ica_params(256) + ica_params(128)
    sides = sum(9 * c + 1 for c in (64, 64, 128, 256, 512, 512)) + 6 + 1
    return enc + dec + fuse + sides


@pytest.mark.parametrize("in_ch", [1, 3])
def test_parameter_count_matches_hand_computed_design(in_ch):
    with torch.device("meta"):
        m = create_model("uiunet", in_chans=in_ch)
    assert count_parameters(m) == uiunet_params(in_ch)
    # the paper's 50.54M is this design with one input channel
    if in_ch == 1:
        assert round(count_parameters(m) / 1e6, 2) == 50.54


@pytest.mark.parametrize(("height", "cin", "mid", "cout"), [(7, 3, 4, 6), (5, 6, 5, 4), (4, 2, 3, 3)])
def test_rsu_blocks(height, cin, mid, cout):
    b = RSU(height, cin, mid, cout)
    assert count_parameters(b) == rsu_params(height, cin, mid, cout)
    x = torch.randn(2, cin, 32, 64)
    assert b(x).shape == (2, cout, 32, 64)


def test_rsu4f_dilations_and_shape():
    b = RSUF(5, 3, 4)
    dil = [b.conv_in[0].dilation[0], *(c[0].dilation[0] for c in b.enc), b.bottom[0].dilation[0]]
    dil += [c[0].dilation[0] for c in b.dec]
    assert dil == [1, 1, 2, 4, 8, 4, 2, 1]
    assert b(torch.randn(1, 5, 8, 8)).shape == (1, 4, 8, 8)


@pytest.mark.parametrize("norm", ["group", "batch"])
def test_interactive_cross_attention_matches_functional_reference(norm):
    """The fusion's two outputs, recomputed step by step from its weights (eval mode).

    "group" (default, the authors' PyTorch code in PAL): GroupNorm with one group;
    "batch" (the UIU-Net release): BatchNorm with its running statistics.
    """
    torch.manual_seed(0)
    fuse = InteractiveCrossAttentionFusion(12, 8, r=4, norm=norm)
    for mod in fuse.modules():  # non-trivial normalisation state
        if isinstance(mod, (torch.nn.BatchNorm2d, torch.nn.GroupNorm)):
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
    fuse.eval()
    high, low = torch.randn(2, 12, 6, 6), torch.randn(2, 8, 6, 6)

    def bn(t, m):
        if norm == "group":
            assert isinstance(m, torch.nn.GroupNorm) and m.num_groups == 1
            mu = t.mean(dim=(1, 2, 3), keepdim=True)
            var = t.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
            return (t - mu) / torch.sqrt(var + m.eps) * m.weight.view(1, -1, 1, 1) + m.bias.view(1, -1, 1, 1)
        return F.batch_norm(t, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, m.eps)

    def conv(t, m):
        return F.conv2d(t, m.weight, m.bias, padding=m.padding)

    p = fuse.proj_high
    xh = F.relu(bn(conv(high, p[0]), p[1]))
    td = fuse.topdown
    g = xh.mean((2, 3), keepdim=True)
    w_ch = torch.sigmoid(bn(conv(F.relu(bn(conv(g, td[1]), td[2])), td[4]), td[5]))
    bu = fuse.bottomup
    z = F.relu(bn(conv(low * w_ch, bu[0]), bu[1]))
    sa = bu[3].conv
    stats = torch.cat((z.mean(1, keepdim=True), z.amax(1, keepdim=True)), 1)
    w_sp = torch.sigmoid(F.conv2d(stats, sa.weight, None, padding=1))
    post = fuse.post

    def post_fn(t):
        return F.relu(bn(conv(t, post[0]), post[1]))

    want1, want2 = post_fn(2 * low * w_ch), post_fn(2 * xh * w_sp)
    with torch.no_grad():
        got1, got2 = fuse(high, low)
    torch.testing.assert_close(got1, want1)
    torch.testing.assert_close(got2, want2)


@pytest.fixture(scope="module")
def uiunet():
    torch.manual_seed(0)
    return create_model("uiunet")


def test_side_outputs_order_and_fusion(uiunet):
    """Training output: side1 (stride 1) ... side6 (from top), then the fused map = 1x1 conv of the six."""
    uiunet.train()
    x = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        f = uiunet.encode(x)
        outs = uiunet.decode(f)
        assert len(outs) == 7
        side6 = F.interpolate(uiunet.side[5](f.top), size=(64, 64), mode="bilinear", align_corners=False)
        torch.testing.assert_close(outs[5], side6)
        torch.testing.assert_close(outs[6], uiunet.out_fuse(torch.cat(outs[:6], 1)))
        # side1 is the head on the full-resolution (stride-1) decoder map
        assert all(o.shape == (2, 1, 64, 64) for o in outs)
        # encoder skips: strides 1..16 with the published widths
        widths = [(64, 64, 64), (128, 32, 32), (256, 16, 16), (512, 8, 8), (512, 4, 4)]
        assert [tuple(s.shape[1:]) for s in f.skips] == widths


def test_training_with_a_single_sample_works(uiunet):
    """The pooled BatchNorm of IC-A trains at batch 1 (bias output, as MXNet computes), no error."""
    uiunet.train()
    outs = uiunet(torch.randn(1, 1, 64, 64))
    assert len(outs) == 7 and all(torch.isfinite(o).all() for o in outs)
