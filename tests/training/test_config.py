"""Config system: YAML keys checked with did-you-mean, flags override, round trip, value checks."""

from __future__ import annotations

import pytest

from fdep.cli.main import main
from fdep.errors import ConfigError
from fdep.training.config import FIELD_NAMES, TrainConfig, load_yaml, resolve, save_yaml


def test_defaults_follow_the_paper():
    cfg = TrainConfig()
    assert (cfg.lr, cfg.batch_size, cfg.epochs, cfg.crop, cfg.loss, cfg.alpha) == (1e-3, 16, 400, 448, "eedm", 1.0)


def test_unknown_key_named_with_did_you_mean(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model: acm\nlearning_rate: 0.1\nbatch_szie: 4\n")
    with pytest.raises(ConfigError) as e:
        load_yaml(p)
    msg = str(e.value)
    assert "'batch_szie' (did you mean 'batch_size'?)" in msg and "'learning_rate'" in msg and str(p) in msg
    assert "\n" not in msg


def test_flags_override_yaml_and_round_trip(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model: dnanet\nepochs: 7\nlr: 0.01\nvfm_layers: [3, 6, 9, 12]\n")
    cfg = resolve(p, {"epochs": "3", "grad_clip": "0.5", "vfm_weights": "none"})
    assert (cfg.model, cfg.epochs, cfg.lr, cfg.grad_clip, cfg.vfm_layers) == ("dnanet", 3, 0.01, 0.5, [3, 6, 9, 12])
    assert cfg.vfm_weights is None
    save_yaml(cfg, tmp_path / "out.yaml")
    again = resolve(tmp_path / "out.yaml", {})
    assert again == cfg
    assert set(load_yaml(tmp_path / "out.yaml")) == set(FIELD_NAMES)


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"variant": "fdepp"}, "variant"),
        ({"epochs": "0"}, "epochs"),
        ({"epochs": "2.5"}, "epochs"),
        ({"lr": "fast"}, "lr"),
        ({"flip": "maybe"}, "flip"),
        ({"val_fraction": "1.5"}, "val_fraction"),
        ({"vfm_layers": "a,b"}, "vfm_layers"),
        ({"loss": "dice"}, "loss"),
    ],
)
def test_bad_values(overrides, fragment):
    with pytest.raises(ConfigError, match=fragment):
        resolve(None, overrides)


def test_bad_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_yaml(tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("model: [acm\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_yaml(tmp_path / "broken.yaml")


def test_cli_config_typo_is_one_line_error(tmp_path, capsys):
    p = tmp_path / "c.yaml"
    p.write_text("epoch: 3\n")
    code = main(["train", "--config", str(p), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code != 0
    assert "did you mean 'epochs'" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_shipped_configs_load():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "configs"
    files = sorted(root.rglob("*.yaml"))
    assert len(files) >= 8 * 3 * 4
    for f in files:
        cfg = resolve(f, {})
        assert cfg.model and cfg.variant
