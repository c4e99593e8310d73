"""`fdep test --model` / `fdep predict --model`: classical methods without weights; errors for the rest."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from fdep.cli.main import main
from fdep.errors import InputError, WeightsError
from fdep.imageio import read_image, read_prob_map
from fdep.models import create_model
from fdep.tools.inference import classical_predictor
from fdep.tools.predict import run_predict
from fdep.tools.tester import run_test

Q = 1.0 / 65535  # 16-bit PNG quantisation step


@pytest.fixture(scope="module")
def tested(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("classical") / "mpcm"
    assert main(["test", "--model", "mpcm", "--data", str(tiny_data), "--out", str(out), "--quiet"]) == 0
    return out


def test_fdep_test_model_prints_and_writes_every_metric(tested, tiny_data, capsys):
    res = json.loads((tested / "results.json").read_text())
    ids = (tiny_data / "img_idx" / "test_tiny.txt").read_text().split()
    assert res["model"] == "mpcm" and res["variant"] == "classical" and res["kind"] == "classical"
    assert res["checkpoint"] is None and res["params"] == 0 and res["n_images"] == len(ids)
    assert res["method_params"] == {"scales": [3, 5, 7, 9], "polarity": "both"}
    for key in ("hse", "hse_p", "hse_t", "iou", "niou", "pd", "fa", "auc", "latency_s"):
        assert isinstance(res[key], float), key
    assert sorted(p.stem for p in (tested / "preds").glob("*.png")) == sorted(ids)
    # the saved maps are the method on the raw image (no normalisation, no padding), quantised to 16 bits
    net = create_model("mpcm")
    for stem in ids[:3]:
        image = read_image(next((tiny_data / "images").glob(f"{stem}.*")))
        want = net(torch.from_numpy(image)[None, None])[0, 0].numpy()
        np.testing.assert_allclose(read_prob_map(tested / "preds" / f"{stem}.png"), want, atol=Q)


def test_fdep_test_model_line(tiny_data, tmp_path, capsys):
    assert main(["test", "--model", "fkrw", "--data", str(tiny_data), "--out", str(tmp_path / "o"), "--quiet",
                 "--no-preds"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("fkrw (classical) on tiny/test")
    for label in ("HSE ", "HSE-P", "HSE-T", "IoU", "nIoU", "Pd", "Fa", "params 0.00M", "latency"):
        assert label in line


def test_default_out_is_under_runs(tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run_test(None, str(tiny_data), model="mpcm", progress=False, save_preds=False)
    assert (tmp_path / "runs" / "mpcm" / "test_tiny_test" / "results.json").is_file() and res["model"] == "mpcm"


def test_learned_model_without_weights_is_a_one_line_error(tiny_data, tmp_path, capsys):
    assert main(["test", "--model", "acm", "--data", str(tiny_data), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "acm is a learned network and needs trained weights" in err
    assert "fkrw, mpcm, nipps" in err and not (tmp_path / "o").exists()
    assert main(["test", "--model", "no-such", "--data", str(tiny_data)]) == 2
    assert "unknown model 'no-such'" in capsys.readouterr().err
    with pytest.raises(InputError, match="not both"):
        run_test("x.ckpt", str(tiny_data), model="mpcm")
    with pytest.raises(SystemExit):  # argparse: the two are mutually exclusive, and one is required
        main(["test", "--model", "mpcm", "--checkpoint", "x.ckpt", "--data", str(tiny_data)])
    with pytest.raises(SystemExit):
        main(["test", "--data", str(tiny_data)])


def test_fdep_predict_model(tmp_path, capsys):
    rng = np.random.default_rng(0)
    (tmp_path / "in").mkdir()
    images = {}
    for i, (h, w) in enumerate([(40, 50), (33, 61)]):
        img = rng.normal(90, 5, (h, w)).clip(0, 255)
        img[h // 2 - 1: h // 2 + 2, w // 2 - 1: w // 2 + 2] = 230
        img = img.astype(np.uint8)
        Image.fromarray(img).save(tmp_path / "in" / f"im{i}.png")
        images[f"im{i}"] = img.astype(np.float32)
    assert main(["predict", "--model", "mpcm", "--input", str(tmp_path / "in"), "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "targets.json").read_text())
    assert report["n_images"] == 2 and report["checkpoint"] == "classical method mpcm"
    net = create_model("mpcm")
    for stem, img in images.items():
        want = net(torch.from_numpy(img)[None, None])[0, 0].numpy()
        np.testing.assert_allclose(read_prob_map(tmp_path / "out" / "probs" / f"{stem}.png"), want, atol=Q)
        # the bright blob is found where it is
        (target,) = [e for e in report["images"] if e["image"].endswith(f"{stem}.png")][0]["targets"]
        assert abs(target["centroid_y"] - img.shape[0] // 2) <= 1 and abs(target["centroid_x"] - img.shape[1] // 2) <= 1


def test_predict_model_errors(tmp_path, capsys):
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "a.png")
    assert main(["predict", "--model", "uiunet", "--input", str(tmp_path / "a.png"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "uiunet is a learned network and needs trained weights" in err
    with pytest.raises(WeightsError):
        classical_predictor("acm")
    with pytest.raises(InputError, match="not both"):
        run_predict(None, tmp_path / "a.png", tmp_path / "o")


def test_classical_predictor_runs_whole_images_without_normalising():
    pred = classical_predictor("fkrw")
    assert (pred.mean, pred.std, pred.multiple, pred.outputs) == (0.0, 1.0, 1, "probability")
    assert pred.tile_pixels == float("inf")
    img = np.full((30, 41), 80.0, np.float32)
    img[10:13, 20:23] = 200  # (a 2 x 2 block is smoothed into a single peak that FKRW scores 0, as the original)
    prob = pred.probability(img)
    assert prob.shape == (30, 41) and float(prob.max()) == pytest.approx(1.0) and float(prob.min()) >= 0


def test_training_a_classical_method_is_refused(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "nipps", "--data", str(tiny_data), "--out", str(out), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'nipps' is a classical method and has nothing to train" in err
    assert not out.exists()
