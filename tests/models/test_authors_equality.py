"""Guards of the details that make the zoo's defaults equal to the authors' PyTorch networks (PAL).

The full weight-for-weight comparison needs the authors' code and lives in
``benchmarks/compare_with_pal.py`` (see docs/equality.md); these tests pin what
it established without needing that code: parameter counts, normalisation
types and momenta, and hand-computable behaviour of the pieces that differed.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fdep.errors import ModelError
from fdep.models import count_parameters, create_model
from fdep.models.blocks.acm_family import AsymBiChaFuse
from fdep.models.blocks.layers import PooledBatchNorm2d

#: Parameter counts with 3 input channels, measured with benchmarks/compare_with_pal.py on the
#: authors' classes in YuChuang1205/PAL (model/<X>/<X>_no_sigmoid.py, built as their
#: train_model.py does), counting the modules that run in forward. PAL's ALC also builds two
#: unused stacks (uplayer1/uplayer2: 520,037 in all) and MSDA unused conv_res blocks (4,805,089).
PAL_PARAMS_3CH = {
    "acm": 397_971,
    "alcnet": 427_109,
    "mlclnet": 657_249,
    "alclnet": 5_668_145,
    "dnanet": 4_696_888,
    "gglnet": 8_988_093,
    "uiunet": 50_541_461,
    "msdanet": 4_791_041,
}

ACM_FAMILY = ["acm", "alcnet"]


def meta(name: str, **kw) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **kw)


@pytest.mark.parametrize("name", sorted(PAL_PARAMS_3CH))
def test_three_channel_parameter_count_equals_the_authors(name):
    assert count_parameters(meta(name, in_chans=3)) == PAL_PARAMS_3CH[name]


@pytest.mark.parametrize("name", ACM_FAMILY)
def test_acm_family_authors_normalisation(name):
    net = meta(name, in_chans=3)
    assert net.style == "authors"
    inp = net.stem[0]
    assert isinstance(inp, nn.BatchNorm2d) and inp.affine and inp.momentum == 0.9
    stem_bns = [m for m in net.stem if isinstance(m, nn.BatchNorm2d)]
    assert len(stem_bns) == 4 and all(m.momentum == 0.9 for m in stem_bns)
    head_bns = [m for m in net.head.modules() if isinstance(m, nn.BatchNorm2d)]
    assert [m.momentum for m in head_bns] == [0.9]
    for stage in (net.layer1, net.layer2, net.layer3):
        for block in stage:
            assert block.bn1.momentum == block.bn2.momentum == 0.1  # torchvision's BasicBlock default
            if isinstance(block.shortcut, nn.Sequential):
                assert block.shortcut[1].momentum == 0.9  # the authors' downsample BN
    fusions = [m for m in net.modules() if isinstance(m, AsymBiChaFuse)]
    assert len(fusions) == 2
    for f in fusions:
        norms = [m for m in f.modules() if isinstance(m, (nn.GroupNorm, nn.BatchNorm2d))]
        assert len(norms) == 5
        assert all(isinstance(m, nn.GroupNorm) and m.num_groups == 1 and m.affine for m in norms)


@pytest.mark.parametrize("name", ACM_FAMILY)
def test_acm_family_original_style_keeps_the_mxnet_reading(name):
    net = meta(name, in_chans=3, style="original")
    assert not net.stem[0].affine
    assert all(m.momentum == 0.1 for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    assert not any(isinstance(m, nn.GroupNorm) for m in net.modules())
    assert sum(isinstance(m, PooledBatchNorm2d) for m in net.modules()) == 4  # the two pooled gates
    # the only parameter difference: the affine input BN (2 per input channel)
    assert count_parameters(meta(name, in_chans=3)) - count_parameters(net) == 6


def test_uiunet_fusion_norms_per_style():
    authors, original = meta("uiunet", in_chans=3), meta("uiunet", in_chans=3, style="original")
    for net, kind in ((authors, nn.GroupNorm), (original, nn.BatchNorm2d)):
        norms = [m for f in net.fuse for m in f.modules() if isinstance(m, (nn.GroupNorm, nn.BatchNorm2d))]
        assert len(norms) == 4 * 5 and all(isinstance(m, kind) for m in norms)
        if kind is nn.GroupNorm:
            assert all(m.num_groups == 1 for m in norms)
    # the RSU blocks keep BatchNorm (default momentum) in both
    assert all(m.momentum == 0.1 for m in authors.modules() if isinstance(m, nn.BatchNorm2d))
    assert count_parameters(authors) == count_parameters(original)


@pytest.mark.parametrize("name", [*ACM_FAMILY, "uiunet"])
def test_unknown_style_is_a_one_line_model_error(name):
    with pytest.raises(ModelError, match=r"unknown style 'mxnet'; choose from authors, original") as e:
        meta(name, style="mxnet")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(("style", "m"), [("authors", 0.9), ("original", 0.1)])
def test_input_bn_running_mean_update_follows_the_momentum(style, m):
    """After one training forward: running = (1 - m) * old + m * batch statistic (PyTorch convention)."""
    torch.manual_seed(0)
    net = create_model("acm", in_chans=3, style=style).train()
    bn = net.stem[0]
    with torch.no_grad():
        bn.running_mean.fill_(1.0)
        bn.running_var.fill_(1.0)
        x = torch.randn(2, 3, 32, 32) * torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1) + 5.0
        net(x)
    mean = x.mean(dim=(0, 2, 3))
    var = x.var(dim=(0, 2, 3), unbiased=True)
    torch.testing.assert_close(bn.running_mean, (1 - m) * 1.0 + m * mean)
    torch.testing.assert_close(bn.running_var, (1 - m) * 1.0 + m * var)


def _group_norm1(t: torch.Tensor, gn: nn.GroupNorm) -> torch.Tensor:
    """GroupNorm with one group by hand: each sample standardised over all its channels and pixels."""
    mu = t.mean(dim=(1, 2, 3), keepdim=True)
    var = t.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
    return (t - mu) / torch.sqrt(var + gn.eps) * gn.weight.view(1, -1, 1, 1) + gn.bias.view(1, -1, 1, 1)


def test_group_norm_fusion_matches_a_hand_computation_and_is_per_sample():
    torch.manual_seed(0)
    fuse = AsymBiChaFuse(8, r=4)  # default: the authors' GroupNorm(1)
    with torch.no_grad():
        for gn in fuse.modules():
            if isinstance(gn, nn.GroupNorm):
                gn.weight.uniform_(0.5, 1.5)
                gn.bias.uniform_(-0.2, 0.2)
    xh, xl = torch.randn(3, 8, 6, 6), torch.randn(3, 8, 6, 6)

    def conv(t, c):
        return F.conv2d(t, c.weight, c.bias, padding=c.padding)

    td, bu, post = fuse.topdown, fuse.bottomup, fuse.post
    g = xh.mean((2, 3), keepdim=True)
    w_td = torch.sigmoid(_group_norm1(conv(F.relu(_group_norm1(conv(g, td[1]), td[2])), td[4]), td[5]))
    w_bu = torch.sigmoid(_group_norm1(conv(F.relu(_group_norm1(conv(xl, bu[0]), bu[1])), bu[3]), bu[4]))
    want = F.relu(_group_norm1(conv(2 * xl * w_td + 2 * xh * w_bu, post[0]), post[1]))
    with torch.no_grad():
        train_out = fuse.train()(xh, xl)
        single = fuse(xh[:1], xl[:1])  # batch 1 trains with GroupNorm
        eval_out = fuse.eval()(xh, xl)
    torch.testing.assert_close(train_out, want)
    torch.testing.assert_close(eval_out, want)  # no batch statistics: train == eval
    torch.testing.assert_close(single, want[:1])  # a sample's output does not depend on its batch
