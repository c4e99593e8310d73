"""benchmarks/gpu_rows.py on the CPU with a tiny budget: a finished row is tested and plotted, a row stopped at
the budget is reported partial with its epochs, and the summary says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_rows.py"


def _run(data: Path, out: Path, epochs: int, budget: float) -> dict:
    cmd = [sys.executable, str(SCRIPT), "--data", str(data), "--out", str(out), "--budget-s", str(budget),
           "--test-reserve-s", "40", "--models", "acm", "--epochs", str(epochs), "--crop", "32",
           "--accelerator", "cpu"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=budget + 120)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads((out / "summary.json").read_text())


@pytest.mark.slow
def test_finished_row(tiny_data, tmp_path):
    s = _run(tiny_data, tmp_path / "o", epochs=2, budget=160)
    (row,) = s["rows"]
    assert row["status"] == "done" and row["epochs"] == 2 and not row["stopped"]
    assert row["tested"] in ("best.ckpt", "last.ckpt") and 0.0 <= row["test"]["hse_p"] <= 1.0
    assert (tmp_path / "o" / row["curve"]).is_file()
    assert (tmp_path / "o" / "rows" / "acm" / "test_test" / "results.json").is_file()
    assert "| acm | done | 2 |" in (tmp_path / "o" / "summary.md").read_text()


@pytest.mark.slow
def test_row_stopped_at_the_budget_is_partial(tiny_data, tmp_path):
    s = _run(tiny_data, tmp_path / "o", epochs=400, budget=75)
    (row,) = s["rows"]
    assert row["stopped"] and row["status"] == f"partial ({row['epochs']} epochs)" and row["epochs"] < 400
    assert (tmp_path / "o" / "rows" / "acm" / "checkpoints" / "last.ckpt").is_file() or row["epochs"] == 0
