"""Small file helpers every package may use, one job per module: atomic writes (``atomic``), the output-folder
policy (``outputs``), temporaries named after their owner process (``owners``) and folder locks (``locks``).

Every helper is importable from here (``from fdep.fileio import atomic_write``).
"""

from __future__ import annotations

from .atomic import atomic_path, atomic_write, current_umask, default_mode, usual_mode, write_failure, write_json
from .locks import FolderLock, lock_output, output_lock_path
from .outputs import (
    MOVED_ASIDE,
    check_output_file,
    check_output_folder,
    is_moved_aside,
    link_target,
    move_aside,
    results_work_folder,
)
from .owners import host_name, orphaned, owner_tag, pid_alive, remove_orphaned

__all__ = [
    "MOVED_ASIDE",
    "FolderLock",
    "atomic_path",
    "atomic_write",
    "check_output_file",
    "check_output_folder",
    "current_umask",
    "default_mode",
    "host_name",
    "is_moved_aside",
    "link_target",
    "lock_output",
    "move_aside",
    "orphaned",
    "output_lock_path",
    "owner_tag",
    "pid_alive",
    "remove_orphaned",
    "results_work_folder",
    "usual_mode",
    "write_failure",
    "write_json",
]
