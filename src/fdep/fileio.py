"""Small file helpers every package may use: atomic writes, output checks, folder locks.

Outputs are written to a temporary file in the destination folder and moved
into place with ``os.replace``, so a crash never leaves a half-written file
and an existing file is only replaced by a complete one. The moved file gets
the permissions a plain ``open(path, "w")`` would give it: those of the file it
replaces, else ``0o666`` less the user's umask (``mkstemp`` alone creates 0600).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import shutil
import socket
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import FolderInUseError, InputError, OutputError, OutputExistsError

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
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
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
    try:
        yield Path(tmp)
        os.chmod(tmp, usual_mode(path))
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, OutputError):
            raise write_failure(path, e) from None
        raise


def write_json(path: str | os.PathLike, obj: Any, strict: bool = False) -> None:
    """Write ``obj`` as indented JSON, atomically. ``strict``: refuse NaN/inf (ValueError), which strict JSON
    readers reject, instead of writing ``NaN``."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=False, allow_nan=not strict)
        f.write("\n")


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


def load_failure_reason(e: BaseException) -> tuple[str, bool]:
    """(one-line reason, whether the file was refused as unsafe) for an exception of ``torch.load(weights_only=True)``.

    PyTorch's own message for a file holding pickled code runs to many lines and suggests turning
    the safety off; this says instead what was found (e.g. ``GLOBAL posix.system``).
    """
    text = str(e).strip()
    if "Weights only load failed" in text or "WeightsUnpickler" in text:
        m = re.search(r"GLOBAL [\w.]+", text)
        if m:  # a reference to Python code or classes: the file was made to run more than tensors
            return (f"it holds pickled Python objects other than tensors and plain data ({m.group(0)}), which fdep "
                    f"never loads"), True
        m = re.search(r"Unsupported operand \S+|invalid load key[^\n]*", text)
        return f"damaged, or not a PyTorch weights file ({m.group(0) if m else 'unreadable pickle'})", False
    first = text.splitlines()[0] if text else e.__class__.__name__
    return first[:200], False


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


# --- process ownership: folder locks and temporaries named after their owner --------------------


def host_name() -> str:
    """This machine's name, reduced to characters safe in file names."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "localhost"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True
    return True


def owner_tag() -> str:
    """``HOST.PID`` of this process, for temporary names that say who made them."""
    return f"{host_name()}.{os.getpid()}"


def orphaned(name: str) -> bool:
    """Whether a temporary named with :func:`owner_tag` (``...HOST.PID.XXXX...``) belongs to a dead process
    of this machine. Names of other machines, or without a tag, are never orphaned (we cannot tell)."""
    m = re.search(rf"\.{re.escape(host_name())}\.(\d+)\.", name)
    return m is not None and not pid_alive(int(m.group(1)))


def remove_orphaned(folder: str | os.PathLike, patterns: tuple[str, ...], log: Any = None) -> int:
    """Delete the temporaries matching ``patterns`` in ``folder`` that belong to dead processes of this machine
    (names made with :func:`owner_tag`); a live run's, or another machine's, are left alone."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    n, size = 0, 0
    for p in sorted({q for pattern in patterns for q in folder.glob(pattern)}):
        if not orphaned(p.name):
            continue
        try:
            if p.is_dir():
                size += sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
                shutil.rmtree(p)
            else:
                size += p.stat().st_size
                p.unlink()
            n += 1
        except OSError:
            continue
    if n and log is not None:
        log(f"removed {n} temporary file(s)/folder(s) ({size / 1e6:.0f} MB) left by an interrupted run in {folder}")
    return n


# Lock file descriptors held by this process: closed in forked children (DataLoader workers) so
# that a killed parent's lock is released even while its orphaned children still wind down.
_held_fds: set[int] = set()


def _close_held_in_child() -> None:
    for fd in list(_held_fds):
        with contextlib.suppress(OSError):
            os.close(fd)
    _held_fds.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_held_in_child)


class FolderLock:
    """An exclusive lock on a folder: ``FOLDER/.fdep.lock`` holding the owner's pid, host and start time.

    Exclusion uses ``fcntl.flock`` on that file, which the kernel releases when the owner dies (even
    by SIGKILL), so a lock left by a dead process on this machine is detected as stale and taken
    over. A lock file written on another machine is never taken over (its owner cannot be checked):
    the error says which host and process hold it and to delete the file once that run is over.
    Where ``fcntl`` is missing, the file is created exclusively and a dead pid on this host is stale.
    """

    NAME = ".fdep.lock"

    def __init__(self, folder: str | os.PathLike, what: str = "fdep", path: str | os.PathLike | None = None) -> None:
        self.folder = Path(folder)
        self.path = Path(path) if path is not None else self.folder / self.NAME
        self.what = what
        self.fd: int | None = None
        self.took_over: dict | None = None

    def _read(self) -> dict:
        try:
            rec = json.loads(self.path.read_text(encoding="utf-8") or "{}")
            return rec if isinstance(rec, dict) else {}
        except (OSError, ValueError):
            return {}

    def _busy(self, rec: dict) -> FolderInUseError:
        who = (f"{rec.get('command', 'fdep')} (pid {rec.get('pid', '?')} on {rec.get('host', '?')}, since "
               f"{rec.get('started', '?')})") if rec else "another fdep process"
        return FolderInUseError(f"{self.folder}: in use by {who}; wait for it to finish (if it is no longer "
                                f"running, delete {self.path})")

    def acquire(self) -> FolderLock:
        """Take the lock or raise :class:`FolderInUseError` at once (never waits)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self._acquire_exclusive_create()
        for _ in range(10):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise OutputExistsError(f"{self.folder}: cannot create the lock file {self.NAME} "
                                        f"({e.strerror or e})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise self._busy(self._read()) from None
            except OSError:  # a file system without flock: decide by the recorded owner alone
                rec = self._read()
                if rec and (rec.get("host") != host_name() or pid_alive(int(rec.get("pid") or 0))):
                    os.close(fd)
                    raise self._busy(rec) from None
            try:  # the file may have been unlinked (released) between our open and flock: retry on the new one
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            rec = self._read()
            if rec and rec.get("host") != host_name():
                os.close(fd)
                raise self._busy(rec)
            self.took_over = rec or None
            self.fd = fd
            _held_fds.add(fd)
            self._write_record()
            return self
        raise self._busy(self._read())  # pragma: no cover - ten lost races in a row

    def _acquire_exclusive_create(self) -> FolderLock:  # pragma: no cover - exercised on non-POSIX only
        for _ in range(2):
            try:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                rec = self._read()
                if rec.get("host") == host_name() and not pid_alive(int(rec.get("pid", 0))):
                    self.took_over = rec
                    with contextlib.suppress(FileNotFoundError):
                        self.path.unlink()
                    continue
                raise self._busy(rec) from None
            self._write_record()
            return self
        raise self._busy(self._read())

    def _write_record(self) -> None:
        assert self.fd is not None
        rec = {"pid": os.getpid(), "host": host_name(), "command": self.what,
               "started": _dt.datetime.now().astimezone().isoformat(timespec="seconds")}
        data = (json.dumps(rec) + "\n").encode()
        os.ftruncate(self.fd, 0)
        os.lseek(self.fd, 0, os.SEEK_SET)
        os.write(self.fd, data)

    def release(self) -> None:
        """Remove the lock file (only if it is still ours) and unlock. Safe to call twice."""
        if self.fd is None:
            return
        try:
            with contextlib.suppress(OSError):
                if os.stat(self.path).st_ino == os.fstat(self.fd).st_ino:
                    self.path.unlink()
        finally:
            _held_fds.discard(self.fd)
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None

    def moved_to(self, folder: str | os.PathLike) -> None:
        """Tell the lock its folder was renamed (so release removes the file at the new place)."""
        self.folder = Path(folder)
        self.path = self.folder / self.NAME

    def __enter__(self) -> FolderLock:
        return self if self.fd is not None else self.acquire()  # a lock taken already (lock_output) is kept

    def __exit__(self, *exc: Any) -> None:
        self.release()


def output_lock_path(out: str | os.PathLike) -> Path:
    """Where :func:`lock_output` keeps its lock: ``.OUT.fdep.lock`` beside ``out`` (in the real parent folder,
    so every spelling of the same ``out`` meets the same file; inside ``out`` it would stop the finished work
    folder from taking ``out``'s place)."""
    out = Path(os.path.abspath(out))
    return Path(os.path.realpath(out.parent)) / f".{out.name}.fdep.lock"


def lock_output(out: str | os.PathLike, what: str) -> FolderLock:
    """Take the lock on an output folder before any work (``fdep predict``/``fdep test``), or raise
    :class:`FolderInUseError` at once naming the run that holds it: two runs never write into one ``out``.
    Release it with ``.release()`` (or use it as a context manager) once the outputs are in place."""
    path = output_lock_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    return FolderLock(out, what, path=path).acquire()
