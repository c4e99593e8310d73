"""Turn a public dataset release (archive or folder) into the BasicIRSTD layout, safely.

Steps: hash the archive (SHA-256, checked against ``sha256`` when given),
unpack it into a temporary folder, find the release's image and mask folders,
check that every id of fdep's packaged literature split lists is present,
copy images unchanged and write masks as 8-bit 0/255 PNGs (binarised at > 127, or > 0 for 0/1 masks;
known quirks fixed, e.g. NUAA-SIRST Misc_111's mask published at another size),
validate the result, record the SHA-256 and what was done in
``fdep_source.json`` and ``source.sha256``, and rename the finished folder into
place. On any failure every temporary folder is removed and nothing is left at
the destination; temporaries of a run that was killed (named after its host and
process) are removed by the next run. Archives are checked member by member before
anything is unpacked: unsafe paths/links are refused, and so is a total unpacked size
over ``max_unpacked_gb`` (default 10 GB). Re-running on a prepared dataset is a no-op.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from .. import __version__
from ..errors import DataError, InputError, OutputExistsError
from ..fileio import atomic_write, check_output_folder, owner_tag, remove_orphaned, write_json
from ..imageio import IMAGE_SUFFIXES, MASK_SUFFIXES, binarize_mask, check_written, image_size, read_mask_values
from ..progress import Counter, track
from .layout import SPLITS, write_split_file
from .registry import KnownDataset, get_known, normalise_name, packaged_split
from .validate import check_dataset

SOURCE_FILE = "fdep_source.json"
Log = Callable[[str], None]


def sha256_file(path: Path, progress: bool = False) -> str:
    h = hashlib.sha256()
    size = path.stat().st_size
    with open(path, "rb") as f, Counter("fdep data: sha256", total=size, unit="B", enabled=progress) as bar:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
            bar.update(len(block))
    return h.hexdigest()


def check_sha256(actual: str, expected: str | None, what: object) -> None:
    if expected is not None and actual.lower() != expected.strip().lower():
        raise DataError(f"{what}: SHA-256 mismatch: expected {expected.strip().lower()}, got {actual}")


def prepared_record(dest: Path) -> dict | None:
    """The fdep_source.json of a dataset fdep prepared, or None."""
    p = dest / SOURCE_FILE
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _already(dest: Path, sha: str | None) -> bool:
    """True when ``dest`` is a complete fdep-prepared dataset (matching ``sha`` when given)."""
    if not dest.exists():
        return False
    rec = prepared_record(dest)
    if rec is None:
        raise OutputExistsError(f"{dest} already exists and was not prepared by fdep; choose another --root")
    if sha is not None and rec.get("sha256", "").lower() != sha.lower():
        raise OutputExistsError(
            f"{dest} was prepared from another file (SHA-256 {rec.get('sha256')}); choose another --root"
        )
    return True


#: default cap on what an archive may unpack to (bytes of its files, as the archive declares them)
MAX_UNPACKED_GB = 10.0


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def _check_size(archive: Path, total: int, out: Path, max_bytes: float) -> None:
    """Refuse archives unpacking to more than the cap (zip/tar bombs), or than the free disk space."""
    if total > max_bytes:
        raise DataError(f"{archive}: unpacks to {_gb(total)}, over the {_gb(max_bytes)} cap on extraction "
                        f"(--max-unpacked-gb; the known datasets need well under 1 GB)")
    free = shutil.disk_usage(out).free
    if total > free:
        raise DataError(f"{archive}: unpacks to {_gb(total)} but only {_gb(free)} are free in {out}")


def _safe_extract(archive: Path, out: Path, progress: bool, max_bytes: float = MAX_UNPACKED_GB * 1e9) -> None:
    """Unpack a zip or tar archive into ``out``.

    Every member is checked before anything is written: paths leaving ``out``, links, devices
    (tar's "data" filter) and the total unpacked size (``max_bytes``).
    """
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                names = z.infolist()
                for info in names:
                    target = (out / info.filename).resolve()
                    if not target.is_relative_to(out.resolve()):
                        raise DataError(f"{archive}: unsafe member {info.filename!r}: its path leaves the folder "
                                        f"it is unpacked into")
                # zipfile never writes more than a member's declared size, so the declared sizes bound the output
                _check_size(archive, sum(i.file_size for i in names), out, max_bytes)
                for info in track(names, "fdep data: unpack", unit="files", enabled=progress):
                    z.extract(info, out)
            return
        if tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                members = t.getmembers()
                for m in members:
                    try:
                        tarfile.data_filter(m, str(out))
                    except tarfile.FilterError as e:
                        raise DataError(f"{archive}: unsafe member {m.name!r}: {e}") from None
                _check_size(archive, sum(m.size for m in members if m.isreg()), out, max_bytes)
                for m in track(members, "fdep data: unpack", unit="files", enabled=progress):
                    t.extract(m, out, filter="data")
            return
    except tarfile.FilterError as e:  # pragma: no cover - every member was checked above
        raise DataError(f"{archive}: unsafe member: {e}") from None
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error) as e:
        raise DataError(f"{archive}: archive is truncated or corrupt ({e.__class__.__name__}: {e})") from None
    except OSError as e:
        raise DataError(f"{archive}: cannot unpack ({e.strerror or e})") from None
    raise DataError(f"{archive}: not a zip or tar archive (or truncated); unpack it yourself and pass the folder")


def remove_orphans(root: Path, name: str, log: Log) -> int:
    """Delete temporaries (``.NAME.HOST.PID.*.tmp`` folders, ``.download`` files) of killed runs on this machine."""
    return remove_orphaned(root, (f".{name}.*.tmp", f".{name}.*.download"), log)


def _candidate_pairs(tree: Path, known: KnownDataset) -> list[tuple[Path, Path]]:
    pairs = []
    for dirpath, dirnames, _ in os.walk(tree):
        lower = {d.lower(): d for d in dirnames}
        for img_name in known.image_dirs:
            if img_name not in lower:
                continue
            for mask_name in known.mask_dirs:
                if mask_name in lower:
                    pairs.append((Path(dirpath) / lower[img_name], Path(dirpath) / lower[mask_name]))
                    break
            else:
                continue
            break
    return pairs


def locate(tree: Path, known: KnownDataset) -> tuple[Path, Path]:
    """The (images, masks) folders of a release, preferring ones under a folder named like the dataset."""
    pairs = _candidate_pairs(tree, known)
    if len(pairs) > 1:
        key = normalise_name(known.name)
        named = [p for p in pairs if any(normalise_name(part) == key for part in p[0].relative_to(tree).parts)]
        pairs = named or pairs
    if not pairs:
        want = " / ".join(f"{i}/ + {m}/" for i, m in zip(known.image_dirs, known.mask_dirs))
        raise DataError(f"{tree.name}: no image and mask folders found for {known.name} (looked for {want})")
    if len(pairs) > 1:
        raise DataError(f"{known.name}: several image folders found ({', '.join(str(p[0]) for p in pairs)})")
    return pairs[0]


def _index(folder: Path, suffixes, strip: tuple[str, ...] = ()) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith(".") or p.suffix.lower() not in suffixes:
            continue
        stem = p.stem
        for s in strip:
            if stem.endswith(s):
                stem = stem[: -len(s)]
                break
        out.setdefault(stem, p)
    return out


def _build(known: KnownDataset, img_dir: Path, mask_dir: Path, build: Path, progress: bool, log: Log) -> dict:
    images = _index(img_dir, IMAGE_SUFFIXES)
    masks = _index(mask_dir, MASK_SUFFIXES, known.mask_stem_suffixes)
    splits = {s: packaged_split(known.name, s) for s in SPLITS}
    wanted = splits["train"] + splits["test"]
    lacking = [i for i in wanted if i not in images or i not in masks]
    if lacking:
        raise DataError(
            f"{known.name}: the release lacks {len(lacking)} of the {len(wanted)} ids in the split lists "
            f"(e.g. {', '.join(lacking[:5])}); is this the right archive?"
        )
    extra = sorted(set(images) - set(wanted))
    if extra:
        log(f"note: {len(extra)} image(s) in the release are in no split list and are left out (e.g. {extra[0]})")
    (build / "images").mkdir(parents=True)
    (build / "masks").mkdir()
    fixes, non_binary = [], 0
    for i in track(wanted, f"fdep data: {known.name}", unit="images", enabled=progress):
        src = images[i]
        shutil.copyfile(src, build / "images" / f"{i}{src.suffix.lower()}")
        values = read_mask_values(masks[i])
        uniq = np.unique(values)
        top = 1 if uniq.size and uniq[-1] <= 1 else 255
        if np.any((uniq != 0) & (uniq != top)):
            non_binary += 1
        m = binarize_mask(values).astype(np.uint8) * 255
        h, w = image_size(src)
        if m.shape != (h, w) and i in known.mask_resize_ids:
            fixes.append(f"{i}: mask {m.shape[1]}x{m.shape[0]} resized (nearest) to the image size {w}x{h}")
            m = cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST)
        check_written(cv2.imwrite(str(build / "masks" / f"{i}.png"), m), build / "masks" / f"{i}.png")
    for s in SPLITS:
        write_split_file(build / "img_idx" / f"{s}_{known.name}.txt", splits[s])
    for f in fixes:
        log(f"fixed {f}")
    if non_binary:
        log(f"note: {non_binary} mask(s) held values other than 0/255 and were binarised at > 127")
    return {"fixes": fixes, "non_binary_masks": non_binary, "extra_images_left_out": len(extra)}


def prepare(
    name: str,
    source: str | os.PathLike,
    root: str | os.PathLike,
    sha256: str | None = None,
    progress: bool = True,
    log: Log = print,
    origin: str | None = None,
    _digest: str | None = None,
    max_unpacked_gb: float = MAX_UNPACKED_GB,
) -> Path:
    """Prepare dataset ``name`` from an archive or folder into ``root/NAME`` (see module doc).

    ``max_unpacked_gb``: an archive whose files add up to more is refused before anything is unpacked.
    """
    known = get_known(name)
    if known.components:
        raise DataError(
            f"{known.name} is the union of {', '.join(known.components)}: prepare each into the same --root, "
            f"then use ROOT/{known.name}"
        )
    source, root = Path(source).expanduser(), Path(root).expanduser()
    dest = root / known.name
    if not source.exists():
        raise InputError(f"{source}: file or folder not found")
    check_output_folder(root)  # before hashing or unpacking anything
    digest = None
    if source.is_file():
        digest = _digest or sha256_file(source, progress)
        check_sha256(digest, sha256, source)
    elif sha256 is not None:
        raise InputError(f"{source}: --sha256 needs an archive file, not a folder")
    if _already(dest, digest):
        log(f"{dest}: already prepared; nothing to do")
        return dest
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    remove_orphans(root, known.name, log)
    # the owner's host and pid in the name let a later run remove it if this one is killed
    work = Path(tempfile.mkdtemp(prefix=f".{known.name}.{owner_tag()}.", suffix=".tmp", dir=root))
    try:
        if source.is_file():
            tree = work / "unpacked"
            tree.mkdir()
            _safe_extract(source, tree, progress, max_unpacked_gb * 1e9)
        else:
            tree = source
        img_dir, mask_dir = locate(tree, known)
        build = work / known.name
        info = _build(known, img_dir, mask_dir, build, progress, log)
        errors = [p for p in check_dataset(build) if p.severity == "error"]
        if errors:
            raise DataError(f"{known.name}: prepared data fails validation: {errors[0].message}")
        record = {
            "name": known.name,
            "source": origin or str(source),
            "sha256": digest,
            "prepared": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "fdep_version": __version__,
            **info,
        }
        write_json(build / SOURCE_FILE, record)
        if digest:
            with atomic_write(build / "source.sha256", "w", encoding="utf-8") as f:
                f.write(f"{digest}  {Path(origin).name if origin else source.name}\n")
        if dest.exists():  # someone else finished first
            raise OutputExistsError(f"{dest} appeared while preparing; not overwriting it")
        os.rename(build, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        if created and not any(root.iterdir()):
            root.rmdir()
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"{dest}: prepared {known.name}")
    return dest
