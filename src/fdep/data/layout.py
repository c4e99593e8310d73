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
from ..imageio import IMAGE_SUFFIXES, MASK_SUFFIXES
from .registry import find_known

SPLITS = ("train", "test")


@dataclass(frozen=True)
class Layout:
    """The files of one dataset folder, indexed once (a directory listing, no decoding)."""

    root: Path
    name: str
    images: dict[str, Path]  # id -> image file
    masks: dict[str, Path]  # id -> mask file
    duplicates: dict[str, list[Path]]  # id -> several image (or mask) files with that stem

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


def _index(folder: Path, suffixes: tuple[str, ...]) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    found: dict[str, Path] = {}
    dups: dict[str, list[Path]] = {}
    if not folder.is_dir():
        return found, dups
    with os.scandir(folder) as it:
        for e in sorted(it, key=lambda e: e.name):
            p = Path(e.path)
            if not e.is_file() or p.name.startswith(".") or p.suffix.lower() not in suffixes:
                continue
            if p.stem in found:
                dups.setdefault(p.stem, [found[p.stem]]).append(p)
            else:
                found[p.stem] = p
    return found, dups


def scan(root: str | os.PathLike) -> Layout:
    """Index a dataset folder; raise DataError when it is not a dataset folder at all."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found")
    if not (root / "images").is_dir():
        raise DataError(f"{root}: not a dataset folder (no images/ subfolder; expected images/, masks/, img_idx/)")
    if not (root / "masks").is_dir():
        raise DataError(f"{root}: no masks/ subfolder beside images/")
    images, d1 = _index(root / "images", IMAGE_SUFFIXES)
    masks, d2 = _index(root / "masks", MASK_SUFFIXES)
    dups = {**d1, **{k: v for k, v in d2.items() if k not in d1}}
    return Layout(root=root, name=root.name, images=images, masks=masks, duplicates=dups)


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
        known = find_known(path.name)
        if not (path / "images").is_dir() and known is not None and known.components:
            out += [path.parent / c for c in known.components]
        else:
            out.append(path)
    return out
