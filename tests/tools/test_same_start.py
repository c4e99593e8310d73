"""benchmarks/same_start.py: from one initial draw, fdep's network, loss and optimiser train as the authors' do.

Needs a YuChuang1205/PAL checkout (FDEP_REF_PAL); skipped without one.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from tests.scripts import load_script


def _pal_root() -> Path:
    path = os.environ.get("FDEP_REF_PAL")
    if not path or not (Path(path) / "model" / "ACM").exists():
        pytest.skip("FDEP_REF_PAL not set to a YuChuang1205/PAL checkout")
    return Path(path)


@pytest.mark.parametrize("model", ["acm", "alcnet"])
def test_same_start_trains_alike(model, tiny_data, tmp_path):
    pal = _pal_root()
    mod = load_script("benchmarks/same_start.py")
    out = tmp_path / "s.csv"
    assert mod.main(["--pal", str(pal), "--model", model, "--data", str(tiny_data), "--epochs", "2",
                     "--crop", "32", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2
    for r in rows:
        la, lf = float(r["loss_authors"]), float(r["loss_fdep"])
        assert abs(la - lf) <= 1e-4 * max(1.0, abs(la)), r
        assert float(r["max_step_loss_diff"]) < 1e-3, r
        assert abs(float(r["p_target_authors"]) - float(r["p_target_fdep"])) < 1e-3, r
        assert float(r["max_logit_diff_test0"]) < 1e-2, r
