"""FDEPModel + export_light + save/load_pretrained, for every registered network and a tiny test net."""

from __future__ import annotations

import json
import math

import pytest
import torch

from fdep.errors import ConfigError, ModelError, OutputExistsError, WeightsError
from fdep.framework import SAMF, FDEPModel, export_light
from fdep.losses import CoISDLoss, build_loss
from fdep.models import count_parameters, create_model, final_output, list_models, load_pretrained, save_pretrained
from fdep.vfm import window_align

from .conftest import TINY_NAME, TinyDSNet


# learned networks only: a classical method has no encoder/decoder (FDEPModel refuses it, tested in
# test_fdep_model.py::test_classical_methods_are_refused)
@pytest.fixture(params=[*list_models(kind="learned"), TINY_NAME])
def net_name(request):
    if request.param == TINY_NAME:
        request.getfixturevalue("tiny_registered")
    return request.param


def _size(net) -> int:
    return net.size_multiple * max(1, math.ceil(64 / net.size_multiple))


def _batch(net, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = _size(net)
    x = torch.randn(2, 1, s, s, generator=g)
    t = torch.zeros(2, 1, s, s)
    t[:, :, s // 3 : s // 3 + 3, s // 2 : s // 2 + 2] = 1
    return x, t


def _no_vfm_calls(monkeypatch, vfm):
    def boom(*a, **k):
        raise AssertionError("the VFM must not run here")

    monkeypatch.setattr(vfm, "forward", boom)


def _grad_names(module):
    return {n for n, p in module.named_parameters() if p.grad is not None}


def test_training_outputs_and_gradient_paths(net_name, tiny_vfm, monkeypatch):
    torch.manual_seed(0)
    net = create_model(net_name)
    model = FDEPModel(net, tiny_vfm, input_mean=100.0, input_std=30.0).train()
    x, t = _batch(net)
    tops = []
    encode = net.encode

    def recording_encode(inp):
        f = encode(inp)
        f.top.retain_grad()
        tops.append(f.top)
        return f

    monkeypatch.setattr(net, "encode", recording_encode)
    loss = build_loss("bce")
    seen = {}
    for branch in ("main", "light"):
        model.zero_grad(set_to_none=True)
        tops.clear()
        out = model(x)
        assert set(out) == {"main", "light"}
        for o in out.values():
            assert isinstance(o, list) == net.deep_supervision
            assert final_output(o).shape == (2, 1, *x.shape[-2:])
        loss(out[branch], t).backward()
        assert len(tops) == 1 and tops[0].grad.abs().sum() > 0  # the shared encoder is reached
        seen[branch] = _grad_names(model.network)
        assert all(p.grad is None for p in tiny_vfm.parameters())
    fusion_grads = {n for n, p in model.fusions.named_parameters() if p.grad is not None}
    assert not fusion_grads  # the light branch never touches SAMF
    assert seen["light"] and seen["light"] <= seen["main"]  # one encoder + decoder serves both branches


def test_eval_is_the_exported_light_network(net_name, tiny_vfm, monkeypatch, tmp_path):
    torch.manual_seed(0)
    net = create_model(net_name)
    model = FDEPModel(net, tiny_vfm, input_mean=100.0, input_std=30.0)
    vfm_ids = {id(p) for p in tiny_vfm.parameters()}
    assert not vfm_ids & {id(p) for p in model.parameters()}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, t = _batch(net)
    model.train()
    CoISDLoss("eedm")(model(x), t).backward()
    opt.step()
    model.eval()
    _no_vfm_calls(monkeypatch, tiny_vfm)
    with torch.no_grad():
        y = model(x)
        light = export_light(model)
        assert type(light) is type(net) and not light.training
        assert torch.equal(y, light(x))
        assert count_parameters(light) == count_parameters(create_model(net_name))
        samf = sum(count_parameters(f) for f in model.fusions)
        assert all(isinstance(f, SAMF) for f in model.fusions) and len(model.fusions) == 4
        assert count_parameters(model) == count_parameters(net) + samf
        save_pretrained(light, tmp_path / "light", mean=100.0, std=30.0)
        loaded = load_pretrained(tmp_path / "light")
        assert type(loaded) is type(net) and not loaded.training
        assert torch.equal(loaded(x), y)
    cfg = json.loads((tmp_path / "light" / "config.json").read_text())
    assert cfg["model_name"] == net_name and cfg["normalization"] == {"mean": 100.0, "std": 30.0}
    assert (loaded.input_mean, loaded.input_std) == (100.0, 30.0)


def test_vfm_kept_out_of_the_trainable_state(tiny_vfm):
    model = FDEPModel(TinyDSNet(), tiny_vfm)
    assert not any("vfm" in k or "embeddings" in k for k in model.state_dict())
    assert model.trainable_state_dict().keys() == model.state_dict().keys()
    cfg = model.fdep_config()
    assert cfg["vfm"]["layers"] == [1, 2, 3, 4] and cfg["vfm"]["name"] == tiny_vfm.name
    model.train()
    assert not tiny_vfm.training
    model.double()
    assert next(tiny_vfm.parameters()).dtype == torch.float64
    assert next(model.parameters()).dtype == torch.float64


def test_rebuild_from_recorded_config(tiny_vfm, tiny_registered):
    torch.manual_seed(0)
    model = FDEPModel(TinyDSNet(width=4), tiny_vfm, layers=[2, 4], fusion="add", input_mean=90.0, input_std=20.0)
    cfg = json.loads(json.dumps(model.fdep_config()))  # as stored in a checkpoint
    again = FDEPModel.from_config(cfg, tiny_vfm)
    again.load_state_dict(model.state_dict(), strict=True)
    x, _ = _batch(TinyDSNet())
    model.eval(), again.eval()
    model.variant = again.variant = "fdep-main"
    with torch.no_grad():
        assert torch.equal(model(x), again(x))
    assert FDEPModel.from_config(cfg).vfm is None  # description only: cached maps required
    with pytest.raises(ConfigError, match="layers"):
        from fdep.vfm import load_vfm

        FDEPModel.from_config(cfg, load_vfm(tiny_vfm.name, layers=[1, 3]))


def test_variants(tiny_vfm, monkeypatch):
    torch.manual_seed(0)
    x, _ = _batch(TinyDSNet())
    orig = FDEPModel(TinyDSNet(), None, variant="original").train()
    assert set(orig(x)) == {"light"} and len(orig.fusions) == 0
    assert count_parameters(orig) == count_parameters(TinyDSNet())
    main = FDEPModel(TinyDSNet(), tiny_vfm, variant="fdep-main").train()
    assert set(main(x)) == {"main"}
    main.eval()
    calls = []
    real = tiny_vfm.forward
    monkeypatch.setattr(tiny_vfm, "forward", lambda inp: calls.append(1) or real(inp))
    y = main(x)
    assert calls and y.shape == (2, 1, 64, 64)
    with torch.no_grad():
        maps = window_align(real(main.vfm_input(x)), x.shape[-2:], 14)
        assert torch.equal(main(x, vfm_features=maps), y)  # cached maps are used instead of the VFM
    with pytest.raises(ModelError, match="VFM maps"):
        main(x, vfm_features=maps[:2])
    with pytest.raises(ModelError, match="fdep-main"):
        export_light(main)
    with pytest.raises(ConfigError, match="needs a VFM"):
        FDEPModel(TinyDSNet(), None, variant="fdep")


def test_cached_features_without_vfm_module(tiny_vfm):
    model = FDEPModel(TinyDSNet(), tiny_vfm.describe(), layers=[2, 4]).train()
    assert len(model.fusions) == 2
    x, _ = _batch(TinyDSNet())
    with pytest.raises(ModelError, match="vfm_features"):
        model(x)
    maps = window_align(tiny_vfm(model.vfm_input(x)), x.shape[-2:], 14)
    out = model(x, vfm_features=maps)
    assert set(out) == {"main", "light"}
    with pytest.raises(ConfigError, match="subset"):
        FDEPModel(TinyDSNet(), tiny_vfm, layers=[5])


@pytest.mark.parametrize("share", ["encoder", "decoder"])
def test_share_ablations(share, tiny_vfm, tiny_registered):
    torch.manual_seed(0)
    net = TinyDSNet()
    model = FDEPModel(net, tiny_vfm, share=share).train()
    assert model.main_net is not None and model.main_net is not net
    x, t = _batch(net)
    out = model(x)
    build_loss("bce")(out["main"], t).backward()
    main_own = _grad_names(model.main_net)
    shared = _grad_names(model.network)
    enc = {n for n in dict(net.named_parameters()) if n.split(".")[0] in ("stem", "down1", "down2")}
    dec = set(dict(net.named_parameters())) - enc
    if share == "encoder":  # main: shared encoder + its own decoder copy
        assert shared == enc and main_own == dec
    else:  # main: its own encoder copy + the shared decoder
        assert shared == dec and main_own == enc
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), export_light(model)(x))
    with pytest.raises(ConfigError):
        FDEPModel(net, tiny_vfm, share="both")
    with pytest.raises(ConfigError):
        FDEPModel(net, tiny_vfm, fusion="mul")


@pytest.mark.parametrize("fusion", ["add", "concat"])
def test_samf_off(fusion, tiny_vfm):
    model = FDEPModel(TinyDSNet(), tiny_vfm, fusion=fusion).train()
    x, t = _batch(TinyDSNet())
    CoISDLoss("eedm")(model(x), t).backward()
    assert all(p.grad is not None for p in model.fusions.parameters())


def test_pretrained_errors(tmp_path, tiny_registered):
    net = TinyDSNet(width=4)
    save_pretrained(net, tmp_path / "n")
    assert load_pretrained(tmp_path / "n").init_kwargs == {"width": 4}
    with pytest.raises(OutputExistsError):
        save_pretrained(net, tmp_path / "n")
    with pytest.raises(WeightsError, match="config.json"):
        load_pretrained(tmp_path / "missing")
    cfg_path = tmp_path / "n" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg_path.write_text(json.dumps({**cfg, "kwargs": {"width": 8}}))
    # a wider network than stored: refused from the file's header before it is built (issue 26 §3)
    with pytest.raises(WeightsError, match="describes a network of 10,151 stored numbers, but model.safetensors "
                                           "holds 3,815"):
        load_pretrained(tmp_path / "n")
    cfg_path.write_text(json.dumps({**cfg, "model_name": "no_such_net"}))
    with pytest.raises(ModelError, match="no_such_net"):
        load_pretrained(tmp_path / "n")


@pytest.mark.parametrize("name", list_models(kind="classical"))
def test_classical_methods_are_refused(name, tiny_vfm):
    net = create_model(name)
    for variant, vfm in (("original", None), ("fdep", {"name": "x", "layers": [1], "embed_dim": 8, "patch_size": 14})):
        with pytest.raises(ModelError) as e:
            FDEPModel(net, vfm, variant=variant)
        msg = str(e.value)
        assert "\n" not in msg and f"{name} is a classical method" in msg and f"fdep test --model {name}" in msg
