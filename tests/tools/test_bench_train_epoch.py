"""benchmarks/bench_train_epoch.py: fdep's and the authors' training epochs alternate and the ratio is reported.

Needs a YuChuang1205/PAL checkout (FDEP_REF_PAL) and albumentations 1.3.0; skipped without them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.scripts import load_script


def test_epochs_alternate_and_ratio_is_theirs(tiny_data, tmp_path, capsys):
    pal = os.environ.get("FDEP_REF_PAL")
    if not pal or not (Path(pal) / "components").exists():
        pytest.skip("FDEP_REF_PAL not set to a YuChuang1205/PAL checkout")
    alb = pytest.importorskip("albumentations")
    if alb.__version__ != "1.3.0":
        pytest.skip(f"albumentations 1.3.0 needed (the authors' version), found {alb.__version__}")
    mod = load_script("benchmarks/bench_train_epoch.py")
    out = tmp_path / "e.json"
    assert mod.main(["--pal", pal, "--data", str(tiny_data), "--model", "acm", "--crop", "32", "--epochs", "2",
                     "--threads", "1", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert len(r["epochs"]["fdep"]) == len(r["epochs"]["authors"]) == 2
    assert all(t > 0 for v in r["epochs"].values() for t in v)
    assert r["ratio"] == pytest.approx(r["median"]["fdep"] / r["median"]["authors"])
    text = capsys.readouterr().out
    assert text.index("epoch 1: fdep") < text.index("epoch 2: fdep")
