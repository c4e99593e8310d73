"""Fa has one unit and one label in every command, table and report: the paper's, "Fa (x1e-6)"."""

from __future__ import annotations

import re
from pathlib import Path

from fdep.metrics.units import FA_LABEL, FA_SCALE, FA_UNIT, fa_text

ROOT = Path(__file__).resolve().parents[2]
FA = 46.17e-6  # printed 46.17


def test_label_and_value():
    assert FA_LABEL == "Fa (x1e-6)" and fa_text(FA) == "46.17" and fa_text(None) == "n/a"


def test_fdep_test_line():
    from fdep.cli.test_cmd import format_results

    res = {"model": "acm", "variant": "original", "dataset_name": "d", "split": "test", "n_images": 3, "hse": 0.5,
           "fa": FA, "params_m": 0.4, "latency_s": 0.01, "device": "cpu"}
    assert f"{FA_LABEL} 46.17" in format_results(res)


def test_fdep_evaluate_table():
    from fdep.cli.evaluate_cmd import format_table

    res = {k: 0.5 for k in ("hse", "hse_p", "hse_t", "iou", "niou", "pd", "auc")} | {"fa": FA}
    head, row = format_table(res).splitlines()
    assert FA_LABEL in head
    col = head.index(FA_LABEL)
    assert row[col:col + len(FA_LABEL)].strip() == "46.17"  # the value stands under its label


def test_training_validation_line():
    from fdep.training.module import format_val_scores

    text = format_val_scores({"hse": 0.5, "pd": 0.9, "fa": FA})
    assert text.endswith(f"{FA_LABEL} 46.17") and "e-6" not in text.replace(FA_UNIT, "")


def test_report_and_model_card_and_paper_comparison():
    from fdep.paper import METRICS
    from fdep.tools import report
    from fdep.tools.hub_export import _scores_table as scores_table
    from fdep.tools.papercmp import format_comparison

    assert ("fa", FA_LABEL, FA_SCALE, True) in report.COLUMNS and FA_LABEL in report.TABLE_NOTE
    assert METRICS["fa"][1:] == (FA_SCALE, FA_UNIT)  # fdep.paper imports nothing of fdep: same unit by test
    assert f"| {FA_LABEL} | 46.17 |" in scores_table({"fa": FA, "n_images": 1})
    cmp = {"source": "s", "notes": [], "metrics": [{"metric": "fa", "title": "Fa", "run": 46.17, "paper": 40.0,
                                                    "diff": 6.17}]}
    assert FA_LABEL in format_comparison(cmp)


def test_no_other_spelling_of_the_unit_in_sources_and_docs():
    bad = re.compile(r"x1e6|Fa\(x|\}e-6")  # the former spellings: "Fa x1e6", "Fa(x1e6)", f"{v:.2f}e-6"
    hits = [f"{p.relative_to(ROOT)}:{i}" for base in ("src", "docs") for p in sorted((ROOT / base).rglob("*"))
            if p.suffix in (".py", ".md") for i, line in enumerate(p.read_text().splitlines(), 1) if bad.search(line)]
    assert not hits, hits


def test_sweep_table(tmp_path):
    from fdep.tools.sweep import write_results

    write_results([], tmp_path)
    text = (tmp_path / "results.md").read_text()
    assert f"{FA_LABEL} (paper, diff)" in text and "| fa (paper" not in text
