"""Atomic writes: a file appears complete or not at all, with the permissions ``open(path, "w")`` gives.

Outputs are written to a temporary file in the destination folder and moved
into place with ``os.replace``, so a crash never leaves a half-written file
and an existing file is only replaced by a complete one. The moved file gets
the permissions a plain ``open(path, "w")`` would give it: those of the file it
replaces, else ``0o666`` less the user's umask (``mkstemp`` alone creates 0600).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import OutputError

_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where /proc allows (else set and restored under a lock)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def default_mode(directory: bool = False) -> int:
    """Permission bits a new file (0o666) or folder (0o777) gets under the current umask."""
    return (0o777 if directory else 0o666) & ~current_umask()


def usual_mode(path: str | os.PathLike) -> int:
    """The mode ``open(path, "w")`` would leave: that of the file it replaces, else the umask default."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return default_mode()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success move it onto ``path``.

    A failed write (disk full, read-only ...) removes the temporary and raises :class:`OutputError` naming ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with _moved_into_place(tmp, path), os.fdopen(fd, mode, **kwargs) as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


@contextlib.contextmanager
def _moved_into_place(tmp: str, path: Path) -> Iterator[None]:
    """Move ``tmp`` onto ``path`` with the usual mode when the block succeeds; else remove it, and turn an
    OSError into the one-line :class:`OutputError` naming ``path``."""
    try:
        yield
        os.chmod(tmp, usual_mode(path))
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, OutputError):
            raise write_failure(path, e) from None
        raise


def write_failure(path: str | os.PathLike, e: BaseException) -> OutputError:
    """The one-line error for a failed write of ``path`` (disk full, quota, read-only file system ...).

    The system's reason is kept as ``.reason``; a caller that wrote ``path`` in a work folder can name
    the final output instead with ``write_failure(final, e)``.
    """
    reason = getattr(e, "reason", None) if isinstance(e, OutputError) else None
    if reason is None:
        text = (e.strerror if isinstance(e, OSError) and e.strerror else str(e)).strip()
        reason = text.splitlines()[0] if text else type(e).__name__
    return OutputError(f"{path}: cannot write ({reason})", reason)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for libraries that write by name.

    The caller writes to the yielded path; on success it is moved onto ``path``.
    The temporary name keeps ``path``'s suffix so format detection still works.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    with _moved_into_place(tmp, path):
        yield Path(tmp)


def write_json(path: str | os.PathLike, obj: Any, strict: bool = False) -> None:
    """Write ``obj`` as indented JSON, atomically. ``strict``: refuse NaN/inf (ValueError), which strict JSON
    readers reject, instead of writing ``NaN``."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=False, allow_nan=not strict)
        f.write("\n")
