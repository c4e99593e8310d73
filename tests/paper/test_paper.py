"""fdep.paper: the packaged results.csv parses, holds every row of the paper's tables, agrees with
SPEC.md and with itself, and paper_row finds the right row (or none)."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

import fdep.paper as paper
from fdep.paper import PaperDataError, paper_row, rows, run_setting

PAPER_TEXT = Path(__file__).resolve().parents[2].parent / "shared" / "paper" / "000_24773889b0e1f218.txt"
CSV_TEXT = resources.files("fdep.paper").joinpath("results.csv").read_text(encoding="utf-8")


def test_every_table_has_its_rows():
    counts = Counter(r.table for r in paper.all_rows())
    # Table 1: 8 networks x 3 variants; Table 2: the same x 3 datasets; S3: 15 methods + MSDA-Net's 3 rows;
    # S4: the same x 3 datasets; ablations: Table 3 five schemes, Tables 4/S2 3 scales x SAMF on/off,
    # Table 5 3 sharings x EDL on/off, Table S1 8 level sets, Table 6 five rows
    assert counts == {"1": 24, "2": 72, "S3": 18, "S4": 54, "3": 5, "4": 6, "5": 6, "S1": 8, "S2": 6, "6": 5}
    assert counts == paper.EXPECTED_ROWS
    for table in ("1", "S3"):
        assert all(r.dataset == "SIRST3" for r in rows(table=table))
    for table in ("2", "S4"):
        per = Counter(r.dataset for r in rows(table=table))
        assert per == {"NUAA-SIRST": per["NUAA-SIRST"], "NUDT-SIRST": per["NUAA-SIRST"],
                       "IRSTD-1K": per["NUAA-SIRST"]}
    assert {r.network for r in rows(table="S3")} >= {"FKRW", "MPCM", "NIPPS", "MTU-Net", "RPCANet", "SCTransNet",
                                                     "ILNet", "SDSNet"}


def test_spec_section_7_nuaa_hse():
    spec = {"ACM": (77.86, 82.01, 80.09), "ALCNet": (78.87, 85.38, 81.04), "MLCL-Net": (83.28, 89.66, 85.40),
            "ALCL-Net": (84.11, 87.63, 85.53), "DNA-Net": (85.31, 89.07, 87.62), "GGL-Net": (88.43, 90.41, 89.19),
            "UIU-Net": (85.91, 86.39, 85.96), "MSDA-Net": (83.58, 88.00, 83.96)}
    for net, hse in spec.items():
        got = tuple(paper_row(net, v, "NUAA-SIRST").values["hse"] for v in ("original", "fdep-main", "fdep"))
        assert got == hse, net
        assert all(paper_row(net, v, "NUAA-SIRST").table == "2" for v in ("original", "fdep-main", "fdep"))


def test_spec_section_3_params_match_tables_1_and_s3():
    spec = {"acm": 0.40, "alcnet": 0.43, "mlclnet": 0.66, "alclnet": 5.67, "dnanet": 4.70, "gglnet": 8.99,
            "uiunet": 50.54, "msdanet": 4.79, "mtunet": 12.75, "rpcanet": 0.68, "sctransnet": 11.32, "ilnet": 4.04,
            "sdsnet": 2.55}
    for net, p in spec.items():
        assert paper_row(net, "original", "SIRST3").values["params_m"] == p, net


def test_spot_values_across_tables():
    def one(**kw):
        (r,) = [r for r in rows(**{k: v for k, v in kw.items() if k != "label"}) if r.label == kw["label"]]
        return r.values

    assert paper_row("acm", "fdep", "SIRST3").values == {
        "iou": 68.56, "niou": 68.01, "pd": 95.42, "fa": 13.92, "hse_p": 89.17, "hse_t": 85.02, "hse": 75.81,
        "params_m": 0.85, "time_s": 0.022}
    assert paper_row("uiunet", "fdep-main", "SIRST3").values["fa"] == 5.35
    assert paper_row("msdanet", "fdep", "IRSTD-1K").values == {"iou": 71.52, "pd": 93.60, "hse_p": 91.74,
                                                               "hse_t": 86.51, "hse": 79.37}
    assert paper_row("dnanet", "original", "NUDT-SIRST").values["hse_t"] == 96.88
    assert paper_row("nipps", "original", "SIRST3").values["time_s"] == 31.047
    assert "params_m" not in paper_row("fkrw", "original", "SIRST3").values  # printed "-"
    assert paper_row("fkrw", "original", "NUDT-SIRST").values["hse"] == 8.20
    assert paper_row("rpcanet", "original", "NUAA-SIRST").values["hse"] == 50.71
    assert one(table="S1", label="levels 4/9/14/19/24")["hse"] == 91.19
    assert one(table="5", label="share D + EDL")["hse"] == 84.38
    assert one(table="3", label="Scheme1")["params_m"] == 5.05
    assert one(table="S2", label="ViT-B/14 SAMF")["hse_p"] == 97.34
    assert one(table="6", label="DINO + D (DINO trained)")["fa"] == 80.67


def test_internal_consistency():
    # HSE = HSE-P x HSE-T up to the rounding of the printed factors, except where the paper itself disagrees
    flagged = 0
    for r in paper.all_rows():
        v = r.values
        if {"hse_p", "hse_t", "hse"} <= set(v):
            ok = abs(v["hse_p"] * v["hse_t"] / 100 - v["hse"]) <= 0.015
            assert ok or "HSE-P x HSE-T" in r.note, (r.table, r.dataset, r.network, r.label)
            flagged += not ok
    assert flagged == 3
    # the supplementary tables repeat the main tables' rows for the same network/variant/dataset
    main = {(r.dataset, r.network, r.variant): r.values for r in paper.all_rows() if r.table in ("1", "2")}
    repeats = [r for r in paper.all_rows() if r.table in ("S3", "S4") and (r.dataset, r.network, r.variant) in main]
    assert len(repeats) == 10 + 30
    for r in repeats:
        assert r.values == main[(r.dataset, r.network, r.variant)], (r.table, r.network, r.variant, r.dataset)
    # the FDEP rows of a network have the same parameter count in both variants
    for r in rows(table="1", variant="fdep"):
        assert r.values["params_m"] == paper_row(r.network, "fdep-main", "SIRST3").values["params_m"]


def test_values_appear_in_the_paper_text():
    """Every row's printed numbers occur, in order, on one line of the paper's text."""
    if not PAPER_TEXT.is_file():
        pytest.skip("the paper text (../shared/paper) is not present")
    lines = []
    for line in PAPER_TEXT.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"\((?:⇑|⇓)\s*[\d.]+\)", " ", line)
        lines.append(re.findall(r"(?<![\w.])(\d+\.\d+|-)(?![\d.])", line))
    header = [ln for ln in CSV_TEXT.splitlines() if ln and not ln.startswith("#")]
    cols = header[0].split(",")
    metric_cols = [c for c in cols if c in paper.METRICS]
    for rec in header[1:]:
        fields = dict(zip(cols, rec.split(",")))
        printed = [fields[c] for c in metric_cols if fields[c]]
        if fields["table"] in ("S3",) and not fields["params_m"]:
            printed.insert(7, "-")  # the classical methods print "-" for parameters
        found = any(
            printed == nums[i:i + len(printed)] for nums in lines for i in range(len(nums) - len(printed) + 1))
        assert found, rec


def test_lookup_names_datasets_and_settings():
    assert paper_row("MLCL-Net", "original", "nudt-sirst") == paper_row("mlclnet", "original", "NUDT-SIRST")
    assert paper_row("ilnet_l", "original", "SIRST3").network == "ILNet"
    # SIRST3 by name or as the union fdep test records, in any order
    for name in ("SIRST3", "NUAA-SIRST+NUDT-SIRST+IRSTD-1K", "IRSTD-1K+NUAA-SIRST+NUDT-SIRST"):
        assert paper_row("acm", "original", name).table == "1"
    assert paper_row("acm", "original", "NUAA-SIRST+NUDT-SIRST") is None
    assert paper_row("acm", "original", "tiny") is None
    assert paper_row("tools_tiny", "original", "NUAA-SIRST") is None
    assert paper_row("acm", "fdep", "SIRST3", {"vfm": "ViT-S/14", "samf": "yes", "share": "E+D",
                                               "edl": "no"}) is None  # ablations are MSDA-Net only
    assert paper_row("mtunet", "fdep", "SIRST3") is None  # no FDEP row for MTU-Net
    assert paper_row("acm", "other", "SIRST3") is None
    # a run's config in the paper's terms selects ablation rows
    base = {"variant": "fdep", "vfm": "dinov2_vitl14", "fusion": "samf", "share": "encoder+decoder",
            "edl_weight": 0.0, "vfm_layers": [6, 12, 18, 24]}
    assert run_setting(base) == paper.default_setting("fdep")
    assert run_setting({**base, "vfm_layers": None}) == paper.default_setting("fdep")
    assert paper_row("msdanet", "fdep", "SIRST3", run_setting(base)).table == "1"
    cases = [({"vfm": "dinov2_vits14", "vfm_layers": None}, "4", "ViT-S/14 SAMF"),
             ({"vfm": "facebook/dinov2-base", "fusion": "concat", "vfm_layers": [3, 6, 9, 12]}, "4",
              "ViT-B/14 w/o SAMF"),
             ({"fusion": "add"}, "3", "Scheme3"),
             ({"share": "decoder", "edl_weight": 0.5}, "5", "share D + EDL"),
             ({"share": "encoder"}, "5", "share E"),
             ({"vfm_layers": [8, 16, 24]}, "S1", "levels 8/16/24")]
    for change, table, label in cases:
        row = paper_row("msdanet", "fdep", "SIRST3", run_setting({**base, **change}))
        assert (row.table, row.label) == (table, label), change
    main = {**base, "variant": "fdep-main"}
    assert paper_row("msdanet", "fdep-main", "SIRST3", run_setting({**main, "fusion": "concat"})).label == "Scheme1"
    assert paper_row("msdanet", "fdep-main", "SIRST3", run_setting({**main, "vfm": "dinov2_vits14",
                                                                    "vfm_layers": None})).table == "S2"
    assert paper_row("msdanet", "fdep", "SIRST3", run_setting({**base, "vfm_layers": [2, 4]})) is None
    assert paper_row("msdanet", "fdep", "NUAA-SIRST", run_setting({**base, "fusion": "concat"})) is None
    assert run_setting({**base, "vfm": "dinov3_vitl16"}) is None
    assert run_setting({**base, "vfm_weights": "random"}) is None
    assert run_setting({"variant": "original", "vfm": "whatever"}) == {}


def test_compare_converts_units():
    row = paper_row("acm", "fdep", "SIRST3")
    got = {k: (run, p, d) for k, run, p, d in paper.compare(
        {"iou": 0.7, "hse": 0.75, "fa": 12.5e-6, "params": 850_000, "pd": float("nan")}, row)}
    assert got["iou"] == pytest.approx((70.0, 68.56, 1.44))
    assert got["hse"] == pytest.approx((75.0, 75.81, -0.81))
    assert got["fa"] == pytest.approx((12.5, 13.92, -1.42))
    assert got["params_m"] == pytest.approx((0.85, 0.85, 0.0))
    assert got["pd"] == (None, 95.42, None) and got["niou"][0] is None
    assert "time_s" not in got  # measured on the paper's GPU: not compared
    assert paper.paper_test_size("NUAA-SIRST") == 214 and paper.paper_test_size("sirst3") == 1079
    assert paper.paper_test_size("tiny") is None
    assert "Table 1" in row.source and "Foundation-Driven" in row.source


def test_malformed_data_is_reported():
    good = "\n".join(ln for ln in CSV_TEXT.splitlines() if not ln.startswith("#"))
    assert len(paper._parse(good)) == sum(paper.EXPECTED_ROWS.values())
    with pytest.raises(PaperDataError, match="lacks columns"):
        paper._parse("table,dataset\n1,SIRST3\n")
    with pytest.raises(PaperDataError, match="variant"):
        paper._parse(good.replace(",original,", ",baseline,", 1))
    with pytest.raises(PaperDataError, match="row 2"):
        paper._parse(good.replace("62.76", "62.7x", 1))


def test_package_imports_nothing_of_fdep():
    from tests.test_architecture import SRC, imported_fdep_packages

    for path in (SRC / "paper").rglob("*.py"):
        assert imported_fdep_packages(path) == set(), path
