"""Dataset validation: find every problem at once, naming files and ids.

Errors make a dataset unusable (missing or unreadable files, size mismatches,
ids listed in a split without files, an id in two splits). Warnings describe
data fdep can still use as documented: masks with values other than 0/255
(binarised at > 127) and masks with no target pixel.

Every image and mask is decoded in full: a PNG truncated behind an intact header
has the right size and would otherwise fail only when training reaches it
(benchmarks/bench_data_check.py measures the cost; docs/data.md has the figure).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import DataError, InputError
from ..imageio import binarize_mask, image_size, read_mask_values
from .layout import SPLITS, Layout, expected_masks_text, read_split_file


@dataclass(frozen=True)
class Problem:
    """One finding: ``severity`` is "error" or "warning"; ``kind`` a short tag."""

    severity: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


def _err(kind: str, msg: str) -> Problem:
    return Problem("error", kind, msg)


def _warn(kind: str, msg: str) -> Problem:
    return Problem("warning", kind, msg)


def check_split_lists(layout: Layout) -> tuple[dict[str, list[str]], list[Problem]]:
    """Read the split lists; report ids without files, duplicates within and across splits."""
    problems: list[Problem] = []
    splits: dict[str, list[str]] = {}
    for split in SPLITS:
        f = layout.split_file(split)
        if f is None:
            continue
        ids = read_split_file(f)
        splits[split] = ids
        for i, n in Counter(ids).items():
            if n > 1:
                problems.append(_err("duplicate_id", f"{f}: id {i!r} listed {n} times"))
        for i in dict.fromkeys(ids):
            missing = [w for w, d in (("image", layout.images), ("mask", layout.masks)) if i not in d]
            if missing:
                problems.append(_err("missing_files", f"{f}: id {i!r} has no {' and no '.join(missing)} file"))
    if len(splits) == 2:
        both = sorted(set(splits["train"]) & set(splits["test"]))
        for i in both:
            problems.append(_err("duplicate_across_splits", f"{layout.split_dir}: id {i!r} is in both train and test"))
    return splits, problems


def pairing_problem(layout: Layout) -> Problem | None:
    """One error when the masks folder cannot be paired with images/ at all (a layout fdep does not read),
    instead of one "no mask" error per image: says what was found and what is expected."""
    if not layout.images or set(layout.images) & set(layout.masks):
        return None
    folder = layout.masks_dir
    try:
        files = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    except OSError:
        files = []
    if not layout.masks:
        what = f"holds {len(files)} file(s) but no mask file (e.g. {files[0]})" if files else "is empty"
    else:
        what = (f"holds {len(layout.masks)} mask file(s) but none is named after an image (e.g. "
                f"{next(iter(layout.masks.values())).name} vs images/{next(iter(layout.images.values())).name})")
    return _err("no_mask_pairs", f"{folder}: {what}; {expected_masks_text()}")


def check_files(layout: Layout, ids: Iterable[str], orphans: bool = True) -> list[Problem]:
    """Check the image/mask pairs of ``ids`` (and, with ``orphans``, files without a partner)."""
    problems: list[Problem] = []
    for i, paths in sorted(layout.duplicates.items()):
        problems.append(_err("duplicate_files", f"several files for id {i!r}: {', '.join(str(p) for p in paths)}"))
    if orphans:
        for i in sorted(set(layout.images) - set(layout.masks)):
            problems.append(_err("missing_mask", f"{layout.images[i]}: no mask {layout.masks_dir.name}/{i}.png"))
        for i in sorted(set(layout.masks) - set(layout.images)):
            problems.append(_err("missing_image", f"{layout.masks[i]}: no image images/{i}.*"))
    for i in ids:
        img_p, mask_p = layout.images.get(i), layout.masks.get(i)
        if img_p is None or mask_p is None:
            continue  # reported by the split or orphan checks
        try:
            isize = image_size(img_p, decode=True)
        except InputError as e:
            problems.append(_err("unreadable", str(e)))
            isize = None
        try:
            values = read_mask_values(mask_p)
        except InputError as e:
            problems.append(_err("unreadable", str(e)))
            continue
        if isize is not None and values.shape != isize:
            problems.append(
                _err(
                    "size_mismatch",
                    f"{mask_p}: mask is {values.shape[1]}x{values.shape[0]} (WxH) but image {img_p.name} is "
                    f"{isize[1]}x{isize[0]}",
                )
            )
        uniq = np.unique(values)
        top = 1 if uniq.size and uniq[-1] <= 1 else 255  # 0/1 masks are binary too
        odd = uniq[(uniq != 0) & (uniq != top)]
        if odd.size:
            shown = ", ".join(f"{v:g}" for v in uniq[:8]) + (", ..." if uniq.size > 8 else "")
            rule = "> 0" if top == 1 else "> 127"
            problems.append(
                _warn("non_binary_mask", f"{mask_p}: mask values {{{shown}}} are not 0/{top} (binarised at {rule})")
            )
        if not np.any(binarize_mask(values)):
            problems.append(_warn("empty_mask", f"{mask_p}: mask has no target pixel (> 127, or > 0 in 0/1 masks)"))
    return problems


def check_dataset(root, layout: Layout | None = None) -> list[Problem]:
    """Every problem of a dataset folder: split lists, all files, all masks."""
    from .layout import scan

    layout = layout or scan(root)
    problems: list[Problem] = []
    if not layout.images:
        problems.append(_err("empty_dataset", f"{layout.root / 'images'}: no image files"))
    unpaired = pairing_problem(layout)
    if unpaired is not None:
        return problems + [unpaired]
    for split in SPLITS:
        if layout.split_file(split) is None:
            problems.append(_warn("no_split_list", f"{layout.split_dir}: no {split}_{layout.name}.txt split list"))
    _, p = check_split_lists(layout)
    problems += p
    problems += check_files(layout, sorted(set(layout.images) & set(layout.masks)))
    return problems


def raise_on_errors(problems: list[Problem], where: object, limit: int = 5) -> None:
    """Raise DataError listing the first ``limit`` errors (warnings are ignored)."""
    errors = [p for p in problems if p.severity == "error"]
    if not errors:
        return
    shown = "; ".join(p.message for p in errors[:limit])
    more = f" (and {len(errors) - limit} more; run `fdep data check {where}`)" if len(errors) > limit else ""
    raise DataError(f"{where}: {len(errors)} problem(s): {shown}{more}")
