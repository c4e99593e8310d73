"""Target-free scenes (sea and sky backgrounds): false alarms are measured, target metrics are undefined.

The counts are hand-made: every predicted blob of a target-free image is one false alarm.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from fdep.cli.main import main
from fdep.metrics import evaluate

H, W = 20, 50  # 1000 pixels


def _blobs(*centres, size=2):
    p = np.zeros((H, W), np.float32)
    for y, x in centres:
        p[y:y + size, x:x + size] = 0.9
    return p


def test_false_alarms_on_target_free_images_by_hand():
    preds = [_blobs((2, 2), (10, 30)), _blobs(), _blobs((5, 40))]
    gts = [np.zeros((H, W), bool)] * 3
    r = evaluate(preds, gts, undefined="nan")
    assert r["false_alarms"] == 3
    assert r["fa_per_image"] == pytest.approx(1.0)
    assert r["fa_per_mpix"] == pytest.approx(3 / (3 * H * W / 1e6))
    assert r["fa"] == pytest.approx(12 / (3 * H * W))
    assert all(math.isnan(r[k]) for k in ("pd", "hse", "hse_p", "hse_t", "auc"))


def test_mixed_set_counts_only_unmatched_predictions():
    g = np.zeros((H, W), bool)
    g[2:4, 2:4] = True
    preds = [_blobs((2, 2), (10, 30)), _blobs((5, 40))]  # image 0: one hit and one false alarm
    r = evaluate(preds, [g, np.zeros((H, W), bool)])
    assert r["pd"] == 1.0 and r["false_alarms"] == 2 and r["fa_per_image"] == 1.0


def _write_set(tmp_path, with_target: bool):
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    pred.mkdir(), gt.mkdir()
    for k, centres in enumerate([[(2, 2), (10, 30)], [], [(5, 40)]]):
        Image.fromarray(np.round(_blobs(*centres) * 255).astype(np.uint8)).save(pred / f"s{k}.png")
        m = np.zeros((H, W), np.uint8)
        if with_target and k == 0:
            m[2:4, 2:4] = 255
        Image.fromarray(m).save(gt / f"s{k}.png")
    return pred, gt


def test_evaluate_cli_reports_false_alarms_and_exits_0(tmp_path, capsys):
    pred, gt = _write_set(tmp_path, with_target=False)
    out = tmp_path / "scores.json"
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "n/a" in text and "target-free" in text and "undefined=" not in text
    res = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    assert res["pd"] is None and res["hse"] is None and res["false_alarms"] == 3 and res["fa_per_image"] == 1.0


def test_evaluate_cli_mixed_set(tmp_path, capsys):
    pred, gt = _write_set(tmp_path, with_target=True)
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt)]) == 0
    text = capsys.readouterr().out
    assert "target-free" not in text and "n/a" not in text


def test_fdep_test_on_target_free_scenes(tmp_path, capsys):
    from ..data.builders import write_dataset

    d = write_dataset(tmp_path, "sky", n=4, size=(32, 32))
    for p in (d / "masks").iterdir():
        Image.fromarray(np.zeros((32, 32), np.uint8)).save(p)
    out = tmp_path / "res"
    assert main(["test", "--model", "mpcm", "--data", str(d), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "HSE n/a" in printed and "false alarms" in printed and "target-free" in printed
    res = json.loads((out / "results.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-strict {c}"))
    assert res["pd"] is None and res["n_targets"] == 0 and res["fa_per_image"] >= 0
    assert res["fa_per_mpix"] == pytest.approx(res["false_alarms"] / (2 * 32 * 32 / 1e6))
