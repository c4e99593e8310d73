"""The feature cache against fdep.data's real crops and flags (skipped until fdep.data is present).

A cache whose "features" are the raw image itself on a 1-pixel patch grid must return, for every
training item, exactly the item's (de-normalised) crop: same window, same flips, same order.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fdep.fileio import write_json
from fdep.imageio import read_image
from fdep.vfm import FeatureCache

try:
    from fdep.data import TrainTransform, generate_synthetic, load_dataset
except ImportError:  # the data package is built on another branch
    pytest.skip("fdep.data (load_dataset, TrainTransform, generate_synthetic) not available", allow_module_level=True)


def test_cache_crops_follow_the_data_pipeline(tmp_path):
    root = generate_synthetic(tmp_path, n=6, size=64, seed=0, name="synth")
    ds = load_dataset(root, split="all", transform=TrainTransform(crop_size=80, target_prob=0.5, seed=3))
    cache_dir = tmp_path / "cache"
    images = {}
    for i in ds.ids:
        raw = read_image(next((root / "images").glob(f"{i}.*")))
        images[i] = {"hw": list(raw.shape), "grid": list(raw.shape)}
        (cache_dir / "features").mkdir(parents=True, exist_ok=True)
        np.save(cache_dir / "features" / f"{i}.npy", (raw + 1)[None, None].astype(np.float16))  # 0 = outside
    write_json(cache_dir / "meta.json", {"format": "fdep-vfm-cache", "version": 1, "dtype": "float16",
                                         "vfm": {"name": "identity", "layers": [1], "patch_size": 1,
                                                 "embed_dim": 1}, "images": images})
    cache = FeatureCache(cache_dir)
    seen_flags = set()
    for epoch in range(3):
        ds.set_epoch(epoch)
        for k in range(len(ds)):
            item = ds[k]
            got = cache.get(item["id"], item["box"].tolist(), item["transpose"], item["hflip"], item["vflip"])[0, 0]
            crop = item["image"][0] * ds.std + ds.mean
            inside = got != 0
            y0, x0, h, w = item["box"].tolist()
            H, W = images[item["id"]]["hw"]
            assert int(inside.sum()) == (min(y0 + h, H) - max(y0, 0)) * (min(x0 + w, W) - max(x0, 0))
            torch.testing.assert_close(got[inside] - 1, crop[inside], atol=0.05, rtol=0)
            seen_flags.add((item["transpose"], item["hflip"], item["vflip"]))
    assert len(seen_flags) >= 4  # several flag combinations were exercised
