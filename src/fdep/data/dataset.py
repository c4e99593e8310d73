"""SIRST datasets: BasicIRSTD folders, known datasets by name, unions, user folders.

``load_dataset("ROOT/NUAA-SIRST", "train")`` reads the split list, validates
the files it needs (raising DataError with the first problems) and returns a
torch Dataset whose items are dicts (image, mask, id, box, hflip, vflip,
transpose). ``"ROOT/A+ROOT/B"`` is the union of two datasets; a known union
name (``ROOT/SIRST3``) that is not itself a folder expands to its components.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError
from ..fileio import write_json
from ..imageio import read_image, read_mask
from .layout import (
    SPLITS,
    Layout,
    dataset_cache_dir,
    dataset_name,
    expand_spec,
    read_split_file,
    scan,
    split_train_val,
    write_split_file,
)
from .registry import find_known, packaged_split
from .stats import cached_stats, pixel_count, pool_stats
from .validate import check_files, check_split_lists, pairing_problem, raise_on_errors

log = logging.getLogger("fdep.data")

#: fraction of a user folder's images put in the test split when it has no split lists
USER_TEST_FRACTION = 0.2
USER_SPLIT_SEED = 0


@dataclass(frozen=True)
class Sample:
    id: str
    image: Path
    mask: Path


def resolve_splits(layout: Layout) -> dict[str, list[str]]:
    """Split lists of a dataset folder: its own files, else fdep's packaged lists for a known dataset,
    else a seeded random split kept in fdep's cache (:func:`dataset_cache_dir`), never in the user's folder."""
    own = {s: layout.split_file(s) for s in SPLITS}
    if all(own.values()):
        return {s: read_split_file(p) for s, p in own.items()}
    known = find_known(layout.name)
    if known is not None and not known.components and not any(own.values()):
        return {s: packaged_split(known.name, s) for s in SPLITS}
    usable = sorted(set(layout.images) & set(layout.masks))
    if any(own.values()):  # one list given: the other is every remaining id
        given = next(s for s in SPLITS if own[s])
        taken = set(read_split_file(own[given]))
        other = "test" if given == "train" else "train"
        return {given: read_split_file(own[given]), other: [i for i in usable if i not in taken]}
    folder = dataset_cache_dir(layout.root, "splits")
    cached = {s: folder / f"{s}_{layout.name}.txt" for s in SPLITS}
    if all(p.is_file() for p in cached.values()):  # drawn earlier: the same split for every later run and test
        return {s: read_split_file(p) for s, p in cached.items()}
    train, test = split_train_val(usable, USER_TEST_FRACTION, USER_SPLIT_SEED)
    splits = {"train": train, "test": test}
    for s in SPLITS:
        write_split_file(cached[s], splits[s])
    write_json(folder / "dataset.json", {"dataset": str(layout.root.resolve())})
    log.warning("%s has no split lists (img_idx/): drew a seeded split, %d train / %d test, and kept it in %s "
                "(nothing is written into the dataset folder; see docs/data.md)", layout.root, len(train), len(test),
                folder)
    return splits


class SIRSTDataset(Dataset):
    """A list of (id, image file, mask file) with normalisation and an optional train transform.

    A transform normally receives the normalised image; one with ``raw_input = True`` (the
    authors' augmentation) receives the 0-255 image and its result is normalised afterwards.
    Images are 1 x H x W, or C x H x W when the transform returns channels.
    """

    def __init__(self, samples: list[Sample], name: str, mean: float, std: float, transform=None, split: str = "",
                 input_range=None):
        self.samples = list(samples)
        self.input_range = input_range  # a declared range (fdep.inputrange.InputRange) or None: the default reading
        self.ids = [s.id for s in self.samples]
        self.name = name
        self.split = split
        self.mean = float(mean)
        self.std = float(std)
        self.transform = transform
        # shared memory: set_epoch reaches DataLoader workers, persistent ones included
        self._epoch = torch.zeros(1, dtype=torch.int64).share_memory_()

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        return (
            f"SIRSTDataset({self.name!r}, split={self.split!r}, n={len(self)}, "
            f"mean={self.mean:.2f}, std={self.std:.2f})"
        )

    def set_epoch(self, epoch: int) -> None:
        """Select the random draws of the training transform for this epoch."""
        self._epoch[0] = int(epoch)

    @property
    def epoch(self) -> int:
        return int(self._epoch[0])

    def load(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw (image float32 0-255, mask bool) of sample ``i``."""
        s = self.samples[i]
        img, mask = read_image(s.image, self.input_range), read_mask(s.mask)
        if img.shape != mask.shape:
            raise DataError(f"{s.mask}: mask size {mask.shape} differs from image {s.image.name} size {img.shape}")
        return img, mask

    def __getitem__(self, i: int) -> dict:
        img, mask = self.load(i)
        mean, std = np.float32(self.mean), np.float32(self.std)
        if self.transform is None:
            norm = (img - mean) / std
            H, W = img.shape
            box, hf, vf, tr = (0, 0, H, W), False, False, False
        else:
            rng = np.random.default_rng([getattr(self.transform, "seed", 0), self.epoch, int(i)])
            if getattr(self.transform, "raw_input", False):  # works on 0-255 pixels, normalised afterwards
                a = self.transform(img, mask, rng)
                norm = (a.image - mean) / std
            else:
                a = self.transform((img - mean) / std, mask, rng, pixel_std=self.std)
                norm = a.image
            mask, box, hf, vf, tr = a.mask, a.box, a.hflip, a.vflip, a.transpose
        image = torch.from_numpy(np.ascontiguousarray(norm, dtype=np.float32))
        return {
            "image": image[None] if image.ndim == 2 else image,
            "mask": torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None],
            "id": self.ids[i],
            "box": torch.tensor(box, dtype=torch.long),
            "hflip": bool(hf),
            "vflip": bool(vf),
            "transpose": bool(tr),
        }


def _missing_hint(path: Path) -> str:
    known = find_known(dataset_name(path))
    if known is not None:
        return (
            f"{path}: dataset folder not found; get it with `fdep data download {known.name} --root {path.parent}` "
            f"or `fdep data prepare {known.name} --from ARCHIVE --root {path.parent}`"
        )
    return f"{path}: dataset folder not found (expected images/, masks/ and optionally img_idx/)"


def _part_stats(layout: Layout, splits: dict[str, list[str]]) -> tuple[float, float, int]:
    train = [i for i in splits.get("train", []) if i in layout.images]
    known = find_known(layout.name)
    if known is not None and known.mean is not None:
        return known.mean, known.std, pixel_count([layout.images[i] for i in train])
    return cached_stats(layout.root, {i: layout.images[i] for i in train})


def load_dataset(spec: str | os.PathLike, split: str = "train", ids=None, transform=None,
                 stats: bool = True, input_range=None) -> SIRSTDataset:
    """Load, validate and return a dataset (see module doc). ``split``: train, test or all.

    ``stats=False``: no normalisation statistics (mean 0, std 1: items hold the raw 0-255 images). What tests
    a trained network normalises with the statistics recorded with its weights, never with the data under
    test, so a test-only dataset (only ``img_idx/test_<name>.txt``, no training images) can be tested.
    ``input_range``: a declared input range (``fdep.inputrange``) the images are read with.
    """
    if split not in (*SPLITS, "all"):
        raise DataError(f"unknown split {split!r}; use train, test or all")
    folders = expand_spec(str(spec))
    samples: list[Sample] = []
    parts = []
    names = []
    owner: dict[str, Path] = {}
    by_id: dict[str, Sample] = {}
    for folder in folders:
        if not folder.is_dir():
            raise DataError(_missing_hint(folder))
        layout = scan(folder)
        unpaired = pairing_problem(layout)
        if unpaired is not None:
            raise DataError(unpaired.message)
        splits = resolve_splits(layout)
        _, problems = check_split_lists(layout) if layout.has_splits() else ({}, [])
        if split == "all":
            chosen = list(dict.fromkeys(splits["train"] + splits["test"]))
        else:
            chosen = splits[split]
        if ids is not None:
            chosen = [i for i in (str(j) for j in ids) if i in layout.images or i in layout.masks]
        else:
            missing = [i for i in chosen if i not in layout.images or i not in layout.masks]
            for i in missing[:5]:
                problems.append(_missing_problem(layout, i))
        problems += check_files(layout, chosen, orphans=False)
        raise_on_errors(problems, folder)
        _warn_non_binary(problems, folder)
        for i in chosen:
            if i in owner:
                raise DataError(f"id {i!r} is in both {owner[i]} and {folder}; a union needs distinct ids")
            owner[i] = folder
            s = Sample(i, layout.images[i], layout.masks[i])
            samples.append(s)
            by_id[i] = s
        if stats:
            parts.append(_part_stats(layout, splits))
        names.append(layout.name)
    if ids is not None:
        wanted = [str(j) for j in ids]
        unknown = [i for i in wanted if i not in by_id]
        if unknown:
            raise DataError(f"{spec}: {len(unknown)} requested id(s) not in the dataset: {', '.join(unknown[:5])}")
        samples = [by_id[i] for i in wanted]
    if not stats:
        mean, std = 0.0, 1.0
    else:
        mean, std = (parts[0][0], parts[0][1]) if len(parts) == 1 else pool_stats(parts)
    return SIRSTDataset(samples, "+".join(names), mean, std, transform=transform, split=split,
                        input_range=input_range)


def _missing_problem(layout: Layout, i: str):
    from .validate import Problem

    what = " and ".join(w for w, d in (("image", layout.images), ("mask", layout.masks)) if i not in d)
    return Problem("error", "missing_files", f"{layout.root}: id {i!r} of the split list has no {what} file")


def _warn_non_binary(problems, folder: Path) -> None:
    n = sum(p.kind == "non_binary_mask" for p in problems)
    if n:
        warnings.warn(f"{folder}: {n} mask(s) hold values other than 0/255; binarised at > 127", stacklevel=3)


def split_image_files(spec: str | os.PathLike, split: str = "train") -> list[Path]:
    """The image files of a split (every part of a union), from the folder listing and split lists alone:
    no validation, no decoding (what the training input range is sampled from)."""
    files: list[Path] = []
    for folder in expand_spec(str(spec)):
        if not folder.is_dir():
            raise DataError(_missing_hint(folder))
        layout = scan(folder)
        splits = resolve_splits(layout)
        chosen = list(dict.fromkeys(splits["train"] + splits["test"])) if split == "all" else splits[split]
        files += [layout.images[i] for i in chosen if i in layout.images]
    return files
