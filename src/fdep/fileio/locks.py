"""Process locks on output folders: one run per folder, a dead owner's lock taken over, another machine's never."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

from ..errors import FolderInUseError, OutputExistsError
from .owners import host_name, pid_alive

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
