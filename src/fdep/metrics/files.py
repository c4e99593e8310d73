"""Evaluating prediction files against mask files (what ``fdep evaluate`` runs).

GT: mask images (``*.png|bmp|tif|jpg``, binarised at > 127, or > 0 in 0/1 masks; ``<id>_pixels0.png``
as SIRST-v1 names them) in a folder, or id -> mask file (a dataset's split, found by ``fdep.data``).
Predictions: ``<stem>.png`` (8-bit v/255, 16-bit v/65535) or ``<stem>.npy`` (float
in [0, 1]) with the GT file's stem. Reading goes through :mod:`fdep.imageio`, so
every unreadable file gives one line naming it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..imageio import MASK_SUFFIXES, PROB_SUFFIXES, binary_level, mask_id, prob_png_values, read_mask, read_prob_map
from .functional import evaluate_loader


@dataclass
class Pairing:
    """Matched (id, prediction file, GT file) triples and the predictions nobody asked for."""

    items: list[tuple[str, Path, Path]]
    extra_preds: list[Path] = field(default_factory=list)
    #: None, or what was found when the predictions are binary maps stored at the wrong scale (read as binary)
    binary: str | None = None


def _files(folder: Path, suffixes: tuple[str, ...], what: str) -> dict[str, Path]:
    """id -> file; GT masks named ``<id>_pixels0.png`` (SIRST-v1) are read as id ``<id>``."""
    if not folder.is_dir():
        raise InputError(f"{folder}: {what} folder not found")
    out: dict[str, Path] = {}
    for f in sorted(folder.iterdir()):
        if f.is_file() and f.suffix.lower() in suffixes and not f.name.startswith("."):
            key = mask_id(f.stem) if suffixes == MASK_SUFFIXES else f.stem
            if key in out:
                raise InputError(f"{f}: two {what} files share the id {key!r} ({out[key].name}, {f.name})")
            out[key] = f
    if not out:
        raise InputError(f"{folder}: empty {what} folder (no {'/'.join('*' + s for s in suffixes)} files)")
    return out


def pair_files(pred_dir: str | os.PathLike, gt: str | os.PathLike | dict[str, Path]) -> Pairing:
    """Match every GT mask with its prediction by id; a GT without prediction is an error.

    ``gt``: a folder of masks, or id -> mask file (a dataset's split: ``fdep.data.layout.split_mask_files``).
    """
    pred_dir = Path(pred_dir)
    if isinstance(gt, dict):
        masks = dict(gt)
    else:
        gt = Path(gt)
        if (gt / "img_idx").is_dir() and any((gt / d).is_dir() for d in ("masks", "labels")):
            raise InputError(f"{gt}: looks like a dataset folder; pass --split (e.g. --split test)")
        masks = _files(gt, MASK_SUFFIXES, "ground-truth")
    preds = _files(pred_dir, PROB_SUFFIXES, "prediction")
    missing = [k for k in masks if k not in preds]
    if missing:
        more = f" ({len(missing) - 1} more GT files lack predictions)" if len(missing) > 1 else ""
        raise InputError(f"{masks[missing[0]]}: no prediction {pred_dir / missing[0]}.png or .npy{more}")
    return Pairing(items=[(k, preds[k], m) for k, m in masks.items()],
                   extra_preds=[p for k, p in preds.items() if k not in masks],
                   binary=binary_predictions([preds[k] for k in masks]))


def binary_predictions(paths: list[Path]) -> str | None:
    """What was found when every prediction PNG holds only 0 and one level that reads as almost 0 (0/1 in
    8 bits, 0/1 or 0/255 in 16 bits), i.e. the folder holds binary maps at the wrong scale; else None.

    Scored as probabilities they would give IoU, Pd and HSE 0 without a word; fdep reads them as binary
    maps (nonzero = target). The folder decides, not one file: a probability map of a confident network
    can round to 0/1 on a blank scene, but not on every image while the others hold graded scores.
    """
    found: set[tuple[int, int]] = set()
    for p in paths:
        if p.suffix.lower() != ".png":
            return None
        bits, values = prob_png_values(p)
        if values.size == 1 and values[0] == 0:
            continue  # an empty map reads the same either way
        level = binary_level(bits, values)
        if level is None:
            return None
        found.add((bits, level))
    if not found:
        return None
    return " and ".join(f"0/{level} in {bits}-bit PNGs" for bits, level in sorted(found))


def load_pair(pred: Path, gt: Path, binary: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Read one prediction and its mask, checking sizes and value range (one-line errors)."""
    p = read_prob_map(pred, binary=binary)
    g = read_mask(gt)
    if p.shape != g.shape:
        raise InputError(f"{pred}: prediction size {p.shape[0]}x{p.shape[1]} differs from GT {gt} "
                         f"size {g.shape[0]}x{g.shape[1]}")
    return p, g


def evaluate_files(pairing: Pairing, thresholds=99, tolerance: float = 3.0, bins: int | None = None,
                   curves: bool = False, workers: int | None = None, undefined: str = "raise") -> dict:
    """``evaluate`` over files, at most 2 * workers images in memory (exact mode reads each file twice)."""
    items = pairing.items
    binary = pairing.binary is not None
    return evaluate_loader(len(items), lambda i: load_pair(items[i][1], items[i][2], binary), thresholds, tolerance,
                           curves=curves, bins=bins, workers=workers, undefined=undefined)
