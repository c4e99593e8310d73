"""A small self-made evaluation example: synthetic predictions and masks written as files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import OutputExistsError
from ..fileio import atomic_write
from ..imageio import write_mask_png, write_prob_png16
from .synthetic import synthetic_pair

MARKER = ".fdep-evaluate-demo"


def write_demo(out: str | os.PathLike, n: int = 24, size: int = 256, seed: int = 0) -> tuple[Path, Path]:
    """Write ``out/pred/demo_XXX.png`` (16-bit probabilities) and ``out/gt/demo_XXX.png`` (masks).

    Deterministic; a folder already holding this demo is reused, any other non-empty folder is refused.
    """
    out = Path(out)
    pred_dir, gt_dir = out / "pred", out / "gt"
    if out.exists():
        if (out / MARKER).is_file():
            return pred_dir, gt_dir
        if not out.is_dir() or any(out.iterdir()):
            raise OutputExistsError(f"{out}: exists and is not an fdep evaluate demo folder; choose a new folder")
    rng = np.random.default_rng(seed)
    for i in range(n):
        p, g = synthetic_pair(rng, size, n_targets=(1, 3), n_clutter=(2, 8))
        write_prob_png16(pred_dir / f"demo_{i:03d}.png", p)
        write_mask_png(gt_dir / f"demo_{i:03d}.png", g)
    with atomic_write(out / MARKER) as f:
        f.write(f"n={n} size={size} seed={seed}\n")
    return pred_dir, gt_dir
