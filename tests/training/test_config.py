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


#: 242 bytes that expand to 9^7 = 4.8 million integers in vfm_layers (a "billion laughs" alias bomb)
ALIAS_BOMB = (
    "vfm_layers: &j [&a [1,1,1,1,1,1,1,1,1], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a], &c [*b,*b,*b,*b,*b,*b,*b,*b,*b],\n"
    "  &d [*c,*c,*c,*c,*c,*c,*c,*c,*c], &e [*d,*d,*d,*d,*d,*d,*d,*d,*d], &f [*e,*e,*e,*e,*e,*e,*e,*e,*e],\n"
    "  &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]]\n"
)


def test_yaml_alias_bomb_fails_fast_in_one_short_line(tmp_path, capsys):
    """Issue 26 §3: the bomb once gave a 358 MB error line after 17.6 s and 1.5 GB; refused before it is built."""
    import time

    p = tmp_path / "bomb.yaml"
    p.write_text(ALIAS_BOMB)
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="expands to more than 10000 values once its aliases"):
        load_yaml(p)
    assert time.perf_counter() - t0 < 1.0
    assert main(["train", "--config", str(p), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 300 and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_recursive_alias_and_deep_nesting_are_one_line(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("vfm_layers: &a [1, *a]\n")
    with pytest.raises(ConfigError, match="expands to more than"):
        load_yaml(p)
    p.write_text("vfm_layers: " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(ConfigError, match="invalid YAML|nested too deeply"):
        load_yaml(p)


def test_ordinary_aliases_still_work(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("vfm_layers: &l [6, 12, 18, 24]\ntrain_split: &s train\nval_split: *s\n")
    assert load_yaml(p) == {"vfm_layers": [6, 12, 18, 24], "train_split": "train", "val_split": "train"}


def test_a_long_bad_value_is_shown_shortened(tmp_path, capsys):
    p = tmp_path / "c.yaml"
    p.write_text("vfm_layers: [" + ", ".join(["x" * 50] * 5000) + "]\n")
    with pytest.raises(ConfigError) as e:
        resolve(p, {})
    assert len(str(e.value)) - len(str(p)) < 400 and "cannot use [" in str(e.value)


def test_every_error_message_printed_is_bounded(capsys, monkeypatch):
    """A message built from a huge user value is cut at MAX_MESSAGE_CHARS, on one line."""
    from fdep.cli import main as main_mod
    from fdep.errors import InputError

    def boom(args):
        raise InputError("x" * 10_000_000 + "\nsecond line")

    monkeypatch.setattr(main_mod, "build_parser", lambda: _parser_with(boom))
    assert main_mod.main(["boom"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < main_mod.MAX_MESSAGE_CHARS + 200
    assert err.rstrip().endswith("more characters)")


def _parser_with(func):
    import argparse

    parser = argparse.ArgumentParser(prog="fdep")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("boom").set_defaults(func=func)
    return parser


def test_every_key_has_its_help_in_the_field_metadata():
    # --help and the options table of docs/training.md read it; a key without one would show an empty line
    from dataclasses import fields

    from fdep.training.config import field_help

    assert set(field_help()) == set(FIELD_NAMES) and all(text.strip() for text in field_help().values())
    for f in fields(TrainConfig):  # the value checks read "choices" from the same metadata
        if "choices" in f.metadata:
            assert f.default in f.metadata["choices"], f.name


def test_train_help_shows_each_keys_help_default_and_authors_value(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "drop the last partial training batch of an epoch (default: true; protocol authors: false)" in text
    assert "--progress" not in text and "--quiet" in text
