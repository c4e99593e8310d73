"""SCTransNet, SDSNet and MTU-Net: facts of the published designs and their building blocks.

The generic contract (shapes, gradients, top replacement, ...) is tested for every network in
test_zoo.py; equality with the authors' code, weight for weight, is checked by
benchmarks/compare_with_references.py (it needs the reference files, which are not in the repo).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from fdep.errors import ModelError
from fdep.models import count_parameters, create_model
from fdep.models.blocks.transformer_unet import ChannelLayerNorm, channel_attention
from fdep.models.networks.mtunet import MAX_TOKENS, LevelViT, TransformerBlock
from fdep.models.networks.sdsnet import ADSF, _eca_kernel

NAMES = ["sctransnet", "sdsnet", "mtunet"]

# Parameter counts with 3 input channels (the paper's setting): ours equal the reference's total
# (sum of numel over its parameters) minus the parameters its forward never uses, measured with
# benchmarks/compare_with_references.py: SCTransNet 11,326,579, SDSNet 2,505,335, MTU-Net 12,750,610.
COUNTS_3CH = {"sctransnet": 11_203_635, "sdsnet": 2_503_543, "mtunet": 9_270_289}
REFERENCE_TOTALS = {"sctransnet": 11_326_579, "sdsnet": 2_505_335, "mtunet": 12_750_610}


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    return {n: create_model(n) for n in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_parameter_counts(name):
    with torch.device("meta"):
        m3 = create_model(name, in_chans=3)
        m1 = create_model(name, in_chans=1)
    assert count_parameters(m3) == COUNTS_3CH[name]
    assert count_parameters(m3) + m3.paper_unused_params == REFERENCE_TOTALS[name]
    # the paper's figure is the reference's total (SDSNet: 2.505 M against a published 2.55 M)
    assert abs(REFERENCE_TOTALS[name] / 1e6 - m3.paper_params_m) <= 0.02 * m3.paper_params_m
    # the input width only changes the first residual block: two 3x3 convs' weights and a 1x1 shortcut
    assert count_parameters(m3) - count_parameters(m1) == 2 * (9 + 1) * {"mtunet": 16}.get(name, 32)


def _leaky_res(cin: int, cout: int) -> int:
    """conv3x3+BN, conv3x3+BN, shortcut 1x1 conv+BN when the width changes."""
    n = 9 * cin * cout + cout + 2 * cout + 9 * cout * cout + cout + 2 * cout
    return n + (cin * cout + cout + 2 * cout if cin != cout else 0)


def test_mtunet_parameter_count_by_hand():
    vit = 0
    for c, p in zip((16, 32, 64, 128), (16, 8, 4, 2)):
        proj = c * p * p * 64 + 64
        table = (MAX_TOKENS + 1) * 64 + 64  # position table + class token
        block = 64 * 192 + 64 * 64 + 2 * 128 + (64 * 4096 + 4096) + (4096 * 64 + 64)
        vit += proj + table + block
    levels = [(16, 32), (32, 64), (64, 128), (128, 256)]
    enc = _leaky_res(3, 16) + sum(_leaky_res(a, b) + _leaky_res(b, b) for a, b in levels)
    dec = _leaky_res(512, 256) + sum(_leaky_res(a + b, a) for a, b in [(128, 256), (64, 128), (32, 64), (16, 32)])
    with torch.device("meta"):
        m = create_model("mtunet", in_chans=3)
    assert count_parameters(m) == vit + enc + dec + 17


def test_top_is_the_bottleneck_after_the_transformers(nets):
    """SDSNet: top = deep module output (+ residual); MTU-Net: top = the ViT fusion block's output."""
    x = torch.randn(1, 1, 64, 96)
    sds, mtu = nets["sdsnet"].eval(), nets["mtunet"].eval()
    with torch.no_grad():
        stride8 = x
        for i, stage in enumerate(sds.enc):
            stride8 = stage(F.max_pool2d(stride8, 2) if i else stride8)
        torch.testing.assert_close(sds.encode(x).top, sds.deep(stride8))
        levels, h = [], x
        for i, stage in enumerate(mtu.enc):
            h = stage(F.max_pool2d(h, 2) if i else h)
            levels.append(h)
        maps = [vit(level) for vit, level in zip(mtu.vits, levels[:4])]
        want = mtu.bottleneck(torch.cat([maps[3], maps[2], maps[1], maps[0], levels[4]], 1))
        torch.testing.assert_close(mtu.encode(x).top, want)


@pytest.mark.parametrize(("name", "n_out"), [("sctransnet", 6), ("sdsnet", 5)])
def test_deep_supervision_order(nets, name, n_out):
    """[side outputs from the deepest (top) to the shallowest, fused, final]; final == the eval output."""
    net = nets[name].eval()
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        f = net.encode(x)
        ref = net.decode(f)
        net.training = True  # only the top-level flag: decode returns the list, BN stays in eval
        try:
            outs = net.decode(f)
        finally:
            net.training = False
        assert len(outs) == n_out and all(o.shape == (1, 1, 64, 64) for o in outs)
        torch.testing.assert_close(outs[-1], ref)
        side_top = F.interpolate(net.side[0](f.top), size=(64, 64), mode="bilinear", align_corners=True)
        torch.testing.assert_close(outs[0], side_top)
        sides = outs[: n_out - 2]
        torch.testing.assert_close(outs[-2], net.fuse(torch.cat([*sides[::-1], outs[-1]], 1)))


def test_channel_attention_against_explicit_formula():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 6, 4, 5), torch.randn(2, 10, 4, 5), torch.randn(2, 10, 4, 5)
    got = channel_attention(q, k, v, scale_dim=10)
    for b in range(2):
        qn = q[b].flatten(1) / q[b].flatten(1).norm(dim=1, keepdim=True)
        kn = k[b].flatten(1) / k[b].flatten(1).norm(dim=1, keepdim=True)
        a = qn @ kn.T / math.sqrt(10)
        a = (a - a.mean()) / torch.sqrt(a.var(unbiased=False) + 1e-5)
        want = (torch.softmax(a, dim=1) @ v[b].flatten(1)).view(6, 4, 5)
        torch.testing.assert_close(got[b], want)


def test_channel_layer_norm():
    ln = ChannelLayerNorm(5)
    with torch.no_grad():
        ln.weight.uniform_(0.5, 1.5)
        ln.bias.uniform_(-1, 1)
    x = torch.randn(2, 5, 3, 4)
    mu, var = x.mean(1, keepdim=True), x.var(1, unbiased=False, keepdim=True)
    want = (x - mu) / torch.sqrt(var + 1e-5) * ln.weight.view(1, -1, 1, 1) + ln.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(ln(x), want)


def test_adsf_against_the_cross_channel_products():
    """ADSF's gates are sums of the outer products of the two pooled vectors (as the reference writes them)."""
    torch.manual_seed(0)
    assert [_eca_kernel(c) for c in (32, 64, 128)] == [3, 3, 5]
    fuse = ADSF(8)
    deep, skip = torch.randn(2, 8, 4, 4), torch.randn(2, 8, 4, 4)
    a = fuse.conv1d(deep.mean((2, 3)).unsqueeze(1)).squeeze(1)  # N x C
    s = fuse.fc(skip.mean((2, 3), keepdim=True)).flatten(1)
    g1 = torch.sigmoid((a.unsqueeze(2) * s.unsqueeze(1)).sum(1))  # sum_i a_i s_c
    g2 = torch.sigmoid((s.unsqueeze(2) * a.unsqueeze(1)).sum(1))  # sum_i s_i a_c
    m = torch.sigmoid(fuse.mix)
    g = torch.sigmoid(fuse.conv1d((g1 * m + g2 * (1 - m)).unsqueeze(1))).view(2, 8, 1, 1)
    torch.testing.assert_close(fuse(deep, skip), torch.cat([skip * g, deep], 1))


def test_mtunet_strided_patch_tokens():
    """Token (i, j) of a P-patch level holds pixels (a*gh + i, b*gw + j), ordered (a, b, channel)."""
    vit = LevelViT(channels=2, patch=2)
    x = torch.randn(1, 2, 6, 8)
    t = vit.tokens(x)
    gh, gw = 3, 4
    assert t.shape == (1, gh * gw, 2 * 2 * 2)
    for i in range(gh):
        for j in range(gw):
            want = [x[0, c, a * gh + i, b * gw + j] for a in range(2) for b in range(2) for c in range(2)]
            torch.testing.assert_close(t[0, i * gw + j], torch.stack(want))


def test_mtunet_attention_scale_and_interleaved_qkv():
    """Logits multiplied by d/2 (the reference's `(d // heads) ** 1 / 2`); q/k/v are outputs 3i, 3i+1, 3i+2."""
    torch.manual_seed(0)
    blk = TransformerBlock(dim=8, mlp=16)
    x = torch.randn(2, 5, 8)
    w = blk.qkv.weight
    q, k, v = x @ w[0::3].T, x @ w[1::3].T, x @ w[2::3].T
    want = blk.out(torch.softmax(q @ k.transpose(1, 2) * 4.0, dim=-1) @ v)
    torch.testing.assert_close(blk.attention(x), want)


def test_mtunet_position_table_limit():
    with torch.device("meta"):
        m = create_model("mtunet")
        assert m(torch.empty(1, 1, 1024, 1024)).shape == (1, 1, 1024, 1024)  # 4096 cells: the published size
        assert m(torch.empty(1, 1, 2048, 512)).shape == (1, 1, 2048, 512)
        with pytest.raises(ModelError, match="4096 position embeddings"):
            m(torch.empty(1, 1, 1056, 1024))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_onnx_export_matches_pytorch(name, tmp_path):
    """The default (dynamo) exporter handles all three with dynamic N, H, W (about a minute each on a CPU)."""
    from fdep.tools.export import export_onnx

    torch.manual_seed(0)
    net = create_model(name).eval()
    meta = dict(model=name, variant="original", in_chans=1, mean=0.0, std=1.0, size_multiple=32)
    summary = export_onnx(net, meta, tmp_path / f"{name}.onnx", size=64, exporter="dynamo")
    assert summary["exporter"] == "dynamo" and summary["max_abs_error"] < 1e-3
