"""``fdep predict``: probability maps, masks, target lists and overlays for a user's images.

Layout written under ``out`` (for a video, ``<stem>`` is ``<video stem>_<frame, 6 digits>`` and targets
carry a ``frame`` column)::

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
import glob
import io
import os
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, OutputExistsError
from ..fileio import atomic_write, check_output_folder, lock_output, results_work_folder, write_json
from ..imageio import IMAGE_SUFFIXES, read_image, write_image_png, write_mask_png, write_prob_png16
from ..inputrange import InputRange, gray_range, parse_input_range, range_warning
from .inference import Predictor, classical_predictor, load_predictor
from .overlay import prediction_overlay
from .targets import TARGET_FIELDS, binarize, find_targets
from .video import VideoFrames, frame_stem, is_video

#: inputs read before a first input-range warning is given (the report's covers them all)
RANGE_EARLY = 16

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


def _check_outputs(out: Path, plan: dict[Path, dict[str, Path]], overwrite: bool,
                   video: VideoFrames | None = None) -> None:
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out}: --out must be a folder, but a file of that name exists")
    check_output_folder(out)
    if overwrite:
        return
    targets = [out / "targets.csv", out / "targets.json"]
    frames = sorted((out / "probs").glob(f"{glob.escape(video.path.stem)}_*.png")) if video is not None else []
    existing = [p for p in targets + [f for files in plan.values() for f in files.values()] if p.exists()] + frames
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
    input_range: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Predict every image under ``input`` (or every frame of a video file) into ``out``; returns the
    targets.json content.

    ``checkpoint``: trained weights (or a ready :class:`Predictor`); ``model`` instead names a
    classical method, which runs without weights (exactly one of the two). Unreadable images are
    all named in one InputError before anything is written; with ``skip_unreadable`` the readable
    ones are predicted and the others listed under "skipped". ``input_range``: how stored values map
    onto the 0-255 scale (``fdep.inputrange``); inputs far from the range the weights were trained on
    give a warning (to ``warn``, and under "warnings").
    """
    if (checkpoint is None) == (model is None):
        raise InputError("give either a checkpoint or --model (a classical method), not both or neither")
    if not 0.0 <= threshold < 1.0:
        raise InputError(f"--threshold must lie in [0, 1), got {threshold}")
    if batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {batch_size}")
    declared = parse_input_range(input_range)
    if model is not None:  # no weights to load: a wrong name fails before any image is read
        predictor = classical_predictor(model, device)
    out = Path(out)
    video = VideoFrames(input, declared) if is_video(input) else None
    images = [] if video is not None else list_images(input)
    plan = output_paths(images, out, overlay)
    _check_outputs(out, plan, overwrite, video)
    lock = lock_output(out, "fdep predict")  # before any work: a second run into the same out stops here
    try:
        _check_outputs(out, plan, overwrite, video)  # again under the lock: a run that just finished may have written
        loaded = _read_all(images, declared, skip_unreadable, input) if video is None else None
        if isinstance(checkpoint, Predictor):
            predictor = checkpoint
        elif model is None:
            predictor = load_predictor(checkpoint, device, vfm_weights=vfm_weights)
        state = _Run(predictor, threshold, overlay, declared, warn)
        earlier = out.is_dir() and any(out.iterdir())
        with results_work_folder(out, overwrite=overwrite and earlier, merge=earlier and not overwrite) as work:
            if video is not None:
                report = _predict_video(state, video, work, batch_size, progress)
            else:
                groups, unreadable = loaded
                report = _predict_images(state, groups, unreadable, work, batch_size, progress)
            _write_targets(work, report)
        return report
    finally:
        lock.release()


class _Run:
    """What every image of one predict run shares: the predictor, the settings, the gray ranges seen."""

    def __init__(self, predictor: Predictor, threshold: float, overlay: bool, declared: InputRange | None,
                 warn: Callable[[str], None] | None) -> None:
        self.predictor, self.threshold, self.overlay = predictor, threshold, overlay
        self.declared, self.warn = declared, warn
        self.ranges: list[tuple[str, float, float]] = []
        self.warned = False

    def seen(self, name: str, image: np.ndarray, final: bool = False) -> None:
        """Note an input's gray range; warn once, as soon as inputs far from the training range are found."""
        if name is not None:
            self.ranges.append((name, *gray_range(image)))
        if self.warned or not (final or len(self.ranges) == RANGE_EARLY):
            return
        text = self.warning()
        if text:
            self.warned = True
            if self.warn:
                self.warn(text)

    def warning(self) -> str | None:
        return range_warning(self.ranges, self.predictor.meta.get("input_range"),
                             self.declared and self.declared.text)

    def report(self, entries: list[dict[str, Any]], skipped: list[dict[str, str]]) -> dict[str, Any]:
        text = self.warning()
        return {
            "checkpoint": str(getattr(self.predictor, "source", "")),
            "threshold": self.threshold,
            "connectivity": 8,
            "input_range": self.declared.text if self.declared else "auto",
            "n_images": len(entries),
            "n_targets": sum(len(r["targets"]) for r in entries),
            "images": entries,
            "skipped": skipped,
            "warnings": [text] if text else [],
        }


def _read_all(images: list[Path], declared: InputRange | None, skip_unreadable: bool, where: object
              ) -> tuple[dict[tuple[int, int], list[Path]], list[tuple[Path, str]]]:
    """Pass 1, before the network is loaded: read every image, group them by size, report every unreadable one."""
    groups: dict[tuple[int, int], list[Path]] = defaultdict(list)
    unreadable: list[tuple[Path, str]] = []
    for img in images:
        try:
            groups[read_image(img, declared).shape].append(img)
        except InputError as e:
            unreadable.append((img, str(e).removeprefix(f"{img}: ")))
    if unreadable and (not skip_unreadable or len(unreadable) == len(images)):
        listed = "; ".join(f"{p.name} ({why})" for p, why in unreadable)
        hint = "; pass --skip-unreadable to predict the others" if len(unreadable) < len(images) else ""
        raise InputError(f"{len(unreadable)} of {len(images)} image(s) in {where} cannot be read: {listed}{hint}")
    return groups, unreadable


def _predict_images(state: _Run, groups: dict[tuple[int, int], list[Path]], unreadable: list[tuple[Path, str]],
                    work: Path, batch_size: int, progress: Progress | None) -> dict[str, Any]:
    order = sorted(p for members in groups.values() for p in members)
    files = output_paths(order, work, state.overlay)
    results: dict[Path, dict[str, Any]] = {}
    done = 0
    for members in groups.values():
        for start in range(0, len(members), batch_size):
            batch = members[start:start + batch_size]
            arrays = [read_image(p, state.declared) for p in batch]
            for path, image in zip(batch, arrays, strict=True):
                state.seen(path.name, image)
            on_tile = None
            if progress:
                progress(done, len(order), batch[0].name, 0, 1)
                on_tile = functools.partial(progress, done, len(order), batch[0].name)
            for path, image, prob in zip(batch, arrays, state.predictor.predict_batch(arrays, on_tile), strict=True):
                check_finite(prob, state.predictor, path)
                results[path] = _write_one(str(path), image, prob, files[path], state.threshold)
                done += 1
                if progress:
                    progress(done, len(order), path.name, 1, 1)
    state.seen(None, None, final=True)
    return state.report([results[p] for p in order], [{"image": str(p), "error": why} for p, why in unreadable])


def _predict_video(state: _Run, video: VideoFrames, work: Path, batch_size: int,
                   progress: Progress | None) -> dict[str, Any]:
    """Every frame of a video, streamed in batches: per-frame maps and targets, and the frames per second."""
    entries: list[dict[str, Any]] = []
    total = len(video)
    t0 = time.perf_counter()
    batch: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        arrays = [f for _, f in batch]
        name = f"{video.path.name} frame {batch[0][0]}"
        on_tile = functools.partial(progress, len(entries), max(total, len(entries) + 1), name) if progress else None
        for (k, image), prob in zip(batch, state.predictor.predict_batch(arrays, on_tile), strict=True):
            where = f"{video.path} frame {k}"
            check_finite(prob, state.predictor, where)
            stem = frame_stem(video.path, k)
            files = {"prob": work / "probs" / f"{stem}.png", "mask": work / "masks" / f"{stem}.png"}
            if state.overlay:
                files["overlay"] = work / "overlays" / f"{stem}.png"
            entry = _write_one(str(video.path), image, prob, files, state.threshold)
            entries.append({"image": entry.pop("image"), "frame": k, **entry})
            if progress:
                progress(len(entries), max(total, len(entries)), f"{video.path.name} frame {k}", 1, 1)
        batch.clear()

    for k, frame in video:
        state.seen(f"{video.path.name} frame {k}", frame)
        if batch and frame.shape != batch[0][1].shape:
            flush()
        batch.append((k, frame))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    seconds = time.perf_counter() - t0
    state.seen(None, None, final=True)
    report = state.report(entries, [])
    report["video"] = {"path": str(video.path), "frames": len(entries), "container_fps": video.fps,
                       "seconds": seconds, "frames_per_second": len(entries) / seconds if seconds > 0 else None}
    return report


def check_finite(prob: np.ndarray, predictor: Any, image: object) -> None:
    """Refuse a probability map holding NaN/inf (diverged weights, a NaN normalisation): written as a PNG it
    would read as an all-zero map, and its ``max_score`` as NaN, which strict JSON forbids."""
    if not np.isfinite(prob).all():
        from ..errors import WeightsError

        n = int(prob.size - np.count_nonzero(np.isfinite(prob)))
        raise WeightsError(f"{getattr(predictor, 'source', '') or 'the network'}: produced {n} NaN/inf "
                           f"probabilities on {image} (diverged weights?); nothing was written")


def _write_one(path: str, image: np.ndarray, prob: np.ndarray, files: dict[str, Path],
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
    video = "video" in report  # one row per target of each frame: the frame number beside the file
    fields = (TARGET_FIELDS[0], "frame", *TARGET_FIELDS[1:]) if video else TARGET_FIELDS
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for entry in report["images"]:
        for t in entry["targets"]:
            where = {"image": entry["image"], **({"frame": entry["frame"]} if video else {})}
            writer.writerow({**where, **{k: _fmt(v) for k, v in t.items()}})
    with atomic_write(out / "targets.csv", "w", encoding="utf-8", newline="") as f:
        f.write(buf.getvalue())
    write_json(out / "targets.json", report, strict=True)


def _fmt(v: Any) -> Any:
    return round(v, 4) if isinstance(v, float) else v
