"""The real NUAA-SIRST release (../shared/data/NUAA-SIRST); skipped when absent."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from PIL import Image

from fdep.data import TrainTransform, check_dataset, load_dataset
from fdep.data.prepare import prepare

pytestmark = pytest.mark.realdata


def test_ids_splits_and_constants(nuaa_root):
    train, test = load_dataset(nuaa_root, "train"), load_dataset(nuaa_root, "test")
    assert len(train) == 213 and len(test) == 214 and len(set(train.ids) | set(test.ids)) == 427
    assert (train.mean, train.std) == (101.06, 34.62)
    assert [p for p in check_dataset(nuaa_root) if p.severity == "error"] == []


def test_mixed_modes_read_as_grayscale(nuaa_root):
    modes = collections.defaultdict(list)
    for p in sorted((nuaa_root / "images").glob("*.png")):
        modes[Image.open(p).mode].append(p.stem)
    assert {"L", "P", "RGB"} <= set(modes)
    ds = load_dataset(nuaa_root, "all")
    for mode in ("L", "P", "RGB"):
        i = modes[mode][0]
        item = ds[ds.ids.index(i)]
        # independent reference: PIL's own RGB expansion (palette applied) then ITU-R 601 luma
        rgb = np.asarray(Image.open(nuaa_root / "images" / f"{i}.png").convert("RGB"), dtype=np.float64)
        luma = rgb @ np.array([0.299, 0.587, 0.114])
        got = item["image"][0].numpy() * ds.std + ds.mean
        assert np.abs(got - luma).max() <= 1.0, mode
        assert item["image"].shape[1:] == item["mask"].shape[1:]


def test_misc_111_shapes_agree(nuaa_root):
    item = load_dataset(nuaa_root, ids=["Misc_111"])[0]
    assert tuple(item["image"].shape) == tuple(item["mask"].shape) == (1, 220, 325)
    assert item["mask"].sum() > 0


def test_train_crops_on_real_images(nuaa_root):
    ds = load_dataset(nuaa_root, "train", transform=TrainTransform(crop_size=448, target_prob=1.0))
    for i in range(0, 213, 53):
        item = ds[i]
        y0, x0, h, w = item["box"].tolist()
        H, W = Image.open(ds.samples[i].image).size[::-1]
        assert (h, w) == (448, 448) and y0 <= 0 and x0 <= 0 and y0 + h >= H and x0 + w >= W
        assert item["mask"].sum() > 0


def test_prepare_from_the_real_folder(nuaa_root, tmp_path):
    dest = prepare("NUAA-SIRST", nuaa_root, tmp_path, progress=False, log=lambda s: None)
    a, b = load_dataset(nuaa_root, "test"), load_dataset(dest, "test")
    assert a.ids == b.ids
    for k in (0, 100, 213):
        assert (a[k]["image"] == b[k]["image"]).all() and (a[k]["mask"] == b[k]["mask"]).all()
