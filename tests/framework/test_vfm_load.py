"""fdep.vfm.load_vfm: user paths, offline lookup, errors, input handling, freezing."""

from __future__ import annotations

import math
import shutil
import warnings

import pytest
import torch

from fdep.errors import ConfigError, WeightsError
from fdep.vfm import IMAGENET_MEAN, IMAGENET_STD, default_layers, list_vfms, load_vfm

from .conftest import tiny_dinov2


def _reference_maps(model, x, layers):
    """Independent reference: pad + normalise by hand, run the HF model in full, take hidden states."""
    x3 = x.expand(-1, 3, -1, -1)
    x3 = (x3 - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    gh, gw = math.ceil(x.shape[-2] / 14), math.ceil(x.shape[-1] / 14)
    padded = torch.zeros(x.shape[0], 3, gh * 14, gw * 14)
    padded[..., : x.shape[-2], : x.shape[-1]] = x3
    with torch.no_grad():
        hs = model(pixel_values=padded, output_hidden_states=True).hidden_states
        return [model.layernorm(hs[i])[:, 1:].transpose(1, 2).reshape(x.shape[0], -1, gh, gw) for i in layers]


def test_local_folder_as_name_and_as_weights(tiny_vfm_dir):
    ref_model = tiny_dinov2()
    x = torch.rand(2, 1, 30, 45)
    expected = _reference_maps(ref_model, x, (1, 2, 3, 4))
    for vfm in (load_vfm(tiny_vfm_dir), load_vfm("dinov2_vits14", weights=tiny_vfm_dir)):
        assert vfm.layers == (1, 2, 3, 4) and vfm.embed_dim == 32 and vfm.patch_size == 14
        out = vfm(x)
        assert [tuple(o.shape) for o in out] == [(2, 32, 3, 4)] * 4
        for o, e in zip(out, expected):
            torch.testing.assert_close(o, e, atol=1e-5, rtol=1e-5)
    assert load_vfm("dinov2_vits14", weights=tiny_vfm_dir).name == "dinov2_vits14"
    assert load_vfm(tiny_vfm_dir).name == str(tiny_vfm_dir)


def test_layer_selection_and_grayscale(tiny_vfm_dir):
    vfm = load_vfm(tiny_vfm_dir, layers="2,4")
    assert vfm.layers == (2, 4)
    assert len(vfm.model.encoder.layer) == 4
    vfm3 = load_vfm(tiny_vfm_dir, layers=[1, 3])
    assert len(vfm3.model.encoder.layer) == 3  # blocks after the deepest selected one are dropped
    x = torch.rand(1, 1, 28, 28)
    out1 = vfm3(x)
    out3 = vfm3(x.expand(-1, 3, -1, -1))
    expected = _reference_maps(tiny_dinov2(), x, (1, 3))
    for a, b, e in zip(out1, out3, expected):
        assert torch.equal(a, b)
        torch.testing.assert_close(a, e, atol=1e-5, rtol=1e-5)
    with pytest.raises(ConfigError, match="out of range"):
        load_vfm(tiny_vfm_dir, layers=[0, 5])


def test_default_layers():
    assert default_layers(24) == (6, 12, 18, 24)
    assert default_layers(12) == (3, 6, 9, 12)
    assert default_layers(40) == (10, 20, 30, 40)
    assert default_layers(4) == (1, 2, 3, 4)


def test_frozen_for_real(tiny_vfm):
    assert all(not p.requires_grad for p in tiny_vfm.parameters())
    tiny_vfm.train()
    assert not tiny_vfm.training and not any(m.training for m in tiny_vfm.modules())
    x = torch.rand(1, 1, 28, 28, requires_grad=True)
    assert not any(o.requires_grad for o in tiny_vfm(x))


def test_found_in_the_hf_cache_offline(monkeypatch, tmp_path, tiny_vfm_dir):
    """A name resolves through a Hugging Face hub cache (models--org--name/snapshots/<rev>) offline."""
    repo = tmp_path / "hub" / "models--facebook--dinov2-small"
    snap = repo / "snapshots" / "0123abcd"
    shutil.copytree(tiny_vfm_dir, snap)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    vfm = load_vfm("dinov2_vits14")
    assert vfm.name == "dinov2_vits14" and vfm.embed_dim == 32
    x = torch.rand(1, 1, 28, 28)
    for a, b in zip(vfm(x), load_vfm(tiny_vfm_dir)(x)):
        assert torch.equal(a, b)


def test_missing_weights_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty_hub"))  # the real offline lookup, empty cache
    with pytest.raises(WeightsError) as e:
        load_vfm("dinov2_vitl14")
    msg = str(e.value)
    assert "\n" not in msg
    assert "facebook/dinov2-large" in msg and "dinov2_vitl14_pretrain.pth" in msg
    assert "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth" in msg
    with pytest.raises(WeightsError, match="not found"):
        load_vfm("dinov2_vitb14", weights=tmp_path / "nope.pth")
    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsError, match="config.json"):
        load_vfm(tmp_path / "empty")
    with pytest.raises(ConfigError, match="unknown VFM"):
        load_vfm("not_a_vfm")


def test_random_only_on_request():
    with pytest.warns(UserWarning, match="randomly initialised"):
        vfm = load_vfm("dinov2_vits14", weights="random")
    assert (vfm.embed_dim, vfm.depth, vfm.layers, vfm.patch_size) == (384, 12, (3, 6, 9, 12), 14)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = load_vfm("dinov2_vits14_reg", weights="random", layers=[1])
    assert reg.num_prefix_tokens == 5
    assert [tuple(o.shape) for o in reg(torch.rand(1, 1, 28, 42))] == [(1, 384, 2, 3)]


def test_names_cover_the_dino_family():
    names = list_vfms()
    for n in ("dinov2_vits14", "dinov2_vitb14", "dinov2_vitl14", "dinov2_vitg14", "dinov2_vitl14_reg"):
        assert n in names
    assert any(n.startswith("dinov3_") for n in names)
