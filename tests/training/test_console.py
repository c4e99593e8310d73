"""What fdep train shows and how it loads data: fdep's own lines only; workers chosen from the cores and kept."""

from __future__ import annotations

import pytest

from fdep.errors import ConfigError
from fdep.training.config import TrainConfig, resolve
from fdep.training.datamodule import SIRSTDataModule, auto_workers
from tests.run_helpers import fdep_subprocess, train_args

NOISE = ("litlogger", "Tip:", "LeafSpec", "deprecated", "GPU available", "TPU available", "Trainer.fit",
         "Warning", "warnings.warn", "worker processes", "┏", "Trainable params")


def test_terminal_shows_fdeps_lines_only(tiny_data, tmp_path):
    r = fdep_subprocess(train_args(tiny_data, tmp_path / "r", "--variant", "original", "--export-light", "false",
                                   epochs=1))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    text = r.stdout + r.stderr
    for noise in NOISE:
        assert noise not in text, f"{noise!r} in:\n{text}"
    assert "training acm (original)" in text and "epoch 1/1  val:" in text and "fdep train: done" in text


def test_auto_workers():
    assert auto_workers(1, cores=2) == 1  # a 2-core machine: one worker, one core for the model
    assert auto_workers(1, cores=1) == 0
    assert auto_workers(1, cores=16) == 4
    assert auto_workers(8, cores=16) == 1
    assert auto_workers(2, cores=2) == 0


def test_num_workers_auto_and_persistent(tiny_data, tmp_path):
    assert TrainConfig().num_workers is None
    assert resolve(None, {"num_workers": "auto"}).num_workers is None
    assert resolve(None, {"num_workers": "2"}).num_workers == 2
    with pytest.raises(ConfigError, match="num_workers"):
        resolve(None, {"num_workers": "-1"})
    for n, persistent in ((2, True), (0, False)):
        dm = SIRSTDataModule(TrainConfig(data=str(tiny_data), out=str(tmp_path), num_workers=n, crop=32))
        dm.setup("fit")
        for loader in (dm.train_dataloader(), dm.val_dataloader()):
            assert loader.num_workers == min(n, loader.num_workers) and loader.persistent_workers is persistent
    dm = SIRSTDataModule(TrainConfig(data=str(tiny_data), out=str(tmp_path), crop=32))
    assert dm.workers() == auto_workers(1)
