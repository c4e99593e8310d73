"""The input-range policy: 14-bit data in 16-bit PNGs, float TIFFs in kelvin or 0-1 (issue 26).

Read by default, 14-bit data arrives as 0-64 and kelvin as 295-320 on fdep's 0-255 scale, and a network
trained on 8-bit images finds nothing, without a word. fdep now warns, and ``--input-range`` declares the
range so the same scene gives the same targets as its 8-bit version.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from fdep.cli.main import main
from fdep.errors import InputError
from fdep.imageio import read_image, stored_kind
from fdep.inputrange import parse_input_range, range_record, range_warning
from fdep.models import save_pretrained
from fdep.tools.predict import run_predict

from .tools._tools_helpers import blob_detector, tiny_registered  # noqa: F401 (autouse fixture)

H, W = 40, 48
MEAN, STD = 100.0, 50.0  # blob_detector: pixels above 150 (0-255 scale) are targets


def _scene():
    """An 8-bit scene (0-255): background ~90, one target at 240."""
    img = np.full((H, W), 90.0)
    img[::5, ::3] = 110.0
    img[20:23, 30:33] = 240.0
    return img


def _write(folder, name, array):
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(folder / name)
    return folder


@pytest.fixture
def weights(tmp_path):
    return save_pretrained(blob_detector(), tmp_path / "net", mean=MEAN, std=STD)


def _targets(report):
    return [(round(t["centroid_y"]), round(t["centroid_x"])) for e in report["images"] for t in e["targets"]]


CASES = {  # name -> (stored array, the range that declares it)
    "14bit.png": ((_scene() / 255 * 16383).round().astype(np.uint16), "14bit"),
    "kelvin.tif": ((295 + _scene() / 255 * 25).astype(np.float32), "295,320"),
    "unit.tif": ((_scene() / 255).astype(np.float32), "0,1"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_default_reading_warns_and_declared_range_finds_the_target(tmp_path, weights, name):
    array, declared = CASES[name]
    folder = _write(tmp_path / "in", name, array)
    want = _targets(run_predict(weights, _write(tmp_path / "ref", "scene.png", _scene().astype(np.uint8)),
                                tmp_path / "ref_out"))
    assert want == [(21, 31)]
    seen = []
    plain = run_predict(weights, folder, tmp_path / "plain", warn=seen.append)
    assert _targets(plain) != want  # what a user got silently before
    assert len(plain["warnings"]) == 1 and seen == plain["warnings"]
    assert "far from the gray range the weights were trained on" in seen[0] and "--input-range" in seen[0]
    fixed = run_predict(weights, folder, tmp_path / "fixed", input_range=declared, warn=seen.append)
    assert _targets(fixed) == want and fixed["warnings"] == [] and fixed["input_range"] == declared


def test_minmax_stretches_each_image(tmp_path):
    folder = _write(tmp_path, "a.tif", (300 + _scene() / 10).astype(np.float32))
    got = read_image(folder / "a.tif", parse_input_range("minmax"))
    assert got.min() == 0 and got.max() == pytest.approx(255)


def test_recorded_range_silences_the_warning(tmp_path):
    """Weights trained on 14-bit data read by default (0-64) record that range: no warning on such data."""
    array, _ = CASES["14bit.png"]
    folder = _write(tmp_path / "in", "a.png", array)
    net = save_pretrained(blob_detector(), tmp_path / "net", mean=40.0, std=20.0,
                          extra={"input_range": range_record([(35.0, 63.0), (30.0, 60.0)])})
    assert run_predict(net, folder, tmp_path / "out")["warnings"] == []
    rec8 = save_pretrained(blob_detector(), tmp_path / "net8", mean=MEAN, std=STD)
    assert run_predict(rec8, folder, tmp_path / "out8")["warnings"]


def test_cli_predict_and_test_warn_in_one_line_and_accept_the_option(tmp_path, weights, capsys):
    array, _ = CASES["14bit.png"]
    folder = _write(tmp_path / "in", "a.png", array)
    assert main(["predict", "--checkpoint", str(weights), "--input", str(folder), "--out", str(tmp_path / "o1"),
                 "--quiet"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fdep predict: warning: 1 input image(s) lie far")
    assert main(["predict", "--checkpoint", str(weights), "--input", str(folder), "--out", str(tmp_path / "o2"),
                 "--quiet", "--input-range", "14bit"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["predict", "--checkpoint", str(weights), "--input", str(folder), "--out", str(tmp_path / "o3"),
                 "--input-range", "banana"]) == 2
    assert "--input-range 'banana'" in capsys.readouterr().err

    from .data.builders import write_dataset

    d = write_dataset(tmp_path / "data", "cam", n=4, size=(32, 32))
    for p in (d / "images").iterdir():  # the same scenes as 14-bit data in 16-bit PNGs
        a = np.asarray(Image.open(p), dtype=np.float64)
        Image.fromarray((a / 255 * 16383).round().astype(np.uint16)).save(p)
    out = tmp_path / "t1"
    assert main(["test", "--checkpoint", str(weights), "--data", str(d), "--out", str(out), "--quiet"]) == 0
    assert "fdep test: warning:" in capsys.readouterr().err
    assert json.loads((out / "results.json").read_text())["warnings"]
    out = tmp_path / "t2"
    assert main(["test", "--checkpoint", str(weights), "--data", str(d), "--out", str(out), "--quiet",
                 "--input-range", "14bit"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["warnings"] == [] and res["input_range"] == "14bit"


@pytest.mark.parametrize("bad", ["", "14", "0bit", "40bit", "5,5", "9,1", "a,b", "1,2,3", "nan,1"])
def test_bad_ranges_are_one_line(bad):
    if bad == "":
        assert parse_input_range(bad) is None
        return
    with pytest.raises(InputError, match="--input-range"):
        parse_input_range(bad)


def test_ranges_and_warning_rules():
    assert parse_input_range("12bit").hi == 4095 and parse_input_range("AUTO") is None
    r = parse_input_range("100,200")
    np.testing.assert_allclose(r.apply(np.array([50.0, 100, 150, 200, 250])), [0, 0, 127.5, 255, 255])
    rec = range_record([(0, 250), (10, 200), (5, 240)])
    assert rec == {"low": 0, "high": 250, "typical_high": 240, "images": 3}
    assert range_warning([("a", 0, 240)], rec) is None
    assert "kelvin" in range_warning([("a", 295, 320)], rec)
    assert "14-bit" in range_warning([("a", 0, 1)], rec)
    assert "below" in range_warning([("a", -80, 200)], rec)
    assert "assumed" in range_warning([("a", 0, 1)], None)  # weights without a record: 8-bit assumed
    assert "assumed" in range_warning([("a", 0, 1)], {"low": "x"})  # a malformed record too


def test_stored_kind_reports_dtype_and_raw_range(tmp_path):
    for name, (array, _) in CASES.items():
        _write(tmp_path, name, array)
    assert stored_kind(tmp_path / "14bit.png") == ("16-bit", float(CASES["14bit.png"][0].min()),
                                                   float(CASES["14bit.png"][0].max()))
    kind, lo, hi = stored_kind(tmp_path / "kelvin.tif")
    assert kind == "float" and lo == pytest.approx(295 + 90 / 255 * 25, rel=1e-6) and hi <= 320


def test_data_check_reports_types_and_ranges(tmp_path, capsys):
    from .data.builders import write_dataset

    d = write_dataset(tmp_path, "cam", n=4, size=(32, 32))
    imgs = sorted((d / "images").iterdir())
    for p in imgs[:2]:  # two 14-bit frames in 16-bit PNGs, two 8-bit images
        a = np.asarray(Image.open(p), dtype=np.float64)
        Image.fromarray((a / 255 * 16383).round().astype(np.uint16)).save(p)
    assert main(["data", "check", str(d), "--per-image"]) == 0
    out = capsys.readouterr().out
    assert "values: " in out and "2 16-bit image(s)" in out and "2 8-bit image(s)" in out
    assert "14-bit data? pass --input-range 14bit" in out
    assert sum(line.startswith("image: ") for line in out.splitlines()) == 4


def test_stored_summary_of_floats():
    from fdep.inputrange import stored_summary

    (line,) = stored_summary([("a.tif", "float", 295.0, 318.0), ("b.tif", "float", 296.0, 320.0)])
    assert "2 float image(s): stored values 295-320" in line and "--input-range 295,320" in line
    (line,) = stored_summary([("a.tif", "float", 0.0, 1.0)])
    assert "--input-range 0,1" in line
    (line,) = stored_summary([("a.png", "8-bit", 0.0, 255.0)])
    assert "input-range" not in line
