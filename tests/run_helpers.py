"""Helpers for the training and tools tests: the tiny `fdep train` arguments and a CLI subprocess runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

#: settings every test run shares: tiny images, tiny batches, no workers, no progress bar
TINY = ["--model", "acm", "--crop", "64", "--batch-size", "4", "--lr", "0.003", "--val-every", "1",
        "--num-workers", "0", "--accelerator", "cpu", "--devices", "1", "--quiet", "--log-every", "1"]


def train_args(data: Path, out: Path, *extra: str, epochs: int = 2) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), "--epochs", str(epochs), *TINY, *extra]


def fdep_subprocess(args: list[str], timeout: float = 180, **kw) -> subprocess.Popen | subprocess.CompletedProcess:
    """Run ``python -m fdep.cli.main ARGS`` with this checkout's src first on the path.

    ``env_extra``: environment variables to set, or with value None to remove, for this run.
    """
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    for k, v in (kw.pop("env_extra", None) or {}).items():
        env.pop(k, None) if v is None else env.__setitem__(k, v)
    cmd = [sys.executable, "-m", "fdep.cli.main", *args]
    if kw.pop("background", False):
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, **kw)
