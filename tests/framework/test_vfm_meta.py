"""Meta's original DINOv2 checkpoints: key conversion both ways and loading through load_vfm."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fdep.errors import WeightsError
from fdep.vfm import config_from_meta, hf_to_meta, load_vfm, meta_to_hf

from .conftest import tiny_dinov2


def _meta_forward(sd, x, heads, swiglu):
    """Independent reference: Meta's DinoVisionTransformer forward written from its key layout."""
    t = F.conv2d(x, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=14)
    n, d, gh, gw = t.shape
    t = torch.cat([sd["cls_token"].expand(n, -1, -1), t.flatten(2).transpose(1, 2)], 1) + sd["pos_embed"]
    if "register_tokens" in sd:
        t = torch.cat([t[:, :1], sd["register_tokens"].expand(n, -1, -1), t[:, 1:]], 1)
    depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
    outs = []
    for i in range(depth):
        b = f"blocks.{i}."
        h = F.layer_norm(t, (d,), sd[b + "norm1.weight"], sd[b + "norm1.bias"], eps=1e-6)
        qkv = F.linear(h, sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"]).reshape(n, -1, 3, heads, d // heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) * (d // heads) ** -0.5, -1) @ v
        a = F.linear(a.transpose(1, 2).reshape(n, -1, d), sd[b + "attn.proj.weight"], sd[b + "attn.proj.bias"])
        t = t + sd[b + "ls1.gamma"] * a
        h = F.layer_norm(t, (d,), sd[b + "norm2.weight"], sd[b + "norm2.bias"], eps=1e-6)
        if swiglu:
            x1, x2 = F.linear(h, sd[b + "mlp.w12.weight"], sd[b + "mlp.w12.bias"]).chunk(2, -1)
            m = F.linear(F.silu(x1) * x2, sd[b + "mlp.w3.weight"], sd[b + "mlp.w3.bias"])
        else:
            m = F.linear(F.gelu(F.linear(h, sd[b + "mlp.fc1.weight"], sd[b + "mlp.fc1.bias"])),
                         sd[b + "mlp.fc2.weight"], sd[b + "mlp.fc2.bias"])
        t = t + sd[b + "ls2.gamma"] * m
        outs.append(t)
    prefix = 1 + (sd["register_tokens"].shape[1] if "register_tokens" in sd else 0)
    return [F.layer_norm(o, (d,), sd["norm.weight"], sd["norm.bias"], eps=1e-6)[:, prefix:]
            .transpose(1, 2).reshape(n, d, gh, gw) for o in outs]


@pytest.mark.parametrize("registers,swiglu", [(0, False), (4, False), (0, True)])
def test_meta_round_trip_and_load(tmp_path, registers, swiglu):
    model = tiny_dinov2(depth=3, registers=registers, swiglu=swiglu, seed=1)
    hf_sd = model.state_dict()
    meta_sd = hf_to_meta(hf_sd)
    assert "blocks.0.attn.qkv.weight" in meta_sd and not any(k.startswith("encoder") for k in meta_sd)
    assert ("blocks.0.mlp.w12.weight" in meta_sd) == swiglu
    back = meta_to_hf(meta_sd)
    assert back.keys() == hf_sd.keys()
    assert all(torch.equal(back[k], hf_sd[k]) for k in hf_sd)
    cfg = config_from_meta(meta_sd)
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.patch_size, cfg.image_size) == (32, 3, 14, 56)
    # Meta's checkpoints carry head size 64; the tiny model has 2 heads of 16: set its head count explicitly
    path = tmp_path / "dinov2_tiny_pretrain.pth"
    torch.save(meta_sd, path)
    import fdep.vfm.meta as meta_mod

    old = meta_mod.HEAD_DIM
    meta_mod.HEAD_DIM = 16
    try:
        vfm = load_vfm(path, layers=[1, 2, 3])
    finally:
        meta_mod.HEAD_DIM = old
    x = torch.rand(2, 3, 56, 56)
    norm_x = (x - vfm.mean) / vfm.std
    expected = _meta_forward(meta_sd, norm_x, heads=2, swiglu=swiglu)
    for o, e in zip(vfm(x), expected):
        torch.testing.assert_close(o, e, atol=1e-4, rtol=1e-4)


def test_meta_heads_follow_head_size_64():
    sd = hf_to_meta(tiny_dinov2(depth=1).state_dict())
    sd["cls_token"] = torch.zeros(1, 1, 1024)
    sd["blocks.0.mlp.fc1.weight"] = torch.zeros(4096, 1024)
    assert config_from_meta(sd).num_attention_heads == 16


def test_bad_meta_files(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="cannot read"):
        load_vfm(junk)
    odd = tmp_path / "odd.pth"
    torch.save({"foo.weight": torch.zeros(1)}, odd)
    with pytest.raises(WeightsError):
        load_vfm(odd)
