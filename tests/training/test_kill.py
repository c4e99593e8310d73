"""Crash safety: a SIGKILL during a checkpoint save or during training never corrupts last.ckpt."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from fdep.training.checkpoint import AtomicCheckpointIO, finished_epochs, read_checkpoint
from tests.run_helpers import SRC, fdep_subprocess, train_args

SLOW_SAVE = textwrap.dedent(
    """
    import sys, time, torch
    from fdep.training.checkpoint import AtomicCheckpointIO

    class Slow:
        def __reduce__(self):
            print("pickling", flush=True)
            time.sleep(60)
            return (int, (0,))

    io = AtomicCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}, "hyper_parameters": {"n": 1}}, sys.argv[1])
    print("first saved", flush=True)
    io.save_checkpoint({"state_dict": {"w": torch.zeros(10**6)}, "hyper_parameters": {"n": 2}, "x": Slow()},
                       sys.argv[1])
    """
)


def test_sigkill_mid_save_keeps_previous_checkpoint(tmp_path):
    target = tmp_path / "ckpts" / "last.ckpt"
    env = dict(os.environ, PYTHONPATH=str(SRC))
    p = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(target)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "first saved"
        assert p.stdout.readline().strip() == "pickling"  # the second save is under way
        assert list(target.parent.glob(".last.ckpt.*.tmp"))  # ... into a temporary file
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        p.kill()
    ckpt = read_checkpoint(target)
    assert ckpt["hyper_parameters"] == {"n": 1} and torch.equal(ckpt["state_dict"]["w"], torch.ones(3))


def test_failed_save_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"state_dict": {}, "hyper_parameters": {"n": 1}}, target)

    def boom(obj, f, *a, **k):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        io.save_checkpoint({"state_dict": {}, "hyper_parameters": {"n": 2}}, target)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]
    assert read_checkpoint(target)["hyper_parameters"] == {"n": 1}


@pytest.mark.slow
def test_sigkill_during_training_then_resume(tiny_data, tmp_path):
    out = tmp_path / "killed"
    last = out / "checkpoints" / "last.ckpt"
    p = fdep_subprocess(train_args(tiny_data, out, "--variant", "original", "--export-light", "false", "--val-every",
                                   "1000", epochs=10000),
                        background=True)
    seen = 0
    try:
        deadline = time.monotonic() + 180
        while seen < 2 and time.monotonic() < deadline and p.poll() is None:
            if last.exists():
                seen = max(seen, finished_epochs(read_checkpoint(last)))
            time.sleep(0.05)
        assert p.poll() is None, p.stdout.read()[-3000:]
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        p.kill()
    assert seen >= 2
    done = finished_epochs(read_checkpoint(last))  # loads: not corrupt
    assert done >= seen  # no finished epoch lost
    r = fdep_subprocess(["train", "--resume", str(out), "--epochs", str(done + 1), "--quiet"], timeout=180)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert finished_epochs(read_checkpoint(last)) == done + 1
    assert not list(last.parent.glob(".*.tmp"))
    # the metrics history of the epochs before the kill survives the resume, each epoch once
    with open(out / "metrics.csv", newline="") as f:
        epochs = [int(r["epoch"]) for r in csv.DictReader(f) if r.get("train/loss_epoch")]
    assert epochs == list(range(done + 1))
