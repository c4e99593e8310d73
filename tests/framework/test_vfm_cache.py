"""Feature cache and crop alignment: geometry against independent references, CLI, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fdep.cli.main import main
from fdep.errors import ConfigError, DataError, OutputExistsError
from fdep.imageio import write_image_png, write_mask_png
from fdep.vfm import FeatureCache, crop_feature_maps, window_align, write_feature_cache


def _coord_maps(gh, gw, patch):
    """2 x gh x gw maps holding each cell centre's pixel coordinates (y, x): linear, so bilinear is exact."""
    ys = (torch.arange(gh, dtype=torch.float32) + 0.5) * patch
    xs = (torch.arange(gw, dtype=torch.float32) + 0.5) * patch
    return torch.stack(torch.meshgrid(ys, xs, indexing="ij"))


def _data_pipeline(img: np.ndarray, box, transpose, hflip, vflip):
    """The data helper's documented crop + flags on an image (zero outside), written independently."""
    y0, x0, h, w = box
    out = np.zeros((img.shape[0], h, w), img.dtype)
    for a in range(h):
        for b in range(w):
            y, x = y0 + a, x0 + b
            if 0 <= y < img.shape[1] and 0 <= x < img.shape[2]:
                out[:, a, b] = img[:, y, x]
    if transpose:
        out = out.transpose(0, 2, 1)
    if hflip:
        out = out[:, :, ::-1]
    if vflip:
        out = out[:, ::-1, :]
    return out


FLAGS = [(False, False, False), (True, False, False), (False, True, True), (True, True, True)]


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("box", [(3, 5, 8, 6), (-2, 4, 7, 9), (10, 12, 6, 5)])
def test_crop_matches_data_pipeline_pixelwise(box, flags):
    """With patch 1 the grid is the pixel grid: the feature crop must equal the image crop exactly."""
    img = _coord_maps(12, 14, 1).numpy() + 1.0  # +1: zero means "outside the image"
    got = crop_feature_maps(torch.from_numpy(img), 1, box, image_hw=(12, 14), transpose=flags[0], hflip=flags[1],
                            vflip=flags[2])
    expected = _data_pipeline(img, box, *flags)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)


def test_crop_samples_window_cell_centres():
    maps = _coord_maps(6, 7, 14)
    y0, x0, h, w = 20, 9, 40, 50  # ceil(40/14)=3, ceil(50/14)=4 cells dividing the window evenly
    got = crop_feature_maps(maps, 14, (y0, x0, h, w))
    assert got.shape == (2, 3, 4)
    np.testing.assert_allclose(got[0, :, 0].numpy(), y0 + (np.arange(3) + 0.5) * h / 3, atol=1e-4)
    np.testing.assert_allclose(got[1, 0, :].numpy(), x0 + (np.arange(4) + 0.5) * w / 4, atol=1e-4)
    # patch-aligned crops read the stored cells unchanged
    assert torch.equal(crop_feature_maps(maps, 14, (14, 28, 28, 42)), maps[:, 1:3, 2:5])


def test_window_align_of_padded_live_maps():
    maps = [_coord_maps(3, 4, 14)[None]]  # live maps of a 40 x 50 input padded to 42 x 56
    out = window_align(maps, (40, 50), 14)[0][0]
    # window cell centres; the first (6.67) lies before the first stored centre (7): edge cell extended
    np.testing.assert_allclose(out[0, :, 0].numpy(), np.maximum((np.arange(3) + 0.5) * 40 / 3, 7.0), atol=1e-4)
    assert window_align(maps, (42, 56), 14)[0] is maps[0]


def test_cache_round_trip(tiny_vfm, tmp_path):
    rng = np.random.default_rng(0)
    images = {"a": rng.random((40, 50), dtype=np.float32), "b": rng.random((28, 28), dtype=np.float32)}
    out = write_feature_cache(tiny_vfm, images.items(), tmp_path / "cache")
    meta = json.loads((out / "meta.json").read_text())
    assert meta["images"]["a"] == {"hw": [40, 50], "grid": [3, 4]}
    assert meta["vfm"]["layers"] == [1, 2, 3, 4]
    stored = np.load(out / "features" / "a.npy", mmap_mode="r")
    assert stored.dtype == np.float16 and stored.shape == (4, 32, 3, 4)
    cache = FeatureCache(out)
    live = window_align(tiny_vfm(torch.from_numpy(images["a"])[None, None]), (40, 50), 14)
    full = cache.get("a")
    for k in range(4):
        torch.testing.assert_close(full[k], live[k][0], atol=2e-2, rtol=1e-2)  # fp16 storage
    b_live = tiny_vfm(torch.from_numpy(images["b"])[None, None])
    crop = cache.get("b", (14, 0, 14, 28), transpose=True)
    torch.testing.assert_close(crop, torch.stack(b_live)[:, 0, :, 1:2, :].transpose(-1, -2), atol=2e-2, rtol=1e-2)
    batch = {"id": ["a", "b"], "box": torch.tensor([[0, 0, 28, 28], [0, 0, 28, 28]]),
             "hflip": torch.tensor([True, False]), "vflip": torch.tensor([False, False]),
             "transpose": torch.tensor([False, False])}
    maps = cache.for_batch(batch)
    assert len(maps) == 4 and maps[0].shape == (2, 32, 2, 2)
    assert torch.equal(maps[0][0], cache.get("a", (0, 0, 28, 28), hflip=True)[0])
    cache.check(tiny_vfm.describe())
    with pytest.raises(ConfigError, match="layers"):
        cache.check({**tiny_vfm.describe(), "layers": [2, 4]})
    with pytest.raises(DataError, match="'zz'"):
        cache.get("zz")
    with pytest.raises(OutputExistsError):
        write_feature_cache(tiny_vfm, images.items(), out)


def test_cli_vfm_cache(tiny_vfm_dir, tmp_path, capsys):
    ds = tmp_path / "Toy"
    rng = np.random.default_rng(1)
    for i in range(2):
        write_image_png(ds / "images" / f"im{i}.png", rng.integers(0, 256, (30, 40), dtype=np.uint8))
        write_mask_png(ds / "masks" / f"im{i}.png", np.zeros((30, 40), bool))
    out = tmp_path / "feats"
    assert main(["vfm", "cache", "--data", str(ds), "--vfm", str(tiny_vfm_dir), "--layers", "2,4",
                 "--out", str(out)]) == 0
    assert "2 images" in capsys.readouterr().out
    cache = FeatureCache(out)
    assert sorted(cache) == ["im0", "im1"] and cache.layers == (2, 4)
    assert main(["vfm", "cache", "--data", str(ds), "--vfm", str(tiny_vfm_dir), "--out", str(out)]) != 0
    assert "already holds a feature cache" in capsys.readouterr().err
    assert main(["vfm", "cache", "--data", str(tmp_path / "nope"), "--vfm", "x", "--out", str(tmp_path / "o")]) != 0
    assert main(["vfm", "cache", "--data", f"{ds}+{ds}", "--vfm", str(tiny_vfm_dir), "--out", str(tmp_path / "u")]) != 0
    assert "distinct ids" in capsys.readouterr().err
    assert main(["vfm", "list"]) == 0
    assert "facebook/dinov2-large" in capsys.readouterr().out
