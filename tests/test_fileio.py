"""fdep.fileio: atomic writes keep the usual permissions; output checks; folder locks; moving aside."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from fdep.errors import FolderInUseError, InputError, OutputExistsError
from fdep.fileio import (
    FolderLock,
    atomic_path,
    atomic_write,
    check_output_file,
    check_output_folder,
    current_umask,
    move_aside,
    orphaned,
    owner_tag,
    write_json,
)
from tests.run_helpers import SRC


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_atomic_writes_get_umask_permissions(tmp_path, umask_022):
    """mkstemp makes 0600 files; an atomically written output must be readable as any other file is."""
    assert current_umask() == 0o022
    write_json(tmp_path / "a.json", {"x": 1})
    with atomic_write(tmp_path / "b.txt") as f:
        f.write("b")
    with atomic_path(tmp_path / "c.npy") as tmp:
        tmp.write_bytes(b"c")
    for name in ("a.json", "b.txt", "c.npy"):
        assert _mode(tmp_path / name) == 0o644, name
    os.umask(0o077)
    write_json(tmp_path / "d.json", {})
    assert _mode(tmp_path / "d.json") == 0o600
    # replacing a file keeps its mode, as open(path, "w") does
    os.chmod(tmp_path / "a.json", 0o640)
    write_json(tmp_path / "a.json", {"x": 2})
    assert _mode(tmp_path / "a.json") == 0o640


def test_written_outputs_of_every_kind_are_group_readable(tmp_path, umask_022):
    import numpy as np

    from fdep.data import generate_synthetic
    from fdep.data.stats import STATS_FILE
    from fdep.imageio import write_prob_png16

    ds = generate_synthetic(tmp_path, n=4, size=32, seed=0, name="s")
    assert _mode(ds) == 0o755
    for p in (ds / "img_idx" / "train_s.txt", ds / STATS_FILE):
        assert _mode(p) == 0o644, p
    write_prob_png16(tmp_path / "p.png", np.zeros((4, 4)))
    assert _mode(tmp_path / "p.png") == 0o644


def test_check_output_file(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputExistsError, match="is a folder"):
        check_output_file(tmp_path / "d")
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputExistsError, match="--force"):
        check_output_file(tmp_path / "f", flag="--force")
    assert check_output_file(tmp_path / "f", replace=True) == tmp_path / "f"
    with pytest.raises(InputError, match="is a file"):
        check_output_file(tmp_path / "f" / "x.json")
    assert check_output_file(tmp_path / "new" / "deeper" / "x.json")
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(InputError, match="no write permission"):
                check_output_file(ro / "x.json")
        finally:
            ro.chmod(0o700)


def test_check_output_folder(tmp_path, monkeypatch):
    import fdep.fileio.outputs as fileio

    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputExistsError, match="is not a folder"):
        check_output_folder(tmp_path / "f")
    with pytest.raises(InputError, match="is a file"):
        check_output_folder(tmp_path / "f" / "out" / "deeper")
    assert check_output_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # a check creates nothing
    # a folder the user may not write into (root may write anywhere, so the kernel's answer is simulated)
    monkeypatch.setattr(fileio.os, "access", lambda path, mode: False)
    with pytest.raises(InputError, match=r"cannot write there \(no write permission in"):
        check_output_folder(tmp_path / "new")
    monkeypatch.setattr(fileio, "_read_only_fs", lambda folder: True)
    with pytest.raises(InputError, match=r"read-only file system in"):
        check_output_folder(tmp_path / "new")


def test_failed_atomic_write_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    import errno

    from fdep.errors import OutputError

    target = tmp_path / "r.json"
    write_json(target, {"good": 1})

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match=r"r.json: cannot write \(No space left on device\)") as e:
        write_json(target, {"partial": 2})
    assert isinstance(e.value, OSError) and e.value.reason == "No space left on device"
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"good": 1} and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_move_aside_keeps_everything(tmp_path):
    run = tmp_path / "run"
    (run / "sub").mkdir(parents=True)
    (run / "sub" / "f").write_text("old")
    a = move_aside(run)
    assert not run.exists() and (a / "sub" / "f").read_text() == "old" and a.name.startswith("run.old-")
    run.mkdir()
    b = move_aside(run)
    assert b != a and a.exists() and b.exists()


HOLD = """
import sys, time
from fdep.fileio import FolderLock
FolderLock(sys.argv[1], "holder").acquire()
print("held", flush=True)
time.sleep(120)
"""


def test_folder_lock_excludes_and_stale_lock_is_taken_over(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(SRC))
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        with pytest.raises(FolderInUseError, match=rf"pid {p.pid}"):
            FolderLock(tmp_path).acquire()
        p.kill()  # SIGKILL: no clean-up runs, the lock file stays
        p.wait(timeout=30)
    finally:
        p.kill()
    assert (tmp_path / FolderLock.NAME).exists()
    lock = FolderLock(tmp_path, "me").acquire()
    assert lock.took_over and lock.took_over["pid"] == p.pid
    assert json.loads((tmp_path / FolderLock.NAME).read_text())["pid"] == os.getpid()
    with pytest.raises(FolderInUseError):  # a second taker in this very process is refused too
        FolderLock(tmp_path).acquire()
    lock.release()
    assert not (tmp_path / FolderLock.NAME).exists()


def test_lock_of_another_host_is_not_taken_over(tmp_path):
    (tmp_path / FolderLock.NAME).write_text(json.dumps({"pid": 1, "host": "elsewhere", "command": "fdep train"}))
    with pytest.raises(FolderInUseError, match="on elsewhere.*delete"):
        FolderLock(tmp_path).acquire()


def test_forked_children_do_not_keep_the_lock(tmp_path):
    """A killed owner whose forked children (DataLoader workers) still run has released its lock."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the "training process": takes the lock, forks a long-lived worker, dies without clean-up
        FolderLock(tmp_path, "owner").acquire()
        if os.fork() == 0:
            import time

            time.sleep(5)
            os._exit(0)
        os.write(w, b"x")
        os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"x"
    os.waitpid(pid, 0)
    assert (tmp_path / FolderLock.NAME).exists()  # left behind, its worker still alive
    lock = FolderLock(tmp_path).acquire()
    assert lock.took_over["pid"] == pid
    lock.release()


def test_orphaned_names(tmp_path):
    assert not orphaned(f".x.{owner_tag()}.abc.tmp")  # ours: alive
    p = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(p.stdout)
    host = owner_tag().rsplit(".", 1)[0]
    assert orphaned(f".x.{host}.{dead}.abc.tmp")
    assert not orphaned(f".x.otherhost.{dead}.abc.tmp") and not orphaned(".x.abc.tmp")


def test_lock_on_a_file_system_without_flock(tmp_path, monkeypatch):
    import errno
    import fcntl

    def no_flock(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    lock = FolderLock(tmp_path).acquire()  # by the recorded owner: none yet
    with pytest.raises(FolderInUseError):  # recorded owner (this process) alive
        FolderLock(tmp_path).acquire()
    lock.release()
    p = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = owner_tag().rsplit(".", 1)[0]
    (tmp_path / FolderLock.NAME).write_text(json.dumps({"pid": int(p.stdout), "host": host}))
    assert FolderLock(tmp_path).acquire().took_over["pid"] == int(p.stdout)  # dead owner: taken over
