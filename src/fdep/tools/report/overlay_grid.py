"""The overlay grid like the paper's Fig. 3: for a few test images, the image, each run's prediction (correct
detections red, false alarms blue, missed targets orange) and the ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from ...imageio import IMAGE_SUFFIXES, read_image, read_mask, read_prob_map
from ...metrics import classify_detections
from ..overlay import detection_overlay, to_display
from .figures import new_figure, png_bytes
from .runs import Run


def _dataset_dirs(results: dict[str, Any]) -> list[Path]:
    spec = str(results.get("dataset") or "")
    return [Path(p) for p in spec.split("+") if p and Path(p).is_dir()]


def _find_file(folder: Path, stem: str, suffixes: tuple[str, ...]) -> Path | None:
    for s in suffixes:
        for cand in (folder / f"{stem}{s}", folder / f"{stem}{s.upper()}"):
            if cand.is_file():
                return cand
    return None


def _image_and_mask(dirs: list[Path], image_id: str) -> tuple[np.ndarray, np.ndarray] | None:
    for d in dirs:
        img = _find_file(d / "images", image_id, IMAGE_SUFFIXES)
        msk = _find_file(d / "masks", image_id, (".png", ".bmp"))
        if img is not None and msk is not None:
            image, mask = read_image(img), read_mask(msk)
            if image.shape != mask.shape:  # a known dataset quirk (NUAA Misc_111): show the image's size
                import cv2

                mask = cv2.resize(mask.astype(np.uint8), image.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
            return image, mask
    return None


def choose_ids(runs: list[Run], n: int) -> list[str]:
    """Up to ``n`` image ids every run has a prediction for, evenly spread over the sorted list."""
    common = None
    for r in runs:
        ids = {p.stem for p in r.preds_dir.glob("*.png")} if r.preds_dir.is_dir() else set()
        common = ids if common is None else common & ids
    ids = sorted(common or ())
    if len(ids) <= n:
        return ids
    picks = np.linspace(0, len(ids) - 1, n).round().astype(int)
    return [ids[i] for i in picks]


def overlay_grid(runs: list[Run], n_images: int = 4, threshold: float = 0.5) -> tuple[bytes | None, str]:
    """PNG of the Fig. 3-style grid (rows: images; columns: image, runs..., GT) and a note."""
    ids = choose_ids(runs, n_images)
    dirs = _dataset_dirs(runs[0].results)
    if not ids:
        return None, "no saved predictions (preds/) common to all runs: no overlay grid"
    if not dirs:
        return None, f"dataset {runs[0].results.get('dataset')!r} not found on this machine: no overlay grid"
    tol = float(runs[0].results.get("tolerance", 3.0) or 3.0)
    rows = []
    for image_id in ids:
        pair = _image_and_mask(dirs, image_id)
        if pair is None:
            continue
        image, gt = pair
        panels = [to_display(image)]
        for r in runs:
            prob = read_prob_map(r.preds_dir / f"{image_id}.png")
            if prob.shape != image.shape:
                raise InputError(f"{r.preds_dir / (image_id + '.png')}: size {prob.shape} differs from the image "
                                 f"{image.shape}")
            panels.append(detection_overlay(image, *classify_detections(prob, gt, threshold, tol)))
        panels.append(np.repeat((gt.astype(np.uint8) * 255)[..., None], 3, axis=2))
        rows.append((image_id, panels))
    if not rows:
        return None, "images of the predicted ids not found in the dataset folder: no overlay grid"
    titles = ["Image"] + [r.label for r in runs] + ["True label"]
    ncol = len(titles)
    fig = new_figure((2.2 * ncol, 2.3 * len(rows)))
    axes = np.atleast_2d(fig.subplots(len(rows), ncol, squeeze=False))
    for i, (image_id, panels) in enumerate(rows):
        for j, panel in enumerate(panels):
            ax = axes[i, j]
            ax.imshow(panel, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(titles[j], fontsize=8)
            if j == 0:
                ax.set_ylabel(image_id, fontsize=7)
    fig.suptitle("red: correct detections, blue: false alarms, orange: missed targets", fontsize=9)
    return png_bytes(fig), f"{len(rows)} image(s); binarised at p > {threshold}, match tolerance {tol:g} px"
