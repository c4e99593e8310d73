"""A test on another dataset than the weights were trained on is labelled cross-dataset, never given an
in-dataset paper row as its comparison (fdep test, report, sweep)."""

from __future__ import annotations

import json

import pytest

from fdep.tools.papercmp import cross_dataset, paper_comparison


def _results(trained: str | None, tested: str, **extra) -> dict:
    cfg = {"variant": "original", "vfm": "dinov2_vitl14", "protocol": "authors"}
    if trained is not None:
        cfg["data"] = trained
    return {"model": "acm", "variant": "original", "split": "test", "dataset_name": tested, "train_config": cfg,
            "hse": 0.7, "iou": 0.6, "pd": 0.9, "hse_p": 0.8, "hse_t": 0.85, "n_images": 664, **extra}


@pytest.mark.parametrize("trained, tested, cross", [
    ("/work/data/NUAA-SIRST", "NUAA-SIRST", False),
    ("data/nuaa_sirst/", "NUAA-SIRST", False),  # another spelling and a trailing slash: the same dataset
    ("/work/data/NUAA-SIRST", "NUDT-SIRST", True),
    ("data/NUDT-SIRST", "NUAA-SIRST", True),
    ("data/NUAA-SIRST+data/NUDT-SIRST+data/IRSTD-1K", "SIRST3", False),  # the union is SIRST3
    ("runs/x/data/synthetic", "NUAA-SIRST", True),
    ("data/my-set", "my-set", False),
    (None, "NUDT-SIRST", False),  # training data unknown: nothing to say
])
def test_cross_dataset_is_decided_from_the_recorded_training_data(trained, tested, cross):
    text = cross_dataset(_results(trained, tested))
    assert bool(text) is cross
    if cross:
        assert text.startswith("cross-dataset: trained on ")


def test_cross_dataset_names_both_and_gets_no_paper_row():
    r = _results("/work/data/NUAA-SIRST", "NUDT-SIRST")
    assert cross_dataset(r) == "cross-dataset: trained on NUAA-SIRST, tested on NUDT-SIRST"
    assert paper_comparison(r) is None
    same = _results("/work/data/NUDT-SIRST", "NUDT-SIRST")
    cmp = paper_comparison(same)
    assert cmp is not None and cmp["dataset"] == "NUDT-SIRST"


def test_report_labels_a_cross_dataset_run_and_shows_no_paper_row(tmp_path):
    from fdep.tools.report import write_report

    for name, trained in (("cross", "/d/NUAA-SIRST"), ("same", "/d/NUDT-SIRST")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(_results(trained, "NUDT-SIRST")))
    md = write_report([tmp_path / "cross", tmp_path / "same"], tmp_path / "r.md").read_text()
    assert "[cross-dataset: trained on NUAA-SIRST, tested on NUDT-SIRST]" in md
    assert md.count("paper, Table") == 1  # only the in-dataset run gets the paper's row


def test_sweep_table_shows_no_paper_numbers_for_a_cross_dataset_row(tmp_path):
    from fdep.tools.sweep import record_rows, write_results
    from fdep.tools.sweep_row import write_status
    from fdep.tools.sweep_select import make_rows

    from .test_sweep import write_config

    cfg = write_config(tmp_path / "cfg" / "nudt-sirst", "acm_original", "acm")
    (row,) = make_rows([cfg], out=tmp_path / "sweep")
    write_status(row, stage="tested", log="")
    row.test_dir.mkdir(parents=True)
    res = _results("/d/NUAA-SIRST", "NUDT-SIRST")
    res["cross_dataset"] = cross_dataset(res)
    (row.test_dir / "results.json").write_text(json.dumps(res))
    (rec,) = write_results(record_rows([row], tmp_path / "sweep"), tmp_path / "sweep")["records"]
    assert rec["paper_hse"] is None and "cross-dataset: trained on NUAA-SIRST" in rec["stage"]


def test_fdep_test_of_shipped_weights_on_another_dataset_says_cross_dataset(tmp_path, capsys):
    from fdep.cli.main import main
    from fdep.data import generate_synthetic

    generate_synthetic(tmp_path, n=4, size=64, seed=0, name="NUDT-SIRST")
    assert main(["test", "--model", "acm", "--weights", "nuaa-sirst", "--data", str(tmp_path / "NUDT-SIRST"),
                 "--split", "test", "--out", str(tmp_path / "out"), "--quiet", "--no-preds"]) == 0
    out = capsys.readouterr().out
    assert "cross-dataset: trained on NUAA-SIRST, tested on NUDT-SIRST" in out
    assert "paper:" not in out
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    assert res["cross_dataset"].startswith("cross-dataset") and res["paper"] is None
