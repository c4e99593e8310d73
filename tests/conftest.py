"""Shared test fixtures: tiny, offline, CPU-only."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Two xdist workers share two cores: one intra-op thread each avoids oversubscription.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# fdep's cache (split lists and statistics of user folders without them): never the user's own ~/.cache/fdep
os.environ["FDEP_CACHE"] = tempfile.mkdtemp(prefix="fdep-test-cache-")
atexit.register(shutil.rmtree, os.environ["FDEP_CACHE"], True)

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_root() -> Path:
    """Where the optional real datasets live (../shared/data, or $FDEP_SHARED_DATA)."""
    env = os.environ.get("FDEP_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def nuaa_root() -> Path:
    """The real NUAA-SIRST dataset folder; the test is skipped when it is absent."""
    root = shared_data_root() / "NUAA-SIRST"
    if not (root / "images").is_dir():
        pytest.skip("real NUAA-SIRST data not present (../shared/data/NUAA-SIRST)")
    return root


# Used by the training and tools tests.
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
