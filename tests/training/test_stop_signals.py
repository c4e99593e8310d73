"""Stopping `fdep train` with SIGTERM (kill, docker stop, Slurm) or SIGINT (Ctrl-C): a stop, never a success.

A real signal goes to a real `fdep train` subprocess on tiny synthetic data once its first epoch is
saved; the run must say so in one line, keep last.ckpt, release its lock and exit 143 / 130.
"""

from __future__ import annotations

import signal
import time

import pytest

from fdep.fileio import FolderLock
from fdep.training.checkpoint import finished_epochs, read_checkpoint
from tests.run_helpers import fdep_subprocess, train_args


def _default_sigint() -> None:
    # a child started from a non-interactive shell or a test runner may inherit SIGINT ignored
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stop_after_first_epoch(data, out, signum: int) -> tuple[int, str]:
    last = out / "checkpoints" / "last.ckpt"
    p = fdep_subprocess(train_args(data, out, "--variant", "original", "--val-every", "1000", epochs=10000),
                        background=True, preexec_fn=_default_sigint)
    try:
        deadline = time.monotonic() + 240
        while not last.exists() and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        assert p.poll() is None and last.exists(), p.stdout.read()[-3000:]
        p.send_signal(signum)
        text, _ = p.communicate(timeout=120)
    finally:
        p.kill()
    return p.returncode, text


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_the_run_with_one_line(tiny_data, tmp_path, signum, code):
    out = tmp_path / "run"
    rc, text = _stop_after_first_epoch(tiny_data, out, signum)
    name = signal.Signals(signum).name
    assert rc == code, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    errors = [line for line in text.splitlines() if line.startswith("fdep train:")]
    assert len(errors) == 1 and f"stopped by {name} after" in errors[0], text[-3000:]
    last = out / "checkpoints" / "last.ckpt"
    assert str(last) in errors[0] and f"fdep train --resume {out}" in errors[0]
    assert finished_epochs(read_checkpoint(last)) >= 1  # kept, complete
    assert not (out / FolderLock.NAME).exists()  # lock released
    assert not (out / "light").exists()  # a stopped run is not exported as if it had finished
    assert not list(last.parent.glob(".*.tmp"))
