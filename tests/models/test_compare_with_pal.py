"""benchmarks/compare_with_pal.py without the authors' code: clean skip, argument errors, mapping machinery."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fdep.models import create_model
from tests.scripts import load_script


@pytest.fixture(scope="module")
def cmp():
    return load_script("benchmarks/compare_with_pal.py")


@pytest.mark.parametrize("argv", [[], ["--pal", "/nonexistent/PAL"]])
def test_without_a_pal_checkout_it_skips(cmp, argv, capsys):
    assert cmp.main(argv) == 0
    assert "no PAL checkout" in capsys.readouterr().out


def test_unknown_network_exits_2(cmp, tmp_path, capsys):
    (tmp_path / "model").mkdir()
    assert cmp.main(["--pal", str(tmp_path), "foonet"]) == 2
    assert "unknown network" in capsys.readouterr().err


def test_mapping_transfers_every_tensor_and_reproduces_the_network(cmp):
    """Mapping a network onto a fresh copy of itself: same outputs, same BN updates."""
    torch.manual_seed(0)
    src, dst = create_model("acm", in_chans=3), create_model("acm", in_chans=3)
    x = torch.randn(2, 3, 32, 32)
    pairs = cmp.build_mapping("acm", src, dst, x)
    assert all(len(pk) == 1 and pk[0] == ok for pk, ok in pairs)  # same names pair up
    assert len(pairs) == len(dst.state_dict())
    cmp.randomise(src, torch.Generator().manual_seed(1))
    cmp.transfer(src, dst, pairs)
    src.eval(), dst.eval()
    with torch.no_grad():
        torch.testing.assert_close(src(x), dst(x), rtol=0, atol=0)
        src.train(), dst.train()
        torch.manual_seed(2)
        a = src(x)
        torch.manual_seed(2)
        b = dst(x)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(src.stem[0].running_mean, dst.stem[0].running_mean, rtol=0, atol=0)


def test_mapping_refuses_networks_that_do_not_pair(cmp):
    torch.manual_seed(0)
    a, b = create_model("acm", in_chans=3), create_model("acm", in_chans=3, style="original")
    with pytest.raises(cmp.MappingError):
        cmp.build_mapping("acm", a, b, torch.randn(2, 3, 32, 32))


def test_randomise_changes_learned_state_but_not_constant_buffers(cmp):
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3))
    net.register_buffer("filt", torch.ones(2, 2))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    cmp.randomise(net, torch.Generator().manual_seed(0))
    after = net.state_dict()
    assert torch.equal(after["filt"], before["filt"])
    for k in ("0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"):
        assert not torch.equal(after[k], before[k]), k
