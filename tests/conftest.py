"""Shared test fixtures: tiny, offline, CPU-only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Two xdist workers share two cores: one intra-op thread each avoids oversubscription.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

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
