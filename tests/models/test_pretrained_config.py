"""A weights folder's config.json is untrusted: every field checked before anything is built (issue 26 §3).

Each crafted folder must give one line naming config.json and the field, exit 2, no traceback, and no
network built (``in_chans: 1000000000`` once allocated 15.9 GB before failing).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from fdep.cli.main import main
from fdep.errors import WeightsError
from fdep.models import create_model, factory, load_pretrained, registry, save_pretrained
from fdep.models import pretrained_config as PC


@pytest.fixture()
def folder(tmp_path) -> Path:
    torch.manual_seed(0)
    return save_pretrained(create_model("acm", in_chans=1), tmp_path / "w", mean=100.0, std=30.0)


def _edit(folder: Path, **changes) -> Path:
    cfg = json.loads((folder / "config.json").read_text())
    for k, v in changes.items():
        if v is KeyError:
            cfg.pop(k)
        else:
            cfg[k] = v
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder


@pytest.fixture()
def no_build(monkeypatch):
    """Fail the test if the network is built for real (on a non-meta device)."""
    real = factory.create_model

    def guarded(*a, **k):
        if torch.empty(0).device.type != "meta":
            raise AssertionError("network built before its config.json was checked")
        return real(*a, **k)

    monkeypatch.setattr("fdep.models.factory.create_model", guarded)


CRAFTED = [
    ({"in_chans": 1000000000}, "in_chans: must be an integer from 1 to 16, got 1000000000"),
    ({"in_chans": "abc"}, "in_chans: must be an integer from 1 to 16, got 'abc'"),
    ({"in_chans": True}, "in_chans: must be an integer"),
    ({"in_chans": 0}, "in_chans: must be an integer"),
    ({"kwargs": {"__class__": "os.system"}}, "kwargs.'__class__': not a constructor argument name"),
    ({"kwargs": {"weights": "nuaa-sirst"}}, "kwargs.'weights': not a constructor argument name"),
    ({"kwargs": {"depth": 3}}, "kwargs.'depth': ACM takes no such argument (it takes blocks, style)"),
    ({"kwargs": {"blocks": "3"}}, "kwargs.'blocks': must be like its default 3 (int), got '3'"),
    ({"kwargs": {"blocks": 10 ** 9}}, "kwargs.'blocks': must be an integer (|n| <= 1024)"),
    ({"kwargs": {"style": "x" * 10 ** 5}}, "kwargs.'style': must be an integer"),
    ({"kwargs": [1, 2]}, "kwargs: must be an object of constructor arguments, got list"),
    ({"extra_field": 1}, "unknown key 'extra_field' (did you mean 'extra'?)"),
    ({"version": 99}, "version: 99 is not a version this fdep reads"),
    ({"model_name": ["acm"]}, "model_name: must be a network name"),
    ({"normalization": {"mean": float("nan"), "std": 1.0}}, "normalization.mean: must be a finite number"),
    ({"normalization": {"mean": 1.0, "std": 0}}, "normalization.std: must be a finite number > 0"),
    ({"normalization": {"mean": 1.0}}, "normalization: must be null or"),
    ({"num_parameters": "many"}, "num_parameters: must be a non-negative integer"),
    ({"extra": "x"}, "extra: must be an object, got str"),
    ({"format": KeyError}, "format: None is not 'fdep-pretrained'"),
]


@pytest.mark.parametrize("changes,message", CRAFTED, ids=[m.split(":")[0] for _, m in CRAFTED])
def test_crafted_config_is_one_line_before_anything_is_built(folder, no_build, changes, message, tmp_path, capsys):
    _edit(folder, **changes)
    with pytest.raises(WeightsError) as info:
        load_pretrained(folder)
    assert message in str(info.value)
    assert str(folder / "config.json") in str(info.value)
    img = tmp_path / "img.png"
    from fdep.imageio import write_image_png

    write_image_png(img, (torch.rand(16, 16) * 255).byte().numpy())
    t0 = time.perf_counter()
    code = main(["predict", "--model", "acm", "--weights", str(folder), "--input", str(img),
                 "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and time.perf_counter() - t0 < 10
    assert err.count("\n") == 1 and "Traceback" not in err and message in err
    assert not (tmp_path / "o").exists()


def test_config_describing_another_network_than_the_file_holds(folder, tmp_path):
    """A valid config whose network is bigger than the stored tensors is refused from the file's header (meta
    device), before the network is allocated."""
    _edit(folder, in_chans=16, kwargs={"blocks": 64})
    t0 = time.perf_counter()
    with pytest.raises(WeightsError, match=r"describes a network of [\d,]+ stored numbers, but model.safetensors "
                                           r"holds [\d,]+"):
        load_pretrained(folder)
    assert time.perf_counter() - t0 < 30


def test_json_bombs_are_one_line(folder):
    (folder / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(WeightsError, match="not a JSON config"):
        load_pretrained(folder)
    (folder / "config.json").write_text(json.dumps({"format": "fdep-pretrained", "pad": "x" * (2 << 20)}))
    with pytest.raises(WeightsError, match="more than any fdep config.json"):
        load_pretrained(folder)
    (folder / "config.json").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(WeightsError, match="not a JSON config|invalid JSON"):
        load_pretrained(folder)
    (folder / "config.json").write_text("[1, 2]")
    with pytest.raises(WeightsError, match="expected a JSON object, got list"):
        load_pretrained(folder)


def test_valid_configs_still_load(folder, tmp_path):
    """What save_pretrained writes passes, with recorded kwargs of every kind (classical methods record lists,
    floats and texts), and the shipped weight sets pass."""
    net = load_pretrained(folder)
    assert net.in_chans == 1 and net.input_mean == 100.0
    mpcm = save_pretrained(create_model("mpcm"), tmp_path / "mpcm")
    assert json.loads((mpcm / "config.json").read_text())["kwargs"]  # a list and a text recorded
    assert load_pretrained(mpcm).model_name == "mpcm"
    for ws in __import__("fdep.models.weights", fromlist=["WEIGHTS"]).WEIGHTS:
        from fdep.models.weights import shipped_folder

        PC.validate_config(PC.read_config_json(shipped_folder(ws) / "config.json"), ws.name,
                           registry.get_model_factory(ws.model))


def test_kwargs_checked_against_a_constructor_taking_var_keywords():
    def factory(in_chans=1, width=8, **more):  # a factory taking **kwargs: names not listed are allowed
        return None

    cfg = {"format": "fdep-pretrained", "model_name": "x", "kwargs": {"width": 4, "other": 1}}
    assert PC.validate_config(cfg, "c", factory) is cfg
    with pytest.raises(WeightsError, match="must be like its default 8"):
        PC.validate_config({**cfg, "kwargs": {"width": 2.5}}, "c", factory)
    with pytest.raises(WeightsError, match="not a constructor argument name"):
        PC.validate_config({**cfg, "kwargs": {"__init__": 1}}, "c", factory)
