"""Published weight sets: registry, hash check, the Hub layout (export --hub), loading by tag, folder or cached
repo id, and fdep predict/test --model NAME --weights W."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from fdep.cli.main import main
from fdep.errors import ModelError, WeightsError
from fdep.models import create_model, load_pretrained, save_pretrained
from fdep.models import weights as W


@pytest.fixture()
def acm_folder(tmp_path) -> Path:
    torch.manual_seed(0)
    net = create_model("acm", in_chans=1)
    return save_pretrained(net, tmp_path / "acm_light", mean=100.0, std=30.0, extra={"variant": "original"})


@pytest.fixture()
def hub_folder(acm_folder, tmp_path) -> Path:
    assert main(["export", "--checkpoint", str(acm_folder), "--hub", str(tmp_path / "hub")]) == 0
    return tmp_path / "hub"


@pytest.fixture()
def registered(hub_folder, tmp_path, monkeypatch) -> W.WeightSet:
    """A weight set registered as if shipped in the package (its folder in a fake package tree)."""
    pkg = tmp_path / "pkg" / "weights"
    shutil.copytree(hub_folder, pkg / "acm-test")
    f = pkg / "acm-test" / W.WEIGHTS_FILE
    ws = W.WeightSet(model="acm", tag="test-set", dataset="tiny", variant="original", protocol="authors",
                     folder="acm-test", sha256=W.sha256_of(f), size_bytes=f.stat().st_size, command="fdep train",
                     seed=0, crop=256, epochs=1, best_epoch=1, scores={"hse": 1.0, "iou": 2.0})
    monkeypatch.setattr(W, "WEIGHTS", (ws,))
    monkeypatch.setattr(W, "shipped_folder", lambda w: pkg / w.folder)
    return ws


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_hub_folder_layout_and_model_card(hub_folder, acm_folder):
    assert sorted(p.name for p in hub_folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    cfg = json.loads((hub_folder / "config.json").read_text())
    assert cfg["model_name"] == "acm" and cfg["in_chans"] == 1
    assert cfg["normalization"] == {"mean": 100.0, "std": 30.0}
    assert cfg["extra"]["threshold"] == 0.5 and cfg["extra"]["fdep_version"]
    card = (hub_folder / "README.md").read_text()
    assert "create_model(\"acm\", weights=" in card and "Licence" in card
    assert _same_weights(create_model("acm", weights=str(hub_folder)), create_model("acm", weights=acm_folder))


def test_export_hub_refuses_a_non_empty_folder(acm_folder, hub_folder, capsys):
    assert main(["export", "--checkpoint", str(acm_folder), "--hub", str(hub_folder)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_registered_tag_loads_after_its_hash_is_checked(registered, hub_folder):
    net = create_model("acm", weights="test-set")
    assert net.weight_set is registered and not net.training
    assert _same_weights(net, create_model("acm", weights=str(hub_folder)))
    assert W.list_weights("acm") == [registered] and W.list_weights("dnanet") == []


def test_damaged_or_missing_file_is_one_error_naming_it(registered):
    f = W.shipped_folder(registered) / W.WEIGHTS_FILE
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=r"model\.safetensors: sha256 .* not the registered"):
        create_model("acm", weights="test-set")
    f.unlink()
    with pytest.raises(WeightsError, match="not found"):
        create_model("acm", weights="test-set")


def test_weights_of_another_network_or_unknown_tag(hub_folder, registered):
    with pytest.raises(WeightsError, match="for network 'acm', not 'alcnet'"):
        create_model("alcnet", weights=str(hub_folder))
    with pytest.raises(WeightsError, match="not a weight set of acm .*published: test-set"):
        create_model("acm", weights="imagenet")
    with pytest.raises(WeightsError, match="not a file"):
        create_model("acm", weights=str(hub_folder / "model.safetensors"))


def test_repo_id_from_a_fake_local_hf_cache(hub_folder, tmp_path, monkeypatch):
    import huggingface_hub.constants as hc

    cache = tmp_path / "hf"
    repo = cache / "models--someone--acm-sirst"
    rev = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(hub_folder, repo / "snapshots" / rev)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(rev)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    net = create_model("acm", weights="someone/acm-sirst")
    assert _same_weights(net, create_model("acm", weights=str(hub_folder)))
    with pytest.raises(WeightsError, match="no Hugging Face repo of that id in the local cache"):
        create_model("acm", weights="someone/missing")


def test_predict_and_test_with_model_and_weights(registered, tiny_data, tmp_path, capsys):
    img = next((tiny_data / "images").iterdir())
    assert main(["predict", "--model", "acm", "--weights", "test-set", "--input", str(img),
                 "--out", str(tmp_path / "preds")]) == 0
    assert (tmp_path / "preds" / "targets.json").is_file()
    out = tmp_path / "t"
    assert main(["test", "--model", "acm", "--weights", "test-set", "--data", str(tiny_data), "--out", str(out),
                 "--quiet", "--no-preds"]) == 0
    text = capsys.readouterr().out
    assert "recorded for weights acm.test-set: hse 1.00  iou 2.00" in text
    res = json.loads((out / "results.json").read_text())
    assert res["model"] == "acm" and res["checkpoint"].endswith("acm-test")


def test_weights_need_a_learned_model(tmp_path, capsys, tiny_data):
    assert main(["predict", "--checkpoint", "x", "--weights", "test-set", "--input", "x", "--out",
                 str(tmp_path / "o")]) == 2
    assert "--weights needs --model" in capsys.readouterr().err
    assert main(["test", "--model", "mpcm", "--weights", "w", "--data", str(tiny_data)]) == 2
    assert "classical method" in capsys.readouterr().err


def test_create_model_with_weights_refuses_conflicting_arguments(registered, acm_folder):
    # before the factory was layered, in_chans/init/kwargs were dropped without a word
    for kw, said in [({"in_chans": 3}, "in_chans=3 (the weights have 1)"),
                     ({"init": "authors"}, "init='authors'"),
                     ({"blocks": 2}, "blocks=2 (the weights record no blocks")]:
        with pytest.raises(ModelError, match=re.escape(said)):
            create_model("acm", weights="test-set", **kw)
    net = create_model("acm", weights=str(acm_folder), in_chans=1)  # agreeing arguments are fine
    assert _same_weights(net, load_pretrained(acm_folder))


def test_zoo_kwargs_are_recorded_and_rebuilt(tmp_path):
    net = create_model("acm", blocks=2)
    assert net.init_kwargs == {"blocks": 2}
    back = load_pretrained(save_pretrained(net, tmp_path / "w", mean=1.0, std=2.0))
    assert _same_weights(net, back) and back.init_kwargs == {"blocks": 2}
