"""Synthetic scenes: layout, metadata agrees with masks and images, seeding, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from fdep.cli.main import main
from fdep.data import check_dataset, generate_synthetic, load_dataset
from fdep.data.stats import compute_stats
from fdep.errors import OutputExistsError


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return generate_synthetic(tmp_path_factory.mktemp("syn"), n=40, size=96, seed=1)


def test_layout_and_validation(synth):
    assert synth.name == "synthetic"
    assert [p for p in check_dataset(synth) if p.severity == "error"] == []
    train, test = load_dataset(synth, "train"), load_dataset(synth, "test")
    assert len(train) == 28 and len(test) == 12 and not set(train.ids) & set(test.ids)
    # the cached statistics written by the generator equal a recomputation
    mean, std, _ = compute_stats([synth / "images" / f"{i}.png" for i in train.ids])
    assert train.mean == pytest.approx(mean) and train.std == pytest.approx(std)


def test_targets_where_metadata_says(synth):
    meta = json.loads((synth / "metadata.json").read_text())
    assert meta["n"] == 40 and len(meta["images"]) == 40
    n_targets, radii, scrs = 0, [], []
    for rec in meta["images"]:
        mask = np.asarray(Image.open(synth / "masks" / f"{rec['id']}.png")) > 127
        img = np.asarray(Image.open(synth / "images" / f"{rec['id']}.png"), dtype=np.float32)
        labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
        assert 1 <= len(rec["targets"]) <= 5 and n == len(rec["targets"])  # one component per target
        for t in rec["targets"]:
            cy, cx = int(t["y"]), int(t["x"])
            lab = labels[cy, cx]
            assert lab > 0  # the target's centre pixel is in the mask
            comp = labels == lab
            assert comp.sum() == t["n_pixels"]
            ys, xs = np.nonzero(comp)
            assert abs(ys.mean() - t["y"]) < 1.5 and abs(xs.mean() - t["x"]) < 1.5
            assert 1.0 <= t["radius"] <= 9.0
            # the target is brighter than its surroundings by the recorded contrast
            ring = ndimage.binary_dilation(comp, iterations=6) & ~ndimage.binary_dilation(comp, iterations=2)
            assert img[comp].max() - img[ring & ~mask].mean() == pytest.approx(t["contrast"], abs=25)
            radii.append(t["radius"])
            scrs.append(t["scr"])
            n_targets += 1
        for dis in rec["distractors"]:  # point-like distractors are not targets
            assert not mask[dis["y"], dis["x"]]
    assert n_targets >= 40
    assert min(radii) < 3 and max(radii) > 6  # sizes spread over 1-9 px
    assert min(scrs) < 3 and max(scrs) > 10  # hard and easy targets


def test_seeded_and_refuses_to_overwrite(tmp_path, synth):
    a = generate_synthetic(tmp_path / "a", n=5, size=64, seed=3)
    b = generate_synthetic(tmp_path / "b", n=5, size=64, seed=3)
    c = generate_synthetic(tmp_path / "c", n=5, size=64, seed=4)
    for i in range(5):
        f = f"images/synth_{i:05d}.png"
        assert (a / f).read_bytes() == (b / f).read_bytes()
    assert any(
        (a / f"images/synth_{i:05d}.png").read_bytes() != (c / f"images/synth_{i:05d}.png").read_bytes()
        for i in range(5)
    )
    before = (a / "metadata.json").read_bytes()
    with pytest.raises(OutputExistsError):
        generate_synthetic(tmp_path / "a", n=5, size=64, seed=9)
    assert (a / "metadata.json").read_bytes() == before
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["synthetic"]  # no temporary folder left


def test_synth_cli(tmp_path, capsys):
    assert main(["data", "synth", "--n", "4", "--size", "48", "--out", str(tmp_path), "--seed", "2"]) == 0
    assert len(list((tmp_path / "synthetic" / "images").iterdir())) == 4
    assert "4 synthetic images" in capsys.readouterr().out
    assert main(["data", "synth", "--n", "4", "--out", str(tmp_path)]) == 2
