"""``fdep predict``: probability maps, masks, target lists and overlays for a user's images.

Layout written under ``out``::

    probs/<stem>.png      16-bit probability map (value / 65535), same size as the image
    masks/<stem>.png      8-bit binary mask (prob > threshold -> 255)
    overlays/<stem>.png   (with overlay=True) detections tinted red, boxed yellow
    targets.csv           one row per detected target (see fdep.tools.targets.TARGET_FIELDS)
    targets.json          the same, grouped per image, with the settings used

Nothing existing is overwritten unless ``overwrite=True``. The outputs are built in a work folder beside
``out`` and put in place only when all are written (``fdep.fileio.results_work_folder``): a new or empty
``out`` becomes that folder; with ``overwrite`` an earlier ``out`` is moved aside to ``OUT.old-<time>``
first; without it the new files join the others in ``out`` (none of their names exists there). A failed
run leaves ``out`` as it was. All images are read once before the network is loaded, so every
unreadable image is reported (by name, in one message) before anything is written;
with ``skip_unreadable`` the others are predicted and targets.json lists the skipped ones.
"""

from __future__ import annotations

import csv
import functools
import io
import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, OutputExistsError
from ..fileio import atomic_write, check_output_folder, lock_output, results_work_folder, write_json
from ..imageio import IMAGE_SUFFIXES, read_image, write_image_png, write_mask_png, write_prob_png16
from .inference import Predictor, classical_predictor, load_predictor
from .overlay import prediction_overlay
from .targets import TARGET_FIELDS, binarize, find_targets

#: progress(done, total, name, tile, tiles): ``done`` of ``total`` images finished, working on ``name``
#: (the first image of a batch), tile ``tile`` of ``tiles`` of it done (0 of 1 for an image run whole);
#: called when an image starts, after each tile of a large one, and when it is written
Progress = Callable[[int, int, str, int, int], None]


def list_images(path: str | os.PathLike) -> list[Path]:
    """The image file itself, or the image files directly inside a folder (sorted by name)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.exists():
        raise InputError(f"{path}: input not found")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    seen: dict[str, Path] = {}
    for f in files:
        if f.stem in seen:
            raise InputError(f"{path}: two images share the name {f.stem!r} ({seen[f.stem].name}, {f.name}); "
                             f"outputs are named by stem, rename one")
        seen[f.stem] = f
    return files


def output_paths(images: list[Path], out: Path, overlay: bool) -> dict[Path, dict[str, Path]]:
    """Per input image, the files predict writes for it."""
    plan = {}
    for img in images:
        files = {"prob": out / "probs" / f"{img.stem}.png", "mask": out / "masks" / f"{img.stem}.png"}
        if overlay:
            files["overlay"] = out / "overlays" / f"{img.stem}.png"
        plan[img] = files
    return plan


def _check_outputs(out: Path, plan: dict[Path, dict[str, Path]], overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out}: --out must be a folder, but a file of that name exists")
    check_output_folder(out)
    if overwrite:
        return
    targets = [out / "targets.csv", out / "targets.json"]
    existing = [p for p in targets + [f for files in plan.values() for f in files.values()] if p.exists()]
    if existing:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise OutputExistsError(f"{existing[0]} already exists{more}; use --overwrite or another --out")


def run_predict(
    checkpoint: str | os.PathLike | Predictor | None,
    input: str | os.PathLike,
    out: str | os.PathLike,
    *,
    threshold: float = 0.5,
    overlay: bool = False,
    batch_size: int = 8,
    device: str | None = "cpu",
    overwrite: bool = False,
    vfm_weights: str | None = None,
    progress: Progress | None = None,
    skip_unreadable: bool = False,
    model: str | None = None,
) -> dict[str, Any]:
    """Predict every image under ``input`` into ``out``; returns the targets.json content.

    ``checkpoint``: trained weights (or a ready :class:`Predictor`); ``model`` instead names a
    classical method, which runs without weights (exactly one of the two). Unreadable images are
    all named in one InputError before anything is written; with ``skip_unreadable`` the readable
    ones are predicted and the others listed under "skipped".
    """
    if (checkpoint is None) == (model is None):
        raise InputError("give either a checkpoint or --model (a classical method), not both or neither")
    if not 0.0 <= threshold < 1.0:
        raise InputError(f"--threshold must lie in [0, 1), got {threshold}")
    if batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {batch_size}")
    if model is not None:  # no weights to load: a wrong name fails before any image is read
        predictor = classical_predictor(model, device)
    out = Path(out)
    images = list_images(input)
    plan = output_paths(images, out, overlay)
    _check_outputs(out, plan, overwrite)
    lock = lock_output(out, "fdep predict")  # before any work: a second run into the same out stops here
    try:
        _check_outputs(out, plan, overwrite)  # again under the lock: a run that just finished may have written

        # Pass 1, before the network is loaded: read every image, group them by size, report every unreadable one.
        groups: dict[tuple[int, int], list[Path]] = defaultdict(list)
        unreadable: list[tuple[Path, str]] = []
        for img in images:
            try:
                groups[read_image(img).shape].append(img)
            except InputError as e:
                unreadable.append((img, str(e).removeprefix(f"{img}: ")))
        if unreadable and (not skip_unreadable or len(unreadable) == len(images)):
            listed = "; ".join(f"{p.name} ({why})" for p, why in unreadable)
            hint = "; pass --skip-unreadable to predict the others" if len(unreadable) < len(images) else ""
            raise InputError(f"{len(unreadable)} of {len(images)} image(s) in {input} cannot be read: {listed}{hint}")
        images = [p for p in images if p not in dict(unreadable)]
        if isinstance(checkpoint, Predictor):
            predictor = checkpoint
        elif model is None:
            predictor = load_predictor(checkpoint, device, vfm_weights=vfm_weights)

        results: dict[Path, dict[str, Any]] = {}
        done = 0
        earlier = out.is_dir() and any(out.iterdir())
        with results_work_folder(out, overwrite=overwrite and earlier, merge=earlier and not overwrite) as work:
            files = output_paths(images, work, overlay)
            for members in groups.values():
                for start in range(0, len(members), batch_size):
                    batch = members[start:start + batch_size]
                    arrays = [read_image(p) for p in batch]
                    on_tile = None
                    if progress:
                        progress(done, len(images), batch[0].name, 0, 1)
                        on_tile = functools.partial(progress, done, len(images), batch[0].name)
                    for path, image, prob in zip(batch, arrays, predictor.predict_batch(arrays, on_tile), strict=True):
                        check_finite(prob, predictor, path)
                        results[path] = _write_one(path, image, prob, files[path], threshold)
                        done += 1
                        if progress:
                            progress(done, len(images), path.name, 1, 1)
            report = {
                "checkpoint": str(getattr(predictor, "source", checkpoint)),
                "threshold": threshold,
                "connectivity": 8,
                "n_images": len(images),
                "n_targets": sum(len(r["targets"]) for r in results.values()),
                "images": [results[p] for p in images],
                "skipped": [{"image": str(p), "error": why} for p, why in unreadable],
            }
            _write_targets(work, report)
        return report
    finally:
        lock.release()


def check_finite(prob: np.ndarray, predictor: Any, image: object) -> None:
    """Refuse a probability map holding NaN/inf (diverged weights, a NaN normalisation): written as a PNG it
    would read as an all-zero map, and its ``max_score`` as NaN, which strict JSON forbids."""
    if not np.isfinite(prob).all():
        from ..errors import WeightsError

        n = int(prob.size - np.count_nonzero(np.isfinite(prob)))
        raise WeightsError(f"{getattr(predictor, 'source', '') or 'the network'}: produced {n} NaN/inf "
                           f"probabilities on {image} (diverged weights?); nothing was written")


def _write_one(path: Path, image: np.ndarray, prob: np.ndarray, files: dict[str, Path],
               threshold: float) -> dict[str, Any]:
    targets = find_targets(prob, threshold)
    mask = binarize(prob, threshold)
    write_prob_png16(files["prob"], prob)
    write_mask_png(files["mask"], mask)
    if "overlay" in files:
        boxes = [(t.bbox_y0, t.bbox_x0, t.bbox_h, t.bbox_w) for t in targets]
        write_image_png(files["overlay"], prediction_overlay(image, mask, boxes))
    return {
        "image": str(path),
        "height": int(image.shape[0]),
        "width": int(image.shape[1]),
        "max_score": float(np.max(prob)) if prob.size else 0.0,
        "targets": [t.as_dict() for t in targets],
    }


def _write_targets(out: Path, report: dict[str, Any]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TARGET_FIELDS, lineterminator="\n")
    writer.writeheader()
    for entry in report["images"]:
        for t in entry["targets"]:
            writer.writerow({"image": entry["image"], **{k: _fmt(v) for k, v in t.items()}})
    with atomic_write(out / "targets.csv", "w", encoding="utf-8", newline="") as f:
        f.write(buf.getvalue())
    write_json(out / "targets.json", report, strict=True)


def _fmt(v: Any) -> Any:
    return round(v, 4) if isinstance(v, float) else v
