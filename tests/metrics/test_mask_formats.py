"""GT masks stored as 0/1, in colour or mixed with 0/255 ones give the same scores (never silently fewer targets)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from fdep.cli.main import main
from fdep.imageio import read_mask
from fdep.metrics.demo import write_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("masks") / "demo", n=6, size=64, seed=1)


def _rewrite(gt, dest, how, only=None):
    dest.mkdir()
    for i, p in enumerate(sorted(gt.glob("*.png"))):
        m = np.asarray(Image.open(p)) > 127
        if only is not None and i != only:
            Image.fromarray(m.astype(np.uint8) * 255).save(dest / p.name)
        elif how == "01":
            Image.fromarray(m.astype(np.uint8)).save(dest / p.name)
        elif how == "red":
            rgb = np.zeros((*m.shape, 3), np.uint8)
            rgb[..., 0] = m * 255
            Image.fromarray(rgb, "RGB").save(dest / p.name)
        elif how == "16bit01":
            Image.fromarray(m.astype(np.uint16)).save(dest / p.name)  # a 16-bit PNG holding 0/1
    return dest


def _scores(pred, gt, out, capsys):
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt), "--json", str(out)]) == 0, capsys.readouterr().err
    return json.loads(out.read_text())


@pytest.mark.parametrize("how,only", [("01", None), ("01", 2), ("red", None), ("red", 0), ("16bit01", None)])
def test_mask_storage_does_not_change_the_scores(demo, tmp_path, capsys, how, only):
    pred, gt = demo
    ref = _scores(pred, gt, tmp_path / "ref.json", capsys)
    assert ref["n_targets"] > 0
    got = _scores(pred, _rewrite(gt, tmp_path / "gt", how, only), tmp_path / "got.json", capsys)
    assert got == ref


def test_read_mask_formats(tmp_path):
    m = np.zeros((4, 5), bool)
    m[1:3, 2:4] = True
    Image.fromarray(m.astype(np.uint8)).save(tmp_path / "a.png")  # 0/1
    Image.fromarray(m.astype(np.uint8) * 255).save(tmp_path / "b.png")  # 0/255
    Image.fromarray(np.where(m, 64, 0).astype(np.uint8)).save(tmp_path / "c.png")  # IRSTD-1K's 64: background
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = m * 255
    Image.fromarray(rgb).save(tmp_path / "d.png")  # red-only
    Image.fromarray(rgb).convert("P").save(tmp_path / "e.png")  # red-only palette
    for name in ("a", "b", "d", "e"):
        assert read_mask(tmp_path / f"{name}.png").tolist() == m.tolist(), name
    assert not read_mask(tmp_path / "c.png").any()


def test_no_target_at_all_is_measured_without_api_advice(demo, tmp_path, capsys):
    """Target-free masks: Fa and false alarms are reported, target metrics n/a, exit 0 (issue 26)."""
    pred, gt = demo
    empty = tmp_path / "empty"
    empty.mkdir()
    for p in gt.glob("*.png"):
        Image.fromarray(np.zeros((64, 64), np.uint8)).save(empty / p.name)
    assert main(["evaluate", "--pred", str(pred), "--gt", str(empty)]) == 0
    cap = capsys.readouterr()
    assert "no target" in cap.out and "undefined=" not in cap.out + cap.err and cap.err == ""


def test_data_check_accepts_01_masks(tmp_path):
    from fdep.data import generate_synthetic
    from fdep.data.validate import check_dataset

    ds = generate_synthetic(tmp_path, n=4, size=32, seed=0, name="s")
    for p in (ds / "masks").glob("*.png"):
        Image.fromarray((np.asarray(Image.open(p)) > 127).astype(np.uint8)).save(p)
    kinds = {p.kind for p in check_dataset(ds)}
    assert "empty_mask" not in kinds and "non_binary_mask" not in kinds
