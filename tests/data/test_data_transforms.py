"""Transforms: seeded crops/flips, padding round trips, tiled inference, DataLoader workers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from fdep.data import TrainTransform, crop_to, load_dataset, pad_to_multiple, predict_tiled
from fdep.data.transforms import crop_window
from fdep.errors import InputError

from .builders import write_dataset


def _undo(item) -> tuple[np.ndarray, np.ndarray]:
    """Invert the flips/transpose of an item: back to the crop window's orientation."""
    img, msk = item["image"][0].numpy(), item["mask"][0].numpy()
    if item["vflip"]:
        img, msk = img[::-1], msk[::-1]
    if item["hflip"]:
        img, msk = img[:, ::-1], msk[:, ::-1]
    if item["transpose"]:
        img, msk = img.T, msk.T
    return img, msk


@pytest.mark.parametrize("crop", [8, 30])  # smaller and larger than the 20 x 24 images
def test_crop_box_and_flags_reproduce_the_item(toy, crop):
    ds = load_dataset(toy, "all", transform=TrainTransform(crop_size=crop, target_prob=0.5))
    plain = load_dataset(toy, "all")
    seen_flags = set()
    for epoch in range(4):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            assert item["image"].shape == (1, crop, crop)
            y0, x0, h, w = item["box"].tolist()
            assert (h, w) == (crop, crop)
            ref_img = crop_window(plain[i]["image"][0].numpy(), y0, x0, h, w, 0.0)
            ref_msk = crop_window(plain[i]["mask"][0].numpy(), y0, x0, h, w, 0.0)
            img, msk = _undo(item)
            np.testing.assert_array_equal(img, ref_img)
            np.testing.assert_array_equal(msk, ref_msk)
            seen_flags.add((item["hflip"], item["vflip"], item["transpose"]))
            if crop > 20:  # window larger than the image: it covers the whole image, zero padded
                assert y0 <= 0 and x0 <= 0 and y0 + h >= 20 and x0 + w >= 24
    assert len(seen_flags) >= 4


def test_target_prob_one_always_contains_target(tmp_path):
    d = write_dataset(tmp_path, "big", n=4, size=(64, 64))
    ds = load_dataset(d, "all", transform=TrainTransform(crop_size=8, target_prob=1.0))
    for e in range(10):
        ds.set_epoch(e)
        assert all(ds[i]["mask"].sum() > 0 for i in range(len(ds)))
    ds0 = load_dataset(d, "all", transform=TrainTransform(crop_size=8, target_prob=0.0))
    hits = sum(ds0[i]["mask"].sum() > 0 for e in range(10) for i in range(4) if ds0.set_epoch(e) is None)
    assert hits < 40  # 2x2 targets in 64x64 images: most random 8x8 crops miss them


def test_seeded_determinism(toy):
    t = TrainTransform(crop_size=12, noise=5.0, seed=7)
    a, b = load_dataset(toy, "all", transform=t), load_dataset(toy, "all", transform=t)
    a.set_epoch(3)
    b.set_epoch(3)
    for i in range(len(a)):
        assert torch.equal(a[i]["image"], b[i]["image"]) and torch.equal(a[i]["box"], b[i]["box"])
    b.set_epoch(4)
    assert any(not torch.equal(a[i]["image"], b[i]["image"]) for i in range(len(a)))
    c = load_dataset(toy, "all", transform=TrainTransform(crop_size=12, noise=5.0, seed=8))
    c.set_epoch(3)
    assert any(not torch.equal(a[i]["image"], c[i]["image"]) for i in range(len(a)))


def test_noise_changes_image_not_mask(toy):
    clean = load_dataset(toy, "all", transform=TrainTransform(crop_size=12))
    noisy = load_dataset(toy, "all", transform=TrainTransform(crop_size=12, noise=8.0))
    diffs = []
    for i in range(len(clean)):
        a, b = clean[i], noisy[i]
        assert torch.equal(a["box"], b["box"]) and torch.equal(a["mask"], b["mask"])
        diffs.append(float((a["image"] - b["image"]).std()))
    nonzero = [v for v in diffs if v > 0]
    assert nonzero and all(v == pytest.approx(8.0 / clean.std, rel=0.35) for v in nonzero)


def _batches(ds, workers, persistent=False):
    dl = DataLoader(ds, batch_size=2, shuffle=False, num_workers=workers, persistent_workers=persistent)
    out = []
    for epoch in range(2):
        ds.set_epoch(epoch)
        out += [(b["image"].clone(), b["box"].clone(), list(b["id"])) for b in dl]
    return out


def test_dataloader_workers_give_identical_batches(toy):
    ds = load_dataset(toy, "all", transform=TrainTransform(crop_size=10, noise=3.0))
    single = _batches(ds, 0)
    multi = _batches(ds, 2)
    persistent = _batches(ds, 2, persistent=True)  # set_epoch reaches long-lived workers too
    assert len(single) == len(multi) == len(persistent) == 6
    for (i0, b0, n0), (i1, b1, n1), (i2, b2, n2) in zip(single, multi, persistent):
        assert n0 == n1 == n2 and torch.equal(i0, i1) and torch.equal(b0, b1)
        assert torch.equal(i0, i2) and torch.equal(b0, b2)
    assert not torch.equal(single[0][0], single[3][0])  # epochs differ


@pytest.mark.parametrize("multiple,expected", [(32, 32), ((32, 14), 224), ((8, 12), 24), (1, 1)])
def test_pad_to_multiple_composes_lcm(multiple, expected):
    x = torch.randn(2, 1, 37, 50)
    p, size = pad_to_multiple(x, multiple)
    assert size == (37, 50)
    assert p.shape[-2] % expected == 0 and p.shape[-1] % expected == 0
    assert p.shape[-2] - 37 < expected and p.shape[-1] - 50 < expected
    assert torch.equal(p[..., :37, :50], x) and float(p[..., 37:, :].abs().sum()) == 0.0


def test_pad_predict_crop_aligns_pixel_exactly(toy):
    ds = load_dataset(toy, "all")
    item = ds[2]
    x = item["image"][None]
    xp, size = pad_to_multiple(x, (32, 14))
    # a "prediction" that marks the mask's pixels must land on the mask after cropping back
    pred_padded = F.pad(item["mask"][None], (0, xp.shape[-1] - size[1], 0, xp.shape[-2] - size[0]))
    pred = crop_to(pred_padded, size)
    assert pred.shape == item["mask"][None].shape and torch.equal(pred, item["mask"][None])
    with pytest.raises(InputError):
        crop_to(torch.zeros(1, 1, 5, 5), (6, 5))


def test_predict_tiled_matches_full_image():
    torch.manual_seed(0)
    x = torch.randn(2, 1, 150, 210)
    conv = torch.nn.Conv2d(1, 1, 3, padding=1)
    with torch.no_grad():
        full = conv(x)
        tiled = predict_tiled(conv, x, tile=64, overlap=16, multiple=32)
    assert tiled.shape == (2, 1, 150, 210)
    # a 3x3 conv differs from the full image only on the 1-px rim of each tile, which the ramps down-weight
    err = (tiled - full).abs()
    assert float(err.mean()) < 0.01 * float(full.abs().mean())
    assert float(err.max()) < 0.5 * float(full.abs().max())
    hard = torch.zeros_like(full)  # naive stitching without blending is worse
    with torch.no_grad():
        for y0 in range(0, 150, 64):
            for x0 in range(0, 210, 64):
                hard[..., y0 : y0 + 64, x0 : x0 + 64] = conv(x[..., y0 : y0 + 64, x0 : x0 + 64])
    assert float(err.mean()) < float((hard - full).abs().mean())
    point = predict_tiled(lambda t: t * 2 + 1, x, tile=64, overlap=16, multiple=32)
    assert torch.allclose(point, x * 2 + 1, atol=1e-5)
    calls = []

    def record(t):
        calls.append(tuple(t.shape[-2:]))
        return t

    predict_tiled(record, x, tile=64, overlap=16, multiple=32)
    assert all(h % 32 == 0 and w % 32 == 0 and h <= 64 and w <= 64 for h, w in calls) and len(calls) > 4
    small = predict_tiled(record, x[..., :40, :40], tile=64, multiple=32)
    assert small.shape[-2:] == (40, 40) and calls[-1] == (64, 64)


def test_transform_argument_errors():
    with pytest.raises(InputError):
        TrainTransform(crop_size=0)
    with pytest.raises(InputError):
        TrainTransform(target_prob=1.5)
    with pytest.raises(InputError):
        pad_to_multiple(torch.zeros(1, 1, 4, 4), (32, 0))
