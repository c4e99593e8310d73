"""``fdep evaluate``: results, outputs and every user error as one line with a non-zero exit."""

import json

import numpy as np
import pytest
from PIL import Image

from fdep.cli.main import main
from fdep.imageio import write_mask_png, write_prob_png16
from fdep.metrics import evaluate
from fdep.metrics.files import load_pair


@pytest.fixture
def dirs(tmp_path):
    rng = np.random.default_rng(0)
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    for i in range(3):
        g = np.zeros((20, 24), bool)
        g[5 + i, 6:8] = True
        p = rng.random((20, 24)) * 0.3
        p[g] = 0.9
        write_mask_png(gt / f"im{i}.png", g)
        if i == 2:
            pred.mkdir(exist_ok=True)
            np.save(pred / f"im{i}.npy", p)
        else:
            write_prob_png16(pred / f"im{i}.png", p)
    return pred, gt


def run(capsys, *argv):
    code = main(["evaluate", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, *argv, match):
    code, out, err = run(capsys, *argv)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert match in lines[0], lines[0]
    return lines[0]


def test_table_json_and_curves(dirs, tmp_path, capsys):
    pred, gt = dirs
    code, out, err = run(capsys, "--pred", pred, "--gt", gt, "--json", tmp_path / "r.json",
                         "--curves", tmp_path / "c.npz")
    assert code == 0 and "HSE-P" in out and "Fa (x1e-6)" in out
    res = json.loads((tmp_path / "r.json").read_text())
    pairs = [load_pair(pred / n, gt / f"im{i}.png") for i, n in enumerate(["im0.png", "im1.png", "im2.npy"])]
    want = evaluate([p for p, _ in pairs], [g for _, g in pairs])
    assert res == pytest.approx(want)
    lines = out.splitlines()
    row = lines[[i for i, line in enumerate(lines) if "HSE-P" in line and "AUC" in line][0] + 1].split()
    assert float(row[0]) == pytest.approx(round(want["hse"] * 100, 2))
    with np.load(tmp_path / "c.npz") as c:
        assert c["thresholds"].shape == (99,) and "pixel_precision" in c and "roc_fpr" in c


def test_existing_output_needs_overwrite(dirs, tmp_path, capsys):
    pred, gt = dirs
    (tmp_path / "r.json").write_text("mine")
    one_line_error(capsys, "--pred", pred, "--gt", gt, "--json", tmp_path / "r.json", match="--overwrite")
    assert (tmp_path / "r.json").read_text() == "mine"
    assert run(capsys, "--pred", pred, "--gt", gt, "--json", tmp_path / "r.json", "--overwrite")[0] == 0
    # the former spelling still works
    assert run(capsys, "--pred", pred, "--gt", gt, "--json", tmp_path / "r.json", "--force")[0] == 0


def test_dataset_root_with_split(tmp_path, capsys):
    root = tmp_path / "Tiny"
    (root / "img_idx").mkdir(parents=True)
    (root / "img_idx" / "test_Tiny.txt").write_text("a\nb\n")
    g = np.zeros((8, 8), bool)
    g[2, 2] = True
    for i in "abc":
        write_mask_png(root / "masks" / f"{i}.png", g)
        write_prob_png16(tmp_path / "pred" / f"{i}.png", g.astype(float))
    code, out, err = run(capsys, "--pred", tmp_path / "pred", "--gt", root, "--split", "test")
    assert code == 0 and out.startswith("2 images") and "c.png" in err  # extra prediction listed as a warning
    one_line_error(capsys, "--pred", tmp_path / "pred", "--gt", root, match="--split")
    one_line_error(capsys, "--pred", tmp_path / "pred", "--gt", root, "--split", "train", match="train_Tiny.txt")


def test_gt_without_prediction(dirs, capsys):
    pred, gt = dirs
    (pred / "im1.png").unlink()
    one_line_error(capsys, "--pred", pred, "--gt", gt, match="im1.png")


def test_extra_predictions_only_warn(dirs, capsys):
    pred, gt = dirs
    write_prob_png16(pred / "zzz.png", np.zeros((20, 24)))
    code, out, err = run(capsys, "--pred", pred, "--gt", gt)
    assert code == 0 and "warning" in err and "zzz.png" in err


def test_size_mismatch(dirs, capsys):
    pred, gt = dirs
    write_prob_png16(pred / "im0.png", np.zeros((21, 24)))
    one_line_error(capsys, "--pred", pred, "--gt", gt, match="im0.png")


@pytest.mark.parametrize("bad,match", [(np.nan, "NaN"), (np.inf, "NaN/inf"), (1.5, "[0, 1]"), (-0.1, "[0, 1]")])
def test_bad_values(dirs, capsys, bad, match):
    pred, gt = dirs
    a = np.zeros((20, 24))
    a[3, 3] = bad
    np.save(pred / "im2.npy", a)
    line = one_line_error(capsys, "--pred", pred, "--gt", gt, match=match)
    assert "im2.npy" in line


def test_corrupt_files(dirs, capsys):
    pred, gt = dirs
    (pred / "im0.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    one_line_error(capsys, "--pred", pred, "--gt", gt, match="im0.png")
    write_prob_png16(pred / "im0.png", np.zeros((20, 24)))
    (gt / "im1.png").write_bytes(b"garbage")
    one_line_error(capsys, "--pred", pred, "--gt", gt, match="im1.png")


def test_empty_and_missing_dirs(dirs, tmp_path, capsys):
    pred, gt = dirs
    (tmp_path / "empty").mkdir()
    one_line_error(capsys, "--pred", pred, "--gt", tmp_path / "empty", match="empty")
    one_line_error(capsys, "--pred", tmp_path / "empty", "--gt", gt, match="empty")
    one_line_error(capsys, "--pred", tmp_path / "nope", "--gt", gt, match="not found")


def test_bad_options(dirs, capsys):
    pred, gt = dirs
    one_line_error(capsys, "--pred", pred, "--gt", gt, "--thresholds", "0.5,0.2", match="increasing")
    one_line_error(capsys, "--pred", pred, "--gt", gt, "--thresholds", "abc", match="--thresholds")
    one_line_error(capsys, "--pred", pred, "--gt", gt, "--tolerance", "0", match="tolerance")
    one_line_error(capsys, "--pred", pred, match="--gt")


def test_thresholds_list_and_bins(dirs, tmp_path, capsys):
    pred, gt = dirs
    code, out, _ = run(capsys, "--pred", pred, "--gt", gt, "--thresholds", "0.25,0.5,0.75", "--bins", "1000",
                       "--json", tmp_path / "r.json")
    assert code == 0 and "3 thresholds" in out and "1000 bins" in out


def test_demo_runs_and_is_rerunnable(tmp_path, capsys):
    code, out, _ = run(capsys, "--demo", tmp_path / "demo")
    assert code == 0 and "24 images" in out
    assert run(capsys, "--demo", tmp_path / "demo")[0] == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    one_line_error(capsys, "--demo", tmp_path / "other", match="not an fdep evaluate demo")


def test_real_nuaa_masks_as_predictions(nuaa_root, tmp_path, capsys):
    ids = (nuaa_root / "img_idx" / "test_NUAA-SIRST.txt").read_text().split()[:5]
    for i in ids:
        Image.open(nuaa_root / "masks" / f"{i}.png").convert("L").save(tmp_path / f"{i}.png")
    import shutil

    root = tmp_path / "NUAA-SIRST"
    (root / "img_idx").mkdir(parents=True)
    (root / "img_idx" / "test_NUAA-SIRST.txt").write_text("\n".join(ids))
    shutil.copytree(nuaa_root / "masks", root / "masks", ignore=lambda d, names: [
        n for n in names if n.split(".")[0] not in ids])
    code, out, _ = run(capsys, "--pred", tmp_path, "--gt", root, "--split", "test", "--json", tmp_path / "r.json")
    res = json.loads((tmp_path / "r.json").read_text())
    assert code == 0 and res["pd"] == 1.0 and res["fa"] == 0.0 and res["iou"] == 1.0 and res["hse"] == 1.0


def test_two_predictions_with_one_stem(dirs, capsys):
    pred, gt = dirs
    np.save(pred / "im0.npy", np.zeros((20, 24)))
    one_line_error(capsys, "--pred", pred, "--gt", gt, match="im0")


def test_dataset_mask_listed_but_missing(tmp_path, capsys):
    root = tmp_path / "Tiny"
    (root / "img_idx").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "img_idx" / "test_Tiny.txt").write_text("a\n")
    write_prob_png16(tmp_path / "pred" / "a.png", np.zeros((4, 4)))
    one_line_error(capsys, "--pred", tmp_path / "pred", "--gt", root, "--split", "test", match="a.png")
