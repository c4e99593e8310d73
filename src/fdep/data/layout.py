"""The BasicIRSTD folder layout: where a dataset's images, masks and split lists live.

    <root>/<name>/images/<id>.(png|bmp|jpg|...)
    <root>/<name>/masks/<id>.png
    <root>/<name>/img_idx/train_<name>.txt, test_<name>.txt   (one id per line)

Split lists may also be called ``<split>.txt`` (or ``trainval.txt`` for train)
inside ``img_idx/``, as several releases do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, InputError
from ..imageio import IMAGE_SUFFIXES, MASK_STEM_SUFFIXES, MASK_SUFFIXES, mask_id
from .registry import find_known

SPLITS = ("train", "test")
#: folder names (any case) that hold the masks, in order of preference: BasicIRSTD's masks/, others' labels/
MASK_DIRS = ("masks", "mask", "labels", "label")


@dataclass(frozen=True)
class Layout:
    """The files of one dataset folder, indexed once (a directory listing, no decoding)."""

    root: Path
    name: str
    images: dict[str, Path]  # id -> image file
    masks: dict[str, Path]  # id -> mask file
    duplicates: dict[str, list[Path]]  # id -> several image (or mask) files with that stem
    mask_dir: Path | None = None  # masks/ (or labels/); None: root/masks

    @property
    def masks_dir(self) -> Path:
        return self.mask_dir or self.root / "masks"

    @property
    def split_dir(self) -> Path:
        return self.root / "img_idx"

    def split_file(self, split: str) -> Path | None:
        """The existing split list for ``split``, or None."""
        names = [f"{split}_{self.name}.txt", f"{split}.txt"]
        if split == "train":
            names.append("trainval.txt")
        for n in names:
            p = self.split_dir / n
            if p.is_file():
                return p
        return None

    def has_splits(self) -> bool:
        return all(self.split_file(s) is not None for s in SPLITS)


def _index(folder: Path, suffixes: tuple[str, ...], masks: bool = False
           ) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    """id -> file of ``folder``; with ``masks``, ``<id>_pixels0.png`` (SIRST-v1) also names id ``<id>``."""
    found: dict[str, Path] = {}
    dups: dict[str, list[Path]] = {}
    if not folder.is_dir():
        return found, dups
    with os.scandir(folder) as it:
        for e in sorted(it, key=lambda e: e.name):
            p = Path(e.path)
            if not e.is_file() or p.name.startswith(".") or p.suffix.lower() not in suffixes:
                continue
            key = mask_id(p.stem) if masks else p.stem
            if key in found:
                dups.setdefault(key, [found[key]]).append(p)
            else:
                found[key] = p
    return found, dups


def find_mask_dir(root: Path) -> Path | None:
    """The masks folder of a dataset: ``masks/``, else ``labels/`` (see MASK_DIRS; any case), else None."""
    try:
        subdirs = {p.name.lower(): p for p in sorted(root.iterdir(), reverse=True) if p.is_dir()}
    except OSError:
        return None
    return next((subdirs[n] for n in MASK_DIRS if n in subdirs), None)


def index_masks(folder: Path) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    """The mask files of ``folder`` by image id (every suffix of MASK_SUFFIXES; ``_pixels0`` stems too)."""
    return _index(folder, MASK_SUFFIXES, masks=True)


def expected_masks_text() -> str:
    """What fdep reads as masks, for one-line errors."""
    return (f"expected {'/ or '.join(MASK_DIRS[::2])}/ holding <id>{'|'.join(MASK_SUFFIXES)} "
            f"(or <id>{MASK_STEM_SUFFIXES[0]}.png as SIRST-v1 names them)")


def dataset_name(root: str | os.PathLike) -> str:
    """The name of the dataset folder ``root`` as its split lists and fdep's known datasets spell it.

    Taken from the absolute path, so ``.``, ``./``, ``..`` and a trailing slash name the folder they point
    at (``Path(".").name`` is empty). A symlinked folder has two names, the link's and its target's: the
    first one whose ``img_idx/<split>_<name>.txt`` exists wins, else the first that is a known dataset, else
    the link's own name.
    """
    given = Path(os.path.abspath(os.path.expanduser(os.fspath(root))))
    candidates = [n for n in dict.fromkeys((given.name, Path(os.path.realpath(given)).name)) if n]
    if not candidates:  # the file system root
        return given.anchor or "dataset"
    for n in candidates:
        if any((given / "img_idx" / f"{s}_{n}.txt").is_file() for s in SPLITS):
            return n
    from .registry import find_known

    return next((n for n in candidates if find_known(n) is not None), candidates[0])


def scan(root: str | os.PathLike) -> Layout:
    """Index a dataset folder; raise DataError when it is not a dataset folder at all."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found")
    if not (root / "images").is_dir():
        raise DataError(f"{root}: not a dataset folder (no images/ subfolder; expected images/, masks/, img_idx/)")
    mask_dir = find_mask_dir(root)
    if mask_dir is None:
        found = sorted(p.name + "/" for p in root.iterdir() if p.is_dir())
        raise DataError(f"{root}: no masks folder beside images/ (found {', '.join(found)}; {expected_masks_text()})")
    images, d1 = _index(root / "images", IMAGE_SUFFIXES)
    masks, d2 = index_masks(mask_dir)
    dups = {**d1, **{k: v for k, v in d2.items() if k not in d1}}
    return Layout(root=root, name=dataset_name(root), images=images, masks=masks, duplicates=dups, mask_dir=mask_dir)


def dataset_cache_dir(root: str | os.PathLike, kind: str) -> Path:
    """``$FDEP_CACHE/<kind>/<hash of the folder's absolute path>`` (default ``~/.cache/fdep``): where fdep keeps
    what it derives from a user's dataset folder (split lists, statistics) instead of writing into that folder.
    Keyed by the path, so every later run and ``fdep test`` of the same folder finds the same files."""
    import hashlib

    base = Path(os.environ.get("FDEP_CACHE") or Path.home() / ".cache" / "fdep")
    return base / kind / hashlib.sha1(str(Path(root).resolve()).encode()).hexdigest()[:16]


def read_split_file(path: str | os.PathLike) -> list[str]:
    """Ids of a split list: one per line; blank lines ignored; a trailing file suffix is dropped."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as e:
        raise DataError(f"{path}: cannot read split list ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: split list is not UTF-8 text") from None
    ids = []
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        stem, ext = os.path.splitext(s)
        ids.append(stem if ext.lower() in IMAGE_SUFFIXES else s)
    return ids


def write_split_file(path: str | os.PathLike, ids: list[str]) -> None:
    """Write a split list atomically (one id per line)."""
    from ..fileio import atomic_write

    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write("".join(f"{i}\n" for i in ids))


def split_train_val(ids: list[str], val_fraction: float = 0.1, seed: int = 0) -> tuple[list[str], list[str]]:
    """Deterministic train/val split of ``ids`` (order kept); at least one id each side when possible."""
    ids = list(ids)
    if not 0.0 <= val_fraction < 1.0:
        raise InputError(f"val_fraction must lie in [0, 1), got {val_fraction}")
    n = len(ids)
    n_val = int(round(val_fraction * n))
    if val_fraction > 0 and n >= 2:
        n_val = min(max(n_val, 1), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    val_pos = set(order[:n_val].tolist())
    return [i for k, i in enumerate(ids) if k not in val_pos], [i for k, i in enumerate(ids) if k in val_pos]


def expand_spec(spec: str) -> list[Path]:
    """Dataset folders named by a spec: parts joined by '+', known unions expanded."""
    parts = [p.strip() for p in str(spec).split("+") if p.strip()]
    if not parts:
        raise DataError(f"empty dataset spec {spec!r}")
    out: list[Path] = []
    for p in parts:
        path = Path(p).expanduser()
        known = find_known(dataset_name(path))
        if not (path / "images").is_dir() and known is not None and known.components:
            out += [Path(os.path.abspath(path)).parent / c for c in known.components]
        else:
            out.append(path)
    return out


def split_mask_files(root: str | os.PathLike, split: str) -> dict[str, Path]:
    """id -> mask file of the ids in a dataset folder's split list (``fdep evaluate --gt DATASET --split``)."""
    root = Path(root)
    mask_dir = find_mask_dir(root)
    layout = Layout(root=root, name=dataset_name(root), images={}, masks={}, duplicates={}, mask_dir=mask_dir)
    idx = layout.split_file(split)
    if idx is None:
        raise DataError(f"{root / 'img_idx' / f'{split}_{layout.name}.txt'}: split list not found (is {root} a "
                        f"BasicIRSTD-layout dataset folder?)")
    ids = read_split_file(idx)
    if not ids:
        raise DataError(f"{idx}: the split list is empty")
    if mask_dir is None:
        raise DataError(f"{root}: no masks folder ({expected_masks_text()})")
    masks, dups = index_masks(mask_dir)
    for i in ids:
        if i in dups:
            raise DataError(f"several mask files for id {i!r}: {', '.join(str(p) for p in dups[i])}")
    missing = [i for i in ids if i not in masks]
    if missing:
        more = f" ({len(missing) - 1} more ids of the list lack masks)" if len(missing) > 1 else ""
        raise DataError(f"{mask_dir / (missing[0] + '.png')}: mask of id {missing[0]!r} (listed in {idx.name}) not "
                        f"found{more}; {expected_masks_text()}")
    return {i: masks[i] for i in ids}
