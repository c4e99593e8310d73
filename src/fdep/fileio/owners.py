"""Temporaries named after the process that made them (``HOST.PID``), and removing those a dead process of
this machine left behind."""

from __future__ import annotations

import os
import re
import shutil
import socket
from pathlib import Path
from typing import Any


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
