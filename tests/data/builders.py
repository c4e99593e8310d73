"""Builders of tiny on-disk datasets for the data tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_dataset(root: Path, name: str = "toy", n: int = 6, size=(20, 24), splits=True, seed=0, prefix="img"):
    """A BasicIRSTD folder with ``n`` random images and one square target each; returns its path."""
    rng = np.random.default_rng(seed)
    d = root / name
    (d / "images").mkdir(parents=True)
    (d / "masks").mkdir()
    ids = [f"{prefix}{k}" for k in range(n)]
    for k, i in enumerate(ids):
        img = rng.integers(0, 256, size, dtype=np.uint8)
        mask = np.zeros(size, np.uint8)
        y, x = 2 + k % (size[0] - 5), 3 + (2 * k) % (size[1] - 6)
        mask[y : y + 2, x : x + 2] = 255
        Image.fromarray(img).save(d / "images" / f"{i}.png")
        Image.fromarray(mask).save(d / "masks" / f"{i}.png")
    if splits:
        (d / "img_idx").mkdir()
        half = n // 2
        (d / "img_idx" / f"train_{name}.txt").write_text("".join(f"{i}\n" for i in ids[:half]))
        (d / "img_idx" / f"test_{name}.txt").write_text("".join(f"{i}\n" for i in ids[half:]))
    return d
