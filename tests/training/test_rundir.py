"""Run-directory guarantees: --overwrite loses nothing and reuses nothing, one writer per run directory,
metrics history across resumes, --resume never writes over unrelated files, fdep test --overwrite."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import time

import pytest

from fdep.cli.main import main
from fdep.fileio import FolderLock
from fdep.training.checkpoint import finished_epochs, read_checkpoint
from tests.run_helpers import fdep_subprocess, train_args


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    return err


@pytest.fixture(scope="module")
def acm_run(tiny_data, tmp_path_factory):
    """A finished 1-epoch acm run (copied by the tests that change it)."""
    out = tmp_path_factory.mktemp("rd") / "acm"
    old = os.umask(0o022)
    try:
        assert main(train_args(tiny_data, out, "--variant", "original", epochs=1)) == 0
    finally:
        os.umask(old)
    return out


def test_overwrite_moves_the_old_run_aside_and_uses_nothing_of_it(acm_run, tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(acm_run, run)
    (run / "test_test").mkdir()
    (run / "test_test" / "results.json").write_text("{}")
    # no validation in the new run, so it writes no best.ckpt: the old one must not be exported as the new model
    assert main(train_args(tiny_data, run, "--variant", "original", "--model", "alcnet", "--val-every", "1000",
                           "--overwrite", epochs=1)) == 0
    cfg = json.loads((run / "light" / "config.json").read_text())
    assert "alcnet" in json.dumps(cfg) and "acm" not in json.dumps(cfg).replace("alcnet", "")
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.ckpt"]
    assert not (run / "test_test").exists()
    assert read_checkpoint(run / "checkpoints" / "last.ckpt")["hyper_parameters"]["model"] == "alcnet"
    old = [p for p in tmp_path.iterdir() if p.name.startswith("run.old-")]
    assert len(old) == 1  # the earlier run, complete
    assert (old[0] / "test_test" / "results.json").read_text() == "{}"
    assert read_checkpoint(old[0] / "checkpoints" / "best.ckpt")["hyper_parameters"]["model"] == "acm"
    assert not (old[0] / FolderLock.NAME).exists() and not (run / FolderLock.NAME).exists()


def test_overwrite_that_fails_before_writing_puts_the_old_run_back(acm_run, tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(acm_run, run)
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    assert main(train_args(tiny_data, run, "--variant", "original", "--model", "nosuch", "--overwrite",
                           epochs=1)) == 2
    assert "unknown model" in _one_line_error(capsys)
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_overwrite_refuses_to_move_away_its_own_data(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_data, run / "tiny")
    assert main(train_args(run / "tiny", run, "--variant", "original", "--overwrite", epochs=1)) == 2
    assert "lies inside" in _one_line_error(capsys)
    assert (run / "tiny" / "images").is_dir()


def test_second_train_into_the_same_run_directory_is_refused(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    first = fdep_subprocess(train_args(tiny_data, run, "--variant", "original", "--export-light", "false",
                                       "--val-every", "1000", epochs=10000), background=True)
    try:
        deadline = time.monotonic() + 120
        while not (run / "checkpoints" / "last.ckpt").exists() and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.05)
        assert first.poll() is None, first.stdout.read()[-3000:]
        for extra in ((), ("--overwrite",)):
            t0 = time.monotonic()
            assert main(train_args(tiny_data, run, "--variant", "original", *extra, epochs=1)) == 2
            err = _one_line_error(capsys)
            assert f"in use by fdep train (pid {first.pid}" in err, err
            assert time.monotonic() - t0 < 30  # at once, not after a training
        assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet"]) == 2
        assert "in use" in _one_line_error(capsys)
        assert first.poll() is None  # the first run goes on
        assert not [p for p in tmp_path.iterdir() if ".old-" in p.name]
    finally:
        first.kill()
        first.wait(timeout=30)


def test_resume_keeps_the_metrics_history(tiny_data, tmp_path):
    run = tmp_path / "run"
    assert main(train_args(tiny_data, run, "--variant", "original", "--export-light", "false", epochs=1)) == 0
    before = _rows(run / "metrics.csv")
    # what a kill during epoch 2 leaves: rows of the unfinished epoch and a row cut in the middle
    with open(run / "metrics.csv", "a") as f:
        f.write("1,,2,,999.0,,,,,,,,\n1,,3,,99")
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 0
    rows = _rows(run / "metrics.csv")
    assert rows[: len(before)] == before  # epoch 1's rows are all still there, unchanged
    val = [int(r["epoch"]) for r in rows if r.get("val/hse")]
    assert val == [0, 1]
    assert not any(r.get("train/loss_step", "").startswith("99") for r in rows)
    assert {int(r["epoch"]) for r in rows if r.get("train/loss_epoch")} == {0, 1}


def test_resume_of_a_checkpoint_outside_a_run_directory(acm_run, tmp_path, capsys):
    user = tmp_path / "mine"
    user.mkdir()
    shutil.copy(acm_run / "checkpoints" / "last.ckpt", user / "model.ckpt")
    (user / "metrics.csv").write_text("my,own\n1,2\n")
    (user / "config.yaml").write_text("mine: true\n")
    assert main(["train", "--resume", str(user / "model.ckpt"), "--epochs", "2", "--quiet"]) == 2
    assert "--out" in _one_line_error(capsys)
    new = tmp_path / "continued"
    assert main(["train", "--resume", str(user / "model.ckpt"), "--out", str(new), "--epochs", "2",
                 "--export-light", "false", "--quiet"]) == 0
    assert (user / "metrics.csv").read_text() == "my,own\n1,2\n"
    assert (user / "config.yaml").read_text() == "mine: true\n"
    assert sorted(p.name for p in user.iterdir()) == ["config.yaml", "metrics.csv", "model.ckpt"]
    assert finished_epochs(read_checkpoint(new / "checkpoints" / "last.ckpt")) == 2
    # a non-empty --out that is not the checkpoint's run directory is not written into
    assert main(["train", "--resume", str(user / "model.ckpt"), "--out", str(user), "--epochs", "2", "--quiet"]) == 2
    assert "not empty" in _one_line_error(capsys)
    assert sorted(p.name for p in user.iterdir()) == ["config.yaml", "metrics.csv", "model.ckpt"]


def test_resume_into_a_new_run_directory_carries_the_history(acm_run, tmp_path):
    new = tmp_path / "longer"
    assert main(["train", "--resume", str(acm_run / "checkpoints" / "last.ckpt"), "--out", str(new), "--epochs", "2",
                 "--export-light", "false", "--quiet"]) == 0
    assert [int(r["epoch"]) for r in _rows(new / "metrics.csv") if r.get("val/hse")] == [0, 1]
    assert [int(r["epoch"]) for r in _rows(acm_run / "metrics.csv") if r.get("val/hse")] == [0]  # source untouched


def test_run_outputs_get_the_usual_permissions(acm_run, tiny_data, tmp_path):
    """Under umask 022 every output is 0644, as any file the user writes (mkstemp alone gives 0600)."""
    old = os.umask(0o022)
    try:
        out = tmp_path / "t"
        assert main(["test", "--checkpoint", str(acm_run / "checkpoints" / "best.ckpt"), "--data", str(tiny_data),
                     "--out", str(out), "--quiet"]) == 0
    finally:
        os.umask(old)
    files = [acm_run / "config.yaml", acm_run / "light" / "config.json", acm_run / "light" / "model.safetensors",
             acm_run / "checkpoints" / "last.ckpt", out / "results.json", out / "curves.npz",
             next((out / "preds").glob("*.png"))]
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f


def test_test_overwrite_leaves_no_stale_predictions(acm_run, tiny_data, tmp_path):
    out = tmp_path / "t"
    ckpt = str(acm_run / "checkpoints" / "best.ckpt")
    assert main(["test", "--checkpoint", ckpt, "--data", str(tiny_data), "--out", str(out), "--quiet"]) == 0
    assert (out / "preds").is_dir()
    assert main(["test", "--checkpoint", ckpt, "--data", str(tiny_data), "--out", str(out), "--no-preds",
                 "--overwrite", "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["curves.npz", "results.json"]
    old = [p for p in tmp_path.iterdir() if p.name.startswith("t.old-")]
    assert len(old) == 1 and (old[0] / "preds").is_dir()
