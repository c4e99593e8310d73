"""A test-only dataset (only img_idx/test_<name>.txt, no training images) can be tested (issue 26).

The normalisation of a trained network comes from its weights, never from the data under test: the scores
on the test-only copy equal those on the full dataset, whose training images differ.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from fdep.cli.main import main

from ..data.builders import write_dataset
from ._tools_helpers import blob_detector, save_net, tiny_registered  # noqa: F401 (autouse fixture)


@pytest.fixture
def full_and_test_only(tmp_path):
    full = write_dataset(tmp_path / "a", "toy", n=8, size=(32, 32))
    for k, p in enumerate(sorted((full / "images").iterdir())):  # bright targets the blob detector finds
        img = np.asarray(Image.open(p)).astype(np.float32) * 0.5
        m = np.asarray(Image.open(full / "masks" / p.name)) > 0
        img[m] = 250
        if k < 4:
            img += 60  # training images brighter: statistics from them would shift the test's input
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(p)
    only = tmp_path / "b" / "toy"
    shutil.copytree(full, only)
    train_ids = (only / "img_idx" / "train_toy.txt").read_text().split()
    (only / "img_idx" / "train_toy.txt").unlink()
    for i in train_ids:
        (only / "images" / f"{i}.png").unlink()
        (only / "masks" / f"{i}.png").unlink()
    return full, only


def _test(tmp_path, name, *args):
    out = tmp_path / name
    assert main(["test", *args, "--out", str(out), "--quiet"]) == 0
    return json.loads((out / "results.json").read_text())


@pytest.mark.parametrize("split", ["test", "all"])
def test_network_on_test_only_dataset(tmp_path, full_and_test_only, split):
    full, only = full_and_test_only
    weights = save_net(blob_detector(), tmp_path / "net")
    got = _test(tmp_path, "only", "--checkpoint", str(weights), "--data", str(only), "--split", split)
    want = _test(tmp_path, "full", "--checkpoint", str(weights), "--data", str(full), "--split", "test")
    assert got["n_images"] == 4 and got["n_targets"] == want["n_targets"] == 4
    for k in ("hse", "iou", "pd", "fa", "false_alarms"):
        assert got[k] == pytest.approx(want[k], abs=1e-9), k
    assert got["pd"] == 1.0


def test_classical_method_on_test_only_dataset(tmp_path, full_and_test_only):
    full, only = full_and_test_only
    got = _test(tmp_path, "only", "--model", "mpcm", "--data", str(only))
    want = _test(tmp_path, "full", "--model", "mpcm", "--data", str(full))
    assert got["n_images"] == 4 and got["hse"] == pytest.approx(want["hse"], abs=1e-12)
