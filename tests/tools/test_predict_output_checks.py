"""fdep predict checks what it writes: NaN/inf maps are refused in one line, targets.json is strict JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fdep.cli.main import main
from fdep.errors import WeightsError
from fdep.models import save_pretrained
from fdep.tools.inference import Predictor
from fdep.tools.predict import run_predict

from ._tools_helpers import gray_images, random_net, tiny_registered  # noqa: F401 (autouse fixture)


def test_nan_normalisation_mean_is_refused_in_one_line(tmp_path, capsys):
    folder = save_pretrained(random_net(0), tmp_path / "net", mean=float("nan"), std=50.0)
    code = main(["predict", "--checkpoint", str(folder), "--input", str(gray_images(tmp_path / "in")),
                 "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    # refused where config.json is read (every field checked before anything is built)
    assert code != 0 and len(err) == 1 and "normalization.mean: must be a finite number" in err[0]
    assert not (tmp_path / "out").exists()


def test_nan_probabilities_are_refused_and_nothing_is_written(tmp_path):
    def nan_logits(x: torch.Tensor) -> torch.Tensor:
        y = torch.zeros(x.shape[0], 1, *x.shape[-2:])
        y[..., 3, 4] = float("nan")
        return y

    pred = Predictor(nan_logits, mean=100.0, std=50.0, size_multiple=1, source="diverged.ckpt")
    with pytest.raises(WeightsError, match=r"diverged\.ckpt: produced 1 NaN/inf probabilities on .*im0\.png"):
        run_predict(pred, gray_images(tmp_path / "in"), tmp_path / "out", batch_size=2)
    assert not (tmp_path / "out").exists()


def test_targets_json_is_strict_json(tmp_path):
    pred = Predictor(lambda x: torch.full((x.shape[0], 1, *x.shape[-2:]), 3.0), mean=0.0, std=1.0,
                     size_multiple=1)
    run_predict(pred, gray_images(tmp_path / "in"), tmp_path / "out")

    def refuse(token):
        raise AssertionError(f"non-strict JSON constant {token}")

    report = json.loads((tmp_path / "out" / "targets.json").read_text(), parse_constant=refuse)
    assert report["n_images"] == 2 and report["images"][0]["max_score"] == pytest.approx(1 / (1 + np.exp(-3.0)))
