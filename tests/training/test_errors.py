"""User errors of train/test: one line, non-zero exit, nothing overwritten."""

from __future__ import annotations

import shutil

import pytest
import torch

from fdep.cli.main import main
from fdep.errors import ModelError, WeightsError
from fdep.training.checkpoint import load_model_from_checkpoint, read_checkpoint
from tests.run_helpers import train_args


@pytest.fixture(scope="module")
def run(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("err") / "run"
    assert main(train_args(tiny_data, out, "--variant", "original", "--export-light", "false", epochs=1)) == 0
    return out


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    return err


def test_existing_out_is_not_overwritten(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(train_args(tiny_data, out, epochs=1)) != 0
    assert "--overwrite" in _one_line_error(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"


def test_existing_test_out_is_not_overwritten(run, tiny_data, tmp_path, capsys):
    out = tmp_path / "t"
    out.mkdir()
    (out / "results.json").write_text("{}")
    assert main(["test", "--checkpoint", str(run / "checkpoints" / "last.ckpt"), "--data", str(tiny_data),
                 "--out", str(out), "--quiet"]) != 0
    assert "exists" in _one_line_error(capsys) and (out / "results.json").read_text() == "{}"


def test_missing_and_corrupt_checkpoints(run, tmp_path, capsys):
    with pytest.raises(WeightsError, match="not found"):
        load_model_from_checkpoint(tmp_path / "nope.ckpt")
    good = (run / "checkpoints" / "last.ckpt").read_bytes()
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(good[: len(good) // 2])
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"this is not a checkpoint" * 10)
    for bad in (truncated, garbage):
        with pytest.raises(WeightsError, match="cannot read checkpoint"):
            load_model_from_checkpoint(bad)
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(WeightsError, match="not an fdep training checkpoint"):
        load_model_from_checkpoint(foreign)
    assert main(["test", "--checkpoint", str(truncated), "--data", str(tmp_path), "--quiet"]) != 0
    assert "truncated.ckpt" in _one_line_error(capsys)


def test_checkpoint_of_another_model(run, tmp_path, capsys):
    ckpt = run / "checkpoints" / "last.ckpt"
    with pytest.raises(ModelError, match="'acm', but 'dnanet' was asked"):
        load_model_from_checkpoint(ckpt, model="dnanet")
    with pytest.raises(ModelError, match="variant"):
        load_model_from_checkpoint(ckpt, variant="fdep")
    # a checkpoint whose weights belong to another network than its config says
    c = read_checkpoint(ckpt)
    c["hyper_parameters"]["model"] = "alcnet"
    tampered = tmp_path / "tampered.ckpt"
    torch.save(c, tampered)
    with pytest.raises(WeightsError, match="do not fit model 'alcnet'"):
        load_model_from_checkpoint(tampered)
    # resuming a run as another model
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    assert main(["train", "--resume", str(copy), "--model", "alcnet", "--epochs", "2", "--quiet"]) != 0
    assert "trained with model 'acm'" in _one_line_error(capsys)


def test_resume_without_checkpoint(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["train", "--resume", str(tmp_path / "empty")]) != 0
    assert "nothing to resume" in _one_line_error(capsys)


def test_out_of_memory_is_one_line_with_advice(tiny_data, tmp_path, capsys, monkeypatch):
    from fdep.training.module import SIRSTModule

    def oom(self, batch, batch_idx):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(SIRSTModule, "training_step", oom)
    assert main(train_args(tiny_data, tmp_path / "oom", "--variant", "original", epochs=1)) != 0
    err = _one_line_error(capsys)
    assert "out of memory" in err and "--batch-size" in err and "--crop" in err


def test_non_finite_loss_is_one_line_with_advice(tiny_data, tmp_path, capsys, monkeypatch):
    from fdep.losses.coisd import CoISDLoss

    def nan_loss(self, outputs, target):
        return sum(o.sum() for o in outputs.values()) * float("nan")

    monkeypatch.setattr(CoISDLoss, "__call__", nan_loss)
    assert main(train_args(tiny_data, tmp_path / "nan", "--variant", "original", epochs=1)) != 0
    err = _one_line_error(capsys)
    assert "training loss is nan" in err and "--lr" in err


def test_missing_data_and_vfm(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "r"), "--variant", "original"]) != 0
    assert "--data" in _one_line_error(capsys)


def test_missing_vfm_weights_is_one_line(tiny_data, tmp_path, capsys):
    out = tmp_path / "novfm"
    assert main(train_args(tiny_data, out, "--variant", "fdep", "--vfm", "dinov2_vitl14", epochs=1)) != 0
    assert "dinov2_vitl14" in _one_line_error(capsys)


def test_failed_start_leaves_no_empty_run_directory(tiny_data, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(train_args(tiny_data, out, "--variant", "original", "--model", "nosuch", epochs=1)) != 0
    assert "unknown model 'nosuch'" in _one_line_error(capsys)
    assert not out.exists()
