"""The output policy of every command: outputs checked before any work, an earlier output moved aside (never
deleted), and results written into a work folder that takes the output's place only when complete."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError, OutputError, OutputExistsError
from .atomic import default_mode, write_failure
from .owners import owner_tag, remove_orphaned


def check_output_file(path: str | os.PathLike, replace: bool = False, flag: str = "--overwrite") -> Path:
    """Check before any work that ``path`` can be written as a file (one-line errors otherwise).

    Refused: an existing folder of that name, an existing file unless ``replace``, a parent that
    is a file, and a location the user may not write to (the nearest existing parent folder).
    """
    path = Path(path)
    if path.is_dir():
        raise OutputExistsError(f"{path}: is a folder; give a file name")
    if path.exists() and not replace:
        raise OutputExistsError(f"{path}: already exists (pass {flag} to replace it)")
    _check_creatable(path, path.parent)
    return path


def check_output_folder(path: str | os.PathLike) -> Path:
    """Check before any work that ``path`` can be used as an output folder (one-line errors otherwise).

    Refused: an existing file of that name, a parent that is a file (``--out`` under a file), and a
    folder the user may not write to (``path`` itself when it exists, else its nearest existing parent).
    Whether an existing folder's contents may be replaced is the caller's decision.
    """
    path = Path(path)
    link_target(path)
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"{path}: exists and is not a folder")
    _check_creatable(path, path)
    return path


def link_target(path: str | os.PathLike) -> Path:
    """The folder an output path stands for: ``path`` itself, or, when it is a symbolic link, the folder the link
    points to (followed to its end). A link is never replaced by a folder: outputs go into its target and
    ``--overwrite`` moves the *target* aside, so the link keeps pointing at the new results. A dangling link
    is refused (one line): its target may be a drive that is not mounted, where fdep must not write.
    """
    path = Path(path)
    if not path.is_symlink():
        return path
    target = Path(os.path.realpath(path))
    if not target.exists():
        raise OutputExistsError(f"{path}: is a symbolic link to {os.readlink(path)}, which does not exist; create "
                                f"that folder (or mount its drive) or give another output folder")
    if not target.is_dir():
        raise OutputExistsError(f"{path}: is a symbolic link to {target}, which is not a folder")
    return target


def _check_creatable(path: Path, start: Path) -> None:
    """The nearest existing folder at or above ``start`` must be a writable folder."""
    parent = start
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{path}: cannot be created, {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        why = "read-only file system" if _read_only_fs(parent) else "no write permission"
        raise InputError(f"{path}: cannot write there ({why} in {parent})")


def _read_only_fs(folder: Path) -> bool:
    with contextlib.suppress(OSError, AttributeError):
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    return False


# --- moving an earlier output aside -----------------------------------------------------------


#: the names :func:`move_aside` gives (``NAME.old-YYYYmmdd-HHMMSS``, ``-N`` when that was taken)
MOVED_ASIDE = re.compile(r"\.old-\d{8}-\d{6}(-\d+)?$")


def is_moved_aside(path: str | os.PathLike) -> bool:
    """Whether ``path`` is named like an earlier output that :func:`move_aside` renamed (not a live output)."""
    return MOVED_ASIDE.search(Path(path).name) is not None


def move_aside(path: str | os.PathLike) -> Path:
    """Rename the folder ``path`` to ``path.old-YYYYmmdd-HHMMSS`` (a free name beside it); nothing is deleted.

    Used by ``--overwrite``: the earlier output stays complete for the user to inspect or delete,
    and nothing of it can be picked up by the new run.
    """
    path = Path(path)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = path.with_name(f"{path.name}.old-{stamp}")
    target, n = base, 1
    while target.exists():
        n += 1
        target = base.with_name(f"{base.name}-{n}")
    try:
        os.rename(path, target)
    except OSError as e:
        raise OutputExistsError(f"{path}: cannot move the earlier output aside to {target.name} "
                                f"({e.strerror or e}); move or delete it yourself") from None
    return target


@contextlib.contextmanager
def results_work_folder(out: str | os.PathLike, overwrite: bool, merge: bool = False,
                        log: Any = None) -> Iterator[Path]:
    """A fresh folder beside ``out`` (``.OUT.HOST.PID.*.tmp``) that becomes ``out`` only when the work succeeds.

    On success an absent or empty ``out`` is replaced by the folder; an existing one is, with ``overwrite``,
    first moved aside to ``OUT.old-<time>`` (:func:`move_aside`, nothing deleted), or, with ``merge``, gets
    the folder's files moved into it (the caller has checked that none of them exists there). A failed or
    interrupted run leaves ``out`` as it was (earlier contents included) and its work folder is removed; one
    killed with SIGKILL leaves the folder behind, and the next run for the same ``out`` removes it. A failed
    write (disk full, ...) is one :class:`OutputError` naming the file under ``out`` it was for. An ``out`` that
    is a symbolic link stands for the folder it points to (:func:`link_target`): the work folder is made beside
    that folder (the same file system, so the final rename works) and the link itself is left as it is.
    """
    out = link_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_orphaned(out.parent, (f".{out.name}.*.tmp",), log)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.{owner_tag()}.", suffix=".tmp", dir=out.parent))
    try:
        os.chmod(work, default_mode(directory=True))  # mkdtemp makes it 0700; it becomes OUT
        try:
            yield work
        except OutputError as e:  # a file of the work folder: name the one under OUT it was for
            raise OutputError(str(e).replace(str(work), str(out)), e.reason) from None
        except OSError as e:
            raise write_failure(out, e) from None
        if merge and out.is_dir() and any(out.iterdir()):
            _move_files_into(work, out)
            return
        if overwrite and out.exists():
            moved = move_aside(out)
            if log is not None:
                log(f"--overwrite: the earlier contents of {out} were moved to {moved}")
        elif out.is_dir():
            out.rmdir()  # empty (checked before any work)
        os.rename(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _move_files_into(work: Path, out: Path) -> None:
    for src in sorted(p for p in work.rglob("*") if p.is_file()):
        dest = out / src.relative_to(work)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)

