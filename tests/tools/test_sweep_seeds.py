"""fdep sweep over seeds: one row per seed, and the mean ± std beside each seed and the paper's number."""

from __future__ import annotations

import csv
import json
import statistics

import pytest

from fdep.errors import InputError
from fdep.tools.sweep import record_rows, run_sweep, write_results
from fdep.tools.sweep_row import Row, train_args, write_status
from fdep.tools.sweep_select import make_rows, parse_seeds

from .test_sweep import write_config


def _fake_tested(row: Row, hse: float, spread: float = 0.05) -> None:
    write_status(row, stage="tested", log="")
    row.test_dir.mkdir(parents=True, exist_ok=True)
    (row.test_dir / "results.json").write_text(json.dumps(
        {"hse": hse, "iou": hse - 0.1, "pd": 0.9, "fa": 1e-5, "params_m": 0.4, "model": row.model,
         "variant": row.variant, "dataset_name": "nuaa-sirst", "split": "test", "output_spread": spread,
         "collapsed": spread < 1e-4}))


def test_parse_seeds_lists_and_ranges():
    assert parse_seeds("0,1,2") == [0, 1, 2]
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("3, 7") == [3, 7]
    assert parse_seeds(None) is None
    for bad in ("a", "1,1", "1,,2"):
        with pytest.raises(InputError):
            parse_seeds(bad)


def test_seeds_make_one_row_each_from_the_cli_or_the_config(tmp_path):
    cfg = write_config(tmp_path / "nuaa-sirst", "acm_original", "acm", seeds=[0, 1, 2])
    rows = make_rows([cfg], out=tmp_path / "sweep")
    assert [r.name for r in rows] == [f"nuaa-sirst/acm_original/seed{s}" for s in (0, 1, 2)]
    assert [r.seed for r in rows] == [0, 1, 2] and {r.group for r in rows} == {"nuaa-sirst/acm_original"}
    assert len({r.run_dir for r in rows}) == 3 and rows[1].run_dir.endswith("acm_original/seed1")
    assert train_args(rows[2], resume=False)[-2:] == ["--seed", "2"]
    # --seeds replaces the config's list; a plain config stays one row with its own seed
    assert [r.seed for r in make_rows([cfg], out=tmp_path / "s2", seeds=[5, 6])] == [5, 6]
    plain = write_config(tmp_path / "nuaa-sirst", "alcnet_original", "alcnet")
    (row,) = make_rows([plain], out=tmp_path / "s3")
    assert row.seed is None and row.name == "nuaa-sirst/alcnet_original"
    with pytest.raises(InputError, match="not both"):
        make_rows([cfg], out=tmp_path / "s4", seeds=[1], overrides={"seed": "3"})
    bad = write_config(tmp_path / "nuaa-sirst", "mlclnet_original", "mlclnet", seeds="0,1")
    with pytest.raises(InputError, match="seeds"):
        make_rows([bad], out=tmp_path / "s5")


def test_table_shows_each_seed_then_mean_and_std_and_names_failed_and_collapsed_seeds(tmp_path):
    cfg = write_config(tmp_path / "cfg" / "nuaa-sirst", "acm_original", "acm", seeds=[0, 1, 2, 3])
    out = tmp_path / "sweep"
    rows = make_rows([cfg], out=out)
    _fake_tested(rows[0], 0.70)
    _fake_tested(rows[1], 0.74)
    _fake_tested(rows[2], 0.0, spread=0.0)  # collapsed: a constant output, counted and named
    write_status(rows[3], stage="failed", failed_stage="train", log="")
    table = write_results(record_rows(rows, out), out)
    (mean_row,) = table["seed_summaries"]
    values = [70.0, 74.0, 0.0]
    assert mean_row["hse"] == pytest.approx(round(statistics.mean(values), 2))
    assert mean_row["hse_std"] == pytest.approx(round(statistics.stdev(values), 2))
    assert mean_row["paper_hse"] == pytest.approx(77.86)  # ACM Original NUAA-SIRST, Table 2
    assert mean_row["diff_hse"] == pytest.approx(round(mean_row["hse"] - 77.86, 2))
    assert "3 of 4 seeds" in mean_row["stage"] and "seed 3: failed" in mean_row["stage"]
    assert "collapsed: seed 2" in mean_row["stage"]
    md = (out / "results.md").read_text()
    assert "| nuaa-sirst/acm_original/seed2 | tested (collapsed: constant output) |" in md
    assert "| nuaa-sirst/acm_original/seed3 | failed |" in md
    line = next(ln for ln in md.splitlines() if ln.startswith("| **nuaa-sirst/acm_original (mean ± std)**"))
    assert f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f} (77.86," in line
    with open(out / "results.csv", newline="") as f:
        recs = list(csv.DictReader(f))
    assert [r["row"] for r in recs][-1] == "nuaa-sirst/acm_original (mean ± std)"
    assert recs[-1]["hse_std"] and recs[0]["seed"] == "0"


def test_seeds_of_a_sweep_run_for_real(tmp_path):
    """Two seeds of a 1-epoch tiny config train and test as two rows with different weights, then a mean."""
    from fdep.data import generate_synthetic

    root = tmp_path / "data"
    generate_synthetic(root, n=12, size=64, seed=0, name="tiny")
    cfg = write_config(tmp_path / "cfg" / "tiny", "acm_original", "acm")
    out = tmp_path / "sweep"
    rows = make_rows([cfg], out=out, data_root=str(root), seeds=[0, 1])
    summary = run_sweep(rows, out, echo=lambda *_: None)
    assert [o["outcome"] for o in summary["outcomes"]] == ["done", "done"]
    configs = [json.loads((r.test_dir / "results.json").read_text())["train_config"] for r in rows]
    assert [c["seed"] for c in configs] == [0, 1]
    (mean_row,) = summary["seed_summaries"]
    assert mean_row["stage"].startswith("2 of 2 seeds")
