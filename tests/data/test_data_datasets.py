"""Dataset folders: layout parsing, split lists, unions, user folders, modes, normalisation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from fdep.data import load_dataset, split_train_val
from fdep.data.layout import dataset_cache_dir
from fdep.data.registry import KNOWN, find_known, packaged_split
from fdep.data.stats import STATS_FILE
from fdep.errors import DataError

from .builders import write_dataset


def test_layout_split_lists_and_items(toy):
    ds = load_dataset(toy, "train")
    assert ds.ids == ["img0", "img1", "img2"] and ds.name == "toy"
    assert load_dataset(toy, "test").ids == ["img3", "img4", "img5"]
    assert load_dataset(toy, "all").ids == [f"img{k}" for k in range(6)]
    item = ds[1]
    assert item["image"].shape == (1, 20, 24) and item["image"].dtype == torch.float32
    assert item["id"] == "img1" and item["box"].tolist() == [0, 0, 20, 24]
    assert not (item["hflip"] or item["vflip"] or item["transpose"])
    raw = np.asarray(Image.open(toy / "images" / "img1.png"), dtype=np.float32)
    np.testing.assert_allclose(item["image"][0].numpy(), (raw - ds.mean) / ds.std, rtol=1e-5, atol=1e-5)
    m = np.asarray(Image.open(toy / "masks" / "img1.png")) > 127
    assert torch.equal(item["mask"][0], torch.from_numpy(m.astype(np.float32)))


def test_split_list_variants(tmp_path):
    d = write_dataset(tmp_path, splits=False)
    (d / "img_idx").mkdir()
    (d / "img_idx" / "trainval.txt").write_text("img0.png\n\nimg2\n")  # suffix dropped, blank skipped
    (d / "img_idx" / "test.txt").write_text("img1\n")
    assert load_dataset(d, "train").ids == ["img0", "img2"]
    assert load_dataset(d, "test").ids == ["img1"]


def test_ids_subset_and_unknown_id(toy):
    ds = load_dataset(toy, "train", ids=["img2", "img0"])
    assert ds.ids == ["img2", "img0"]
    with pytest.raises(DataError, match="nope"):
        load_dataset(toy, "train", ids=["img0", "nope"])


def test_union_of_two_datasets(tmp_path):
    a = write_dataset(tmp_path, "A", n=4, prefix="a")
    b = write_dataset(tmp_path, "B", n=4, prefix="b", size=(16, 16))
    u = load_dataset(f"{a}+{b}", "train")
    assert u.ids == ["a0", "a1", "b0", "b1"] and u.name == "A+B"
    assert u[3]["image"].shape == (1, 16, 16)
    # pooled statistics equal the statistics of all training pixels together
    pix = np.concatenate(
        [
            np.asarray(Image.open(d / "images" / f"{i}.png"), np.float64).ravel()
            for d, i in [(a, "a0"), (a, "a1"), (b, "b0"), (b, "b1")]
        ]
    )
    assert u.mean == pytest.approx(pix.mean(), rel=1e-6) and u.std == pytest.approx(pix.std(), rel=1e-5)


def test_union_rejects_clashing_ids(tmp_path):
    a = write_dataset(tmp_path, "A", n=4)
    b = write_dataset(tmp_path, "B", n=4)
    with pytest.raises(DataError, match="img0"):
        load_dataset(f"{a}+{b}")


def test_sirst3_expands_to_components(tmp_path):
    for name, prefix in (("NUAA-SIRST", "Misc_"), ("NUDT-SIRST", "0000"), ("IRSTD-1K", "XDU")):
        write_dataset(tmp_path, name, n=2, prefix=prefix)
    ds = load_dataset(tmp_path / "SIRST3", "train")
    assert ds.name == "NUAA-SIRST+NUDT-SIRST+IRSTD-1K" and ds.ids == ["Misc_0", "00000", "XDU0"]
    # known constants pooled by pixel count (all parts have the same size here -> plain average of moments)
    means = [KNOWN[n].mean for n in ("NUAA-SIRST", "NUDT-SIRST", "IRSTD-1K")]
    assert ds.mean == pytest.approx(np.mean(means))


def test_known_constants_and_packaged_splits(tmp_path):
    d = write_dataset(tmp_path, "NUAA-SIRST", n=2, prefix="Misc_")
    ds = load_dataset(d, "train")
    assert (ds.mean, ds.std) == (101.06, 34.62)
    assert not (d / STATS_FILE).exists()
    sizes = {n: (len(packaged_split(n, "train")), len(packaged_split(n, "test"))) for n in KNOWN}
    assert sizes == {"NUAA-SIRST": (213, 214), "NUDT-SIRST": (663, 664), "IRSTD-1K": (800, 201), "SIRST3": (1676, 1079)}
    assert find_known("irstd1k").name == "IRSTD-1K"
    sirst3 = set(packaged_split("SIRST3", "test"))
    assert sirst3 == set().union(*(packaged_split(n, "test") for n in ("NUAA-SIRST", "NUDT-SIRST", "IRSTD-1K")))


def test_custom_stats_computed_and_cached(toy):
    ds = load_dataset(toy, "test")
    pix = np.concatenate([np.asarray(Image.open(toy / "images" / f"img{k}.png"), np.float64).ravel() for k in range(3)])
    assert ds.mean == pytest.approx(pix.mean(), rel=1e-9) and ds.std == pytest.approx(pix.std(), rel=1e-9)
    assert not (toy / STATS_FILE).exists()  # kept in fdep's cache, not in the user's dataset folder
    cached = dataset_cache_dir(toy, "stats") / STATS_FILE
    cache = json.loads(cached.read_text())
    assert cache["mean"] == pytest.approx(pix.mean()) and cache["dataset"] == str(toy.resolve())
    cache["mean"] = 42.0  # the cache is used when its ids match
    cached.write_text(json.dumps(cache))
    assert load_dataset(toy, "train").mean == 42.0
    (toy / STATS_FILE).write_text(json.dumps({**cache, "mean": 41.0}))  # written by an earlier fdep: still read
    assert load_dataset(toy, "train").mean == 41.0
    (toy / "img_idx" / "train_toy.txt").write_text("img0\n")  # changed split -> recomputed
    assert load_dataset(toy, "train").mean not in (41.0, 42.0)


def test_user_folder_gets_written_seeded_split(tmp_path):
    d = write_dataset(tmp_path, "mine", n=10, splits=False)
    train = load_dataset(d, "train").ids
    test = load_dataset(d, "test").ids
    assert len(test) == 2 and sorted(train + test) == sorted(f"img{k}" for k in range(10))
    assert not (d / "img_idx").exists()  # nothing written into the user's folder: the lists are in fdep's cache
    assert (dataset_cache_dir(d, "splits") / "train_mine.txt").read_text().split() == train
    # a second folder with the same files gets the same split (seeded)
    d2 = write_dataset(tmp_path / "other", "mine", n=10, splits=False)
    assert load_dataset(d2, "test").ids == test


def test_user_split_never_overwrites_given_list(tmp_path):
    d = write_dataset(tmp_path, "mine", n=5, splits=False)
    (d / "img_idx").mkdir()
    f = d / "img_idx" / "train_mine.txt"
    f.write_text("img1\nimg3\n")
    before = f.read_bytes()
    assert load_dataset(d, "test").ids == ["img0", "img2", "img4"]
    assert f.read_bytes() == before


def test_image_modes_read_identically(tmp_path):
    d = write_dataset(tmp_path, "modes", n=3, size=(8, 8))
    gray = np.asarray(Image.open(d / "images" / "img0.png"))
    Image.fromarray(np.stack([gray] * 3, -1), "RGB").save(d / "images" / "img1.png")
    Image.fromarray(gray, "L").convert("P").save(d / "images" / "img2.png")
    Image.open(d / "masks" / "img0.png").convert("1").save(d / "masks" / "img2.png")
    ds = load_dataset(d, "all")
    ref = ds[0]["image"]
    assert torch.allclose(ds[1]["image"], ref, atol=1.0 / ds.std)
    assert torch.allclose(ds[2]["image"], ref, atol=1.0 / ds.std)
    assert torch.equal(ds[2]["mask"], ds[0]["mask"])


def test_split_train_val_deterministic():
    ids = [f"i{k}" for k in range(20)]
    tr, va = split_train_val(ids, 0.25, seed=3)
    assert (tr, va) == split_train_val(ids, 0.25, seed=3)
    assert len(va) == 5 and sorted(tr + va) == sorted(ids) and not set(tr) & set(va)
    assert tr == [i for i in ids if i in tr]  # order kept
    assert split_train_val(ids, 0.25, seed=4) != (tr, va)
    tr2, va2 = split_train_val(["a", "b"], 0.1)  # at least one id on each side
    assert len(tr2) == len(va2) == 1


def test_missing_folder_hints(tmp_path):
    with pytest.raises(DataError, match="fdep data download NUAA-SIRST"):
        load_dataset(tmp_path / "NUAA-SIRST")
    with pytest.raises(DataError, match="not a dataset folder"):
        (tmp_path / "x").mkdir()
        load_dataset(tmp_path / "x")
    with pytest.raises(DataError, match="unknown split"):
        load_dataset(tmp_path / "x", "val")
