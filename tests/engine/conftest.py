"""Tiny synthetic data, a tiny Hugging Face DINOv2 VFM folder and helpers for the engine tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

#: settings every test run shares: tiny images, tiny batches, no workers, no progress bar
TINY = ["--model", "acm", "--crop", "64", "--batch-size", "4", "--lr", "0.003", "--val-every", "1",
        "--num-workers", "0", "--accelerator", "cpu", "--devices", "1", "--quiet", "--log-every", "1"]


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A 32-image 64x64 synthetic dataset (BasicIRSTD layout)."""
    from fdep.data import generate_synthetic

    root = tmp_path_factory.mktemp("data")
    return generate_synthetic(root, n=32, size=64, seed=0, name="tiny")


@pytest.fixture(scope="session")
def tiny_vfm(tmp_path_factory) -> Path:
    """A randomly initialised 4-block DINOv2 (hidden 32) saved with save_pretrained: the user-folder path."""
    import torch
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    cfg = Dinov2Config(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
                       image_size=70, patch_size=14)
    path = tmp_path_factory.mktemp("vfm") / "tiny-dinov2"
    Dinov2Model(cfg).save_pretrained(path)
    return path


def train_args(data: Path, out: Path, *extra: str, epochs: int = 2) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), "--epochs", str(epochs), *TINY, *extra]


def fdep_subprocess(args: list[str], timeout: float = 180, **kw) -> subprocess.Popen | subprocess.CompletedProcess:
    """Run ``python -m fdep.cli.main ARGS`` with this checkout's src first on the path."""
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "fdep.cli.main", *args]
    if kw.pop("background", False):
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, **kw)
