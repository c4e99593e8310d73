"""Binary predictions saved as 0/1 (8-bit) or 0/255 / 0/1 inside 16-bit PNGs are read as binary maps.

Read as probabilities they are at most 0.004 and scored IoU 0, Pd 0, HSE 0 without a word (issue 26).
The folder decides: a probability folder whose blank images round to 0/1 keeps its probabilities.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fdep.cli.main import main
from fdep.metrics import evaluate
from fdep.metrics.files import evaluate_files, pair_files

H, W = 24, 30


def _set(tmp_path):
    """(gt folder, list of bool predictions): two images, one target each, one false alarm in image 1."""
    gt = tmp_path / "gt"
    gt.mkdir()
    preds = []
    for k in range(2):
        m = np.zeros((H, W), np.uint8)
        m[5 + k:8 + k, 6:9] = 255
        Image.fromarray(m).save(gt / f"i{k}.png")
        p = m > 0
        if k == 1:
            p[15:17, 20:22] = True
        preds.append(p)
    return gt, preds


def _save(folder, preds, level, dtype):
    folder.mkdir()
    for k, p in enumerate(preds):
        Image.fromarray((p * level).astype(dtype)).save(folder / f"i{k}.png")
    return folder


@pytest.mark.parametrize(("level", "dtype"), [(1, np.uint8), (255, np.uint16), (1, np.uint16)])
def test_binary_maps_at_the_wrong_scale_score_as_binary(tmp_path, level, dtype):
    gt, preds = _set(tmp_path)
    folder = _save(tmp_path / "pred", preds, level, dtype)
    pairing = pair_files(folder, gt)
    assert pairing.binary == f"0/{level} in {8 if dtype == np.uint8 else 16}-bit PNGs"
    got = evaluate_files(pairing)
    want = evaluate([p.astype(np.float32) for p in preds], [np.asarray(Image.open(gt / f"i{k}.png")) > 0
                                                            for k in range(2)])
    for k in ("iou", "pd", "fa", "hse", "false_alarms"):
        assert got[k] == pytest.approx(want[k]), k
    assert got["pd"] == 1.0 and got["iou"] > 0.5


def test_cli_says_what_it_found(tmp_path, capsys):
    gt, preds = _set(tmp_path)
    folder = _save(tmp_path / "pred", preds, 1, np.uint8)
    assert main(["evaluate", "--pred", str(folder), "--gt", str(gt)]) == 0
    cap = capsys.readouterr()
    assert "0/1 in 8-bit PNGs: read as binary maps" in cap.err
    assert "  100.00  " in cap.out  # Pd


def test_probability_folder_with_near_zero_images_keeps_probabilities(tmp_path):
    """A blank scene of a confident network rounds to 0/1 in 8 bits; the graded maps beside it decide."""
    gt, preds = _set(tmp_path)
    folder = tmp_path / "pred"
    folder.mkdir()
    Image.fromarray((preds[0] * 200 + 3).astype(np.uint8)).save(folder / "i0.png")  # graded: 3 and 203
    near_zero = np.zeros((H, W), np.uint8)
    near_zero[::3, ::2] = 1  # p = 1/255 scattered: not targets
    Image.fromarray(near_zero).save(folder / "i1.png")
    pairing = pair_files(folder, gt)
    assert pairing.binary is None
    res = evaluate_files(pairing)
    assert res["false_alarms"] == 0 and res["pd"] == 0.5
