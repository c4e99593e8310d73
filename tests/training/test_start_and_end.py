"""A run's start (the output prior, applied once, not on --resume) and end (final-epoch best.ckpt, weight EMA,
periodic checkpoints), through `fdep train` on tiny synthetic data."""

from __future__ import annotations

import csv
import logging

import torch

from fdep.cli.main import main
from fdep.training.checkpoint import read_checkpoint
from tests.run_helpers import train_args


def _first_epoch_p_background(run):
    with open(run / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("train/p_background")]
    return float(rows[0]["train/p_background"])


def test_the_prior_starts_the_run_at_its_probability_and_authors_protocol_does_not(tiny_data, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    assert main(train_args(tiny_data, tmp_path / "fdep", "--variant", "original", epochs=1)) == 0
    assert "output prior p=0.01: bias of head.block.4 set" in caplog.text
    assert _first_epoch_p_background(tmp_path / "fdep") < 0.05  # every background pixel started near 0.01
    caplog.clear()
    assert main(train_args(tiny_data, tmp_path / "authors", "--variant", "original", "--protocol", "authors",
                           "--crop", "64", epochs=1)) == 0
    assert "output prior" not in caplog.text
    assert _first_epoch_p_background(tmp_path / "authors") > 0.2  # p ~ 0.5 at the start, as the authors' code


def test_resume_keeps_the_trained_biases(tiny_data, tmp_path, caplog):
    run = tmp_path / "r"
    assert main(train_args(tiny_data, run, "--variant", "original", epochs=1)) == 0
    caplog.clear()
    caplog.set_level(logging.INFO)
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 0
    assert "output prior" not in caplog.text


def test_ema_validates_and_saves_the_average_and_resumes_both(tiny_data, tmp_path):
    run = tmp_path / "ema"
    assert main(train_args(tiny_data, run, "--variant", "original", "--ema-decay", "0.5", "--save-every", "1",
                           epochs=2)) == 0
    ckpts = run / "checkpoints"
    assert sorted(p.name for p in ckpts.glob("epoch=*.ckpt")) == ["epoch=0001.ckpt", "epoch=0002.ckpt"]
    last = read_checkpoint(ckpts / "last.ckpt")
    averaged, raw = last["state_dict"], last["current_model_state"]
    head = next(k for k in averaged if k.endswith("head.block.4.weight"))
    assert not torch.equal(averaged[head], raw[head])  # the average is saved, the raw weights travel beside it
    best = read_checkpoint(ckpts / "best.ckpt")
    assert best["epoch"] == last["epoch"]  # protocol fdep: the final epoch
    assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet"]) == 0
    assert read_checkpoint(ckpts / "last.ckpt")["epoch"] == 2  # 0-based: the third epoch ran
