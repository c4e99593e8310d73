"""The rank fdep's training reads (Lightning's public rank_zero_only.rank): a DDP child is known by the environment
its launcher gives it (LOCAL_RANK, RANK, SLURM_PROCID), so only rank 0 creates the run folder."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ..run_helpers import SRC

PROBE = "from fdep.training.rank import global_rank, is_launched_child; print(global_rank(), is_launched_child())"


LAUNCHER_KEYS = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")


@pytest.mark.parametrize(("env", "expected"), [({}, "0 False"), ({"LOCAL_RANK": "1"}, "1 True")])
def test_rank_comes_from_the_launchers_environment(env, expected):
    clean = {k: v for k, v in os.environ.items() if k not in LAUNCHER_KEYS}
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                       env={**clean, **env, "PYTHONPATH": str(SRC)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[-2] == expected
