"""Chance-level validation: the definition, the once-only warning of the training module, val/pos_frac."""

from __future__ import annotations

import csv
import logging

import numpy as np
import pytest

from fdep.cli.main import main
from fdep.errors import ConfigError
from fdep.training.chance import CHANCE_FACTOR, at_chance, chance_level, trailing_chance
from fdep.training.config import TrainConfig, resolve
from tests.run_helpers import train_args


def test_definition():
    assert CHANCE_FACTOR == 2.0 and chance_level(0.001) == pytest.approx(0.002)
    assert at_chance(0.0015, 0.001) and not at_chance(0.0025, 0.001)
    assert not at_chance(float("nan"), 0.001) and not at_chance(0.0001, float("nan")) and not at_chance(0.0, 0.0)
    assert trailing_chance([0.5, 0.001, 0.001], [0.001] * 3) == 2
    assert trailing_chance([0.001, 0.5], [0.001] * 2) == 0 and trailing_chance([], []) == 0


def test_random_scores_sit_at_chance_and_a_weak_detector_does_not():
    """The factor 2 separates an uninformative map (AP ~ positive fraction) from a barely informative one."""
    from fdep.metrics import evaluate

    rng = np.random.default_rng(0)
    gts, noise, weak = [], [], []
    for _ in range(8):
        g = np.zeros((64, 64), bool)
        for y, x in rng.integers(4, 60, (3, 2)):
            g[y - 1:y + 2, x - 1:x + 2] = True
        n = rng.random((64, 64))
        gts.append(g)
        noise.append(n)
        weak.append(np.clip(n * 0.5 + 0.3 * g, 0, 1))  # targets only slightly brighter on average
    pi = sum(g.sum() for g in gts) / sum(g.size for g in gts)
    assert at_chance(evaluate(noise, gts)["hse_p"], pi)
    assert not at_chance(evaluate(weak, gts)["hse_p"], pi)


def _module(patience: int, loss: str = "eedm"):
    from fdep.training.module import SIRSTModule

    cfg = TrainConfig(model="acm", variant="original", chance_patience=patience, loss=loss, mean=100.0, std=50.0)
    return SIRSTModule(**cfg.to_dict())


def _warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "chance level" in r.getMessage()]


def test_module_warns_once_after_k_chance_validations(caplog):
    caplog.set_level(logging.WARNING, logger="fdep.training")
    mod = _module(patience=3)
    stuck, learning = {"hse_p": 0.0015, "pos_frac": 0.001}, {"hse_p": 0.3, "pos_frac": 0.001}
    for vals in (stuck, stuck, learning, stuck, stuck):  # the streak is broken: no warning yet
        mod._track_chance(vals)
    assert _warnings(caplog) == []
    mod._track_chance(stuck)  # the third in a row
    (msg,) = _warnings(caplog)
    assert "3 validations in a row" in msg and "Training continues" in msg and "EEDM" in msg
    assert "220 epochs" in msg and "2 x the validation positive-pixel fraction" in msg
    for vals in (stuck, stuck, learning, stuck, stuck, stuck):
        mod._track_chance(vals)
    assert len(_warnings(caplog)) == 1  # said once per run


def test_module_patience_zero_never_warns_and_other_losses_are_worded_generally(caplog):
    caplog.set_level(logging.WARNING, logger="fdep.training")
    mod = _module(patience=0)
    for _ in range(50):
        mod._track_chance({"hse_p": 0.0, "pos_frac": 0.001})
    assert _warnings(caplog) == []
    mod = _module(patience=1, loss="softiou")
    mod._track_chance({"hse_p": 0.0, "pos_frac": 0.001})
    (msg,) = _warnings(caplog)
    assert "EEDM" not in msg and "after many epochs" in msg


def test_config_key():
    assert TrainConfig().chance_patience == 20
    assert resolve(None, {"chance_patience": "5"}).chance_patience == 5
    with pytest.raises(ConfigError, match="chance_patience"):
        resolve(None, {"chance_patience": "-1"})


def test_metrics_csv_logs_the_validation_positive_fraction(tiny_data, tmp_path):
    from fdep.training.datamodule import build_datasets

    out = tmp_path / "run"
    assert main(train_args(tiny_data, out, "--variant", "original", "--chance-patience", "1", epochs=1)) == 0
    with open(out / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("val/pos_frac")]
    assert len(rows) == 1
    cfg = resolve(out / "config.yaml", {})
    _train, val = build_datasets(cfg)
    masks = [val[i]["mask"].numpy() > 0.5 for i in range(len(val))]
    expected = sum(m.sum() for m in masks) / sum(m.size for m in masks)
    assert float(rows[0]["val/pos_frac"]) == pytest.approx(expected, rel=1e-6)  # logged as float32
