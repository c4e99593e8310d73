"""The authors' augmentation (augment: authors): crop, SomeOf draws, each operation, image/mask alignment,
per-image-mean normalisation."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fdep.data import AuthorsTransform, load_dataset
from fdep.data import authors as au
from fdep.data.stats import per_image_stats

from .builders import write_dataset


def _blob_image(size=64, centre=(30, 35), channels=3):
    """Gray 60 background, a 3 x 3 block of 210 (the target) near the centre; mask = the block."""
    img = np.full((size, size), 60.0, np.float32)
    mask = np.zeros((size, size), bool)
    r, c = centre
    img[r - 1 : r + 2, c - 1 : c + 2] = 210
    mask[r - 1 : r + 2, c - 1 : c + 2] = True
    return img, mask


def _centroid(weights: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(weights)
    w = weights[ys, xs].astype(np.float64)
    return np.array([(ys * w).sum(), (xs * w).sum()]) / w.sum()


def test_crop_pads_bottom_right_with_black_only_when_smaller():
    img = np.arange(20 * 24, dtype=np.uint8).reshape(20, 24) % 250 + 1  # no zeros inside the image
    mask = np.zeros((20, 24), np.uint8)
    mask[5, 6] = 1
    rng = np.random.default_rng(0)
    p, m, y0, x0 = au.authors_crop(img, mask, 30, rng)
    assert (y0, x0) == (0, 0) and p.shape == (30, 30)
    np.testing.assert_array_equal(p[:20, :24], img)
    assert not p[20:].any() and not p[:, 24:].any()  # black padding below and to the right, none above/left
    assert m[5, 6] == 1 and m.sum() == 1
    # one side smaller only: that side padded, the other cropped uniformly
    p, m, y0, x0 = au.authors_crop(img, mask, 22, rng)
    assert p.shape == (22, 22) and y0 == 0 and 0 <= x0 <= 2
    np.testing.assert_array_equal(p[:20], img[:, x0 : x0 + 22])
    assert not p[20:].any()


def test_crop_start_is_uniform_and_target_prob_forces_a_target():
    img = np.ones((40, 40), np.uint8)
    mask = np.zeros((40, 40), np.uint8)
    mask[37, 38] = 1
    rng = np.random.default_rng(1)
    starts = np.array([au.authors_crop(img, mask, 36, rng)[2:] for _ in range(5000)])
    for axis in range(2):
        counts = np.bincount(starts[:, axis], minlength=5)
        assert len(counts) == 5 and counts.min() > 850 and counts.max() < 1150  # 0..4 each ~1000 times
    hits = [au.authors_crop(img, mask, 8, rng, must=(37, 38))[1].any() for _ in range(200)]
    assert all(hits)


def test_someof_draws_three_with_replacement_by_weight_half_the_time():
    tr = AuthorsTransform(crop_size=8)
    rng = np.random.default_rng(2)
    draws = [tr.draw_ops(rng) for _ in range(40000)]
    empty = sum(not d for d in draws) / len(draws)
    assert empty == pytest.approx(0.5, abs=0.01)
    chosen = [d for d in draws if d]
    assert all(len(d) == 3 for d in chosen)
    assert any(len(set(d)) < 3 and "noop" not in d for d in chosen)  # with replacement: repeats happen
    names = [n for n, _ in au.AUTHORS_OPS]
    weights = {}
    for n, w in au.AUTHORS_OPS:
        weights[n] = weights.get(n, 0.0) + w
    flat = [op for d in chosen for op in d]
    for n in set(names):
        assert flat.count(n) / len(flat) == pytest.approx(weights[n] / 4.9, abs=0.01), n


def test_photometric_ops_by_hand():
    x = np.array([[0, 100, 200, 255]], np.uint8)
    # brightness: x + 255 b, clipped, truncated towards zero
    np.testing.assert_array_equal(au.brightness(x, 0.1), [[25, 125, 225, 255]])  # 25.5 -> 25, 125.5 -> 125
    np.testing.assert_array_equal(au.brightness(x, -0.3), [[0, 23, 123, 178]])  # 100 - 76.5 = 23.5 -> 23
    # contrast: x * a about 0 (not about the mean)
    np.testing.assert_array_equal(au.contrast(x, 1.3), [[0, 130, 255, 255]])
    np.testing.assert_array_equal(au.contrast(np.array([[101]], np.uint8), 0.7), [[70]])  # 70.7 -> 70
    noisy = au.gauss_noise(np.full((200, 200, 3), 128, np.uint8), 5.0, np.random.default_rng(0))
    assert noisy.dtype == np.uint8 and abs(float(noisy.std()) - 5.0) < 0.2
    assert (noisy[..., 0] != noisy[..., 1]).mean() > 0.5  # independent per channel


def test_rotation_centre_and_reflect_border():
    img = np.random.default_rng(0).integers(0, 256, (9, 9, 3), dtype=np.uint8)
    mask = np.zeros((9, 9), np.uint8)
    mask[1, 6] = 1
    ri, rm = au.rotate(img, mask, 90.0)  # about (w/2 - 0.5, h/2 - 0.5): exactly np.rot90 (counter-clockwise)
    np.testing.assert_array_equal(ri, np.rot90(img, 1))
    np.testing.assert_array_equal(rm, np.rot90(mask, 1))
    # a shift of 2 px to the right mirrors column 2 into column 0 (BORDER_REFLECT_101), targets included
    m = np.zeros((6, 10), np.uint8)
    m[3, 2] = 1
    si, sm = au.shift_scale(np.zeros((6, 10), np.uint8), m, 1.0, 0.2, 0.0)
    assert sm[3, 4] == 1 and sm[3, 0] == 1 and sm.sum() == 2


@pytest.mark.parametrize("op", [n for n, _ in au.AUTHORS_OPS[:10]])
def test_each_op_keeps_image_and_mask_aligned(op):
    img, mask = _blob_image(channels=3)
    u8 = np.repeat(au.to_uint8(img)[:, :, None], 3, axis=2)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        oi, om = au.apply_op(op, u8, mask.astype(np.uint8), rng)
        assert oi.shape == u8.shape and om.shape == mask.shape and om.any()
        for ch in range(3):
            band = oi[..., ch].astype(np.float64)
            peak = np.where(band > (band.max() + np.median(band)) / 2, band - np.median(band), 0)
            assert np.linalg.norm(_centroid(peak) - _centroid(om)) < 1.0, (op, seed, ch)


def test_whole_transform_keeps_alignment_and_channels():
    img, mask = _blob_image()
    tr = AuthorsTransform(crop_size=64, channels=3)
    seen_ops = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        a = tr(img, mask, rng)
        assert a.image.shape == (3, 64, 64) and a.image.dtype == np.float32 and a.mask.dtype == bool
        assert a.image.min() >= 0 and a.image.max() <= 255
        band = a.image[0].astype(np.float64)
        peak = np.where(band > (band.max() + np.median(band)) / 2, band - np.median(band), 0)
        assert np.linalg.norm(_centroid(peak) - _centroid(a.mask)) < 1.0, seed
        seen_ops += not np.array_equal(a.image[0], img)
    assert 15 < seen_ops < 50  # about half the items are augmented
    one = AuthorsTransform(crop_size=32, channels=1)(img, mask, np.random.default_rng(0))
    assert one.image.shape == (32, 32)


def test_dataset_normalises_after_the_raw_transform(tmp_path):
    d = write_dataset(tmp_path, "toy", n=6, size=(20, 24))
    tr = AuthorsTransform(crop_size=16, channels=3, seed=5)
    ds = load_dataset(d, "train", transform=tr)
    plain = load_dataset(d, "train")
    found = 0
    for epoch in range(6):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            assert item["image"].shape == (3, 16, 16) and item["mask"].shape == (1, 16, 16)
            rng = np.random.default_rng([5, epoch, i])
            rng.random(), rng.random()  # target choice
            raw, _ = ds.load(i)
            _, _, y0, x0 = au.authors_crop(au.to_uint8(raw), np.zeros(raw.shape, np.uint8), 16, rng)
            assert tuple(item["box"].tolist()) == (y0, x0, 16, 16)
            if not tr.draw_ops(rng):  # no operation drawn: the normalised crop itself
                found += 1
                expect = plain[i]["image"][0].numpy()[y0 : y0 + 16, x0 : x0 + 16]
                for ch in range(3):
                    np.testing.assert_allclose(item["image"][ch].numpy(), expect, rtol=0, atol=1e-5)
    assert found > 3


def test_per_image_stats_by_hand(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (10, 12), dtype=np.uint8)
    b = rng.integers(100, 140, (7, 5, 3), dtype=np.uint8)  # an RGB file: read as 8-bit luma like PIL's "L"
    Image.fromarray(a).save(tmp_path / "a.png")
    Image.fromarray(b).save(tmp_path / "b.png")
    la = np.asarray(Image.open(tmp_path / "a.png").convert("L"), np.float64)
    lb = np.asarray(Image.open(tmp_path / "b.png").convert("L"), np.float64)
    mean, std = per_image_stats([tmp_path / "a.png", tmp_path / "b.png"])
    assert mean == pytest.approx((la.mean() + lb.mean()) / 2, rel=1e-12)
    assert std == pytest.approx((la.std() + lb.std()) / 2, rel=1e-12)
    pooled = np.concatenate([la.ravel(), lb.ravel()])
    assert std < pooled.std()  # the spread between image means is left out
