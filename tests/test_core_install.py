"""The core install, as `pip install fdep` gives it (no extras, no torch): `make test` builds the wheel, installs it
into a second environment and names it in FDEP_CORE_VENV; these tests run fdep there. Skipped without it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from fdep.cli.main import COMMANDS

CORE = os.environ.get("FDEP_CORE_VENV")
pytestmark = pytest.mark.skipif(not CORE, reason="needs the core environment `make test` builds (FDEP_CORE_VENV)")
BIN = Path(CORE or ".").resolve() / "bin"


def core(argv: list[str], cwd: Path, program: str = "fdep") -> subprocess.CompletedProcess:
    """Run ``program`` of the core environment in ``cwd``: no PYTHONPATH, so the installed wheel is what runs."""
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(cwd), "FDEP_CACHE": str(cwd / "cache"), "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(BIN / program), *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


PROBE = """
import importlib.util, json, sys
import fdep, fdep.metrics, fdep.paper, fdep.data, fdep.data.prepare, fdep.data.download, fdep.data.registry
import numpy as np
gt = np.zeros((32, 32), bool); gt[10:13, 20:23] = True
scores = fdep.metrics.evaluate([gt.astype(float)], [gt], thresholds=9)
print(json.dumps({"torch_installed": importlib.util.find_spec("torch") is not None,
                  "torch_loaded": "torch" in sys.modules, "fdep": fdep.__file__,
                  "iou": scores["iou"], "pd": scores["pd"], "fa": scores["fa"],
                  "paper_rows": len(fdep.paper.all_rows()),
                  "splits": len(fdep.data.registry.packaged_split("NUAA-SIRST", "train"))}))
"""


def test_the_core_environment_runs_the_wheel_without_torch(tmp_path):
    r = core(["-c", PROBE], tmp_path, program="python")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert not got["torch_installed"] and not got["torch_loaded"]
    assert Path(got["fdep"]).is_relative_to(BIN.parent)  # the installed wheel, not this checkout's src/
    assert (got["iou"], got["pd"], got["fa"]) == (1.0, 1.0, 0.0)  # a prediction equal to its mask
    assert got["paper_rows"] > 0 and got["splits"] > 0  # package data (paper table, split lists) is in the wheel


def test_the_wheel_carries_every_weight_set_and_its_release_record(tmp_path):
    """The published sets (fdep.models.weights reads release.json beside each set's weights) ship as package data."""
    probe = ("import json; from importlib import resources\n"
             "root = resources.files('fdep') / 'weights'\n"
             "print(json.dumps({p.name: json.loads((p / 'release.json').read_text()) for p in root.iterdir()\n"
             "                  if (p / 'model.safetensors').is_file()}))\n")
    r = core(["-c", probe], tmp_path, program="python")
    assert r.returncode == 0, r.stderr
    shipped = Path(__file__).resolve().parents[1] / "src" / "fdep" / "weights"
    want = {p.parent.name: json.loads(p.read_text()) for p in shipped.glob("*/release.json")}
    assert want and json.loads(r.stdout) == want


def test_data_synth_check_and_evaluate_run_in_the_core(tmp_path):
    assert core(["data", "synth", "--n", "6", "--size", "64", "--out", "d", "--name", "s"], tmp_path).returncode == 0
    r = core(["data", "check", "d/s"], tmp_path)
    assert r.returncode == 0 and "d/s: 0 error(s), 0 warning(s)" in r.stderr, r.stderr
    r = core(["evaluate", "--pred", "d/s/masks", "--gt", "d/s", "--split", "test", "--json", "scores.json"], tmp_path)
    assert r.returncode == 0, r.stderr
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["n_images"] > 0 and (scores["iou"], scores["pd"], scores["fa"]) == (1.0, 1.0, 0.0)


def test_help_lists_every_command_in_the_core(tmp_path):
    r = core(["--help"], tmp_path)
    assert r.returncode == 0, r.stderr
    listed = r.stdout.split()
    assert all(c.removesuffix("_cmd") in listed for c in COMMANDS)


@pytest.mark.parametrize(("argv", "extra"), [
    (["train", "--data", "d", "--out", "run"], "train"),
    (["test", "--model", "mpcm", "--data", "d"], "train"),
    (["models"], "train"),
    (["export", "--checkpoint", "run", "--onnx", "m.onnx"], "export"),
    (["report", "run", "--out", "r.html"], "report"),
    (["quickstart", "--out", "q"], "vfm,report"),
])
def test_a_command_without_its_extra_says_what_to_install(tmp_path, argv, extra):
    r = core(argv, tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.endswith(f"this command needs: pip install 'fdep[{extra}]'\n")
