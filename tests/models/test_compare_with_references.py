"""benchmarks/compare_with_references.py: its own pieces, and (when the reference code is available) the
equality of SCTransNet, SDSNet and MTU-Net with their authors' code.

The reference files are not in this repository. Point FDEP_REF_PAL at a checkout of
YuChuang1205/PAL and FDEP_REF_MTU at the MTU-Net-code/model folder of
TianhaoWu16/Multi-level-TransUNet-for-Space-based-Infrared-Tiny-ship-Detection to run those tests;
without them they skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from tests.scripts import load_script


@pytest.fixture(scope="module")
def harness():
    return load_script("benchmarks/compare_with_references.py")


@pytest.fixture(scope="module")
def standins():
    return load_script("benchmarks/standins.py")


def test_rearrange_stand_in(standins):
    x = torch.randn(2, 6, 4, 5)
    r = standins.einops_rearrange
    torch.testing.assert_close(r(x, "b c h w -> b (h w) c"), x.flatten(2).transpose(1, 2))
    torch.testing.assert_close(r(x, "b (head c) h w -> b head c (h w)", head=2), x.reshape(2, 2, 3, 20))
    t = torch.randn(2, 20, 6)
    torch.testing.assert_close(r(t, "b (x y) c -> b c x y", x=4, y=5), t.transpose(1, 2).reshape(2, 6, 4, 5))
    # the MTU-Net reference's strided patches: H = (patch_x x), patch index outer
    p = r(x, "b c (patch_x x) (patch_y y) -> b (x y) (patch_x patch_y c)", patch_x=2, patch_y=1)
    assert p.shape == (2, 2 * 5, 2 * 6)
    want = torch.stack([x[0, c, a * 2 + 1, 3] for a in range(2) for c in range(6)])
    torch.testing.assert_close(p[0, 1 * 5 + 3], want)


def test_key_maps(harness):
    sct = harness._mapper(harness.SCT_RULES)
    assert sct("cct.layers.2.attn.q_spatial.3.weight") == "mtc.encoder.layer.2.channel_attn.q4.weight"
    assert sct("dec.0.cca.fc_up.bias") == "up_decoder4.coatt.mlp_g.1.bias"
    assert sct("side.0.weight") == "gt_conv5.0.weight"
    want = "shallow.srb.layer.1.msca.msm3.conv_layers.conv1_1_1.weight"
    assert harness.sds_map("shallow.layers.1.q.2.rows.1.weight") == want
    assert harness.sds_map("deep.layers.0.k.norm.bias") == "deep.drb.layer.0.mssa.msmk.norm.body.bias"
    assert harness.sds_map("shallow.mapping.0.bn.weight") == "shallow.FM.0.norm.weight"
    mtu = harness._mapper(harness.MTU_RULES)
    assert mtu("vits.0.block.mlp.3.weight") == "vit5.transformer.layer_blocks.0.mlp.mlp_layers.3.weight"
    assert mtu("dec.3.0.conv1.weight") == "conv0_4.0.conv1.weight"


def test_without_references_skips_cleanly(harness, capsys):
    assert harness.main([]) == 0
    out = capsys.readouterr().out
    assert "skip sctransnet, sdsnet" in out and "skip mtunet" in out


def _ref_dir(var: str, marker: str) -> Path:
    path = os.environ.get(var)
    if not path or not (Path(path) / marker).exists():
        pytest.skip(f"{var} not set to the reference code (see the module docstring)")
    return Path(path)


def _assert_equal(res, ours_name):
    from fdep.models import create_model

    assert res["unused_ref_params"] == create_model(ours_name).paper_unused_params
    for what, shape, err, scale, dtype in res["checks"]:
        tol = 1e-6 if "grads" in what else 1e-4 if dtype == torch.float32 else 1e-9
        assert err <= tol * max(1.0, scale), (what, shape, err)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sctransnet", "sdsnet"])
def test_equal_to_pal(harness, name):
    pal = _ref_dir("FDEP_REF_PAL", "model/SCTransNet")
    run = harness.run_sctransnet if name == "sctransnet" else harness.run_sdsnet
    _assert_equal(run(pal, [(2, 3, 64, 96)]), name)


@pytest.mark.slow
def test_equal_to_mtunet_reference(harness):
    root = _ref_dir("FDEP_REF_MTU", "MTU_Net.py")
    _assert_equal(harness.run_mtunet(root, [(2, 3, 64, 96)], any_size=True), "mtunet")
