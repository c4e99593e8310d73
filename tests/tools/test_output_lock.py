"""Two runs into one --out: the second stops at once with one line, before doing any work (issue 26).

Before the lock, two ``fdep predict`` runs mixed their maps in one folder (targets.json of one, probs of
both) and a second ``fdep test`` did all its work, then failed with ``OSError: Directory not empty``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from fdep.cli.main import main
from fdep.errors import FolderInUseError
from fdep.fileio import lock_output, output_lock_path

from ..data.builders import write_dataset
from ._tools_helpers import gray_images


def _no_work(monkeypatch):
    """Fail the test if the command reads an image (does work) while another run holds its --out."""
    import fdep.data.dataset
    import fdep.tools.predict

    def boom(*a, **k):
        raise AssertionError("work done although --out is locked")

    monkeypatch.setattr(fdep.tools.predict, "read_image", boom)
    monkeypatch.setattr(fdep.data.dataset, "load_dataset", boom)


def _commands(tmp_path):
    data = write_dataset(tmp_path, "toy", n=4, size=(24, 24))
    images = gray_images(tmp_path / "in")
    return {
        "predict": ["predict", "--model", "mpcm", "--input", str(images), "--quiet"],
        "test": ["test", "--model", "mpcm", "--data", str(data), "--quiet"],
    }


@pytest.mark.parametrize("command", ["predict", "test"])
def test_second_run_into_a_locked_out_stops_before_any_work(tmp_path, monkeypatch, capsys, command):
    argv = _commands(tmp_path)[command]
    out = tmp_path / "res"
    lock = lock_output(out, "fdep predict")  # the first run, still working
    _no_work(monkeypatch)
    try:
        code = main([*argv, "--out", str(out)])
    finally:
        lock.release()
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert len(err) == 1 and "in use by fdep predict" in err[0] and str(out) in err[0]
    assert not out.exists()


def test_another_spelling_of_the_same_out_meets_the_same_lock(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    assert output_lock_path("../res/") == output_lock_path(tmp_path / "res")
    with lock_output(tmp_path / "res", "fdep test"), pytest.raises(FolderInUseError):
        lock_output("../res", "fdep predict")


def test_lock_is_released_after_a_run_and_a_failed_run(tmp_path, capsys):
    argv = _commands(tmp_path)["predict"]
    out = tmp_path / "res"
    assert main([*argv, "--out", str(out)]) == 0
    assert not output_lock_path(out).exists()
    assert main([*argv, "--out", str(out)]) != 0  # outputs exist: refused, lock released again
    assert not output_lock_path(out).exists()
    lock_output(out, "fdep predict").release()


def test_real_concurrent_process_holds_the_out(tmp_path, capsys):
    """A second process (not just a second lock object) holding --out: predict refuses in one line."""
    out = tmp_path / "res"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from fdep.fileio import lock_output
            lock = lock_output({str(out)!r}, "fdep predict")
            print("locked", flush=True)
            sys.stdin.read()
            lock.release()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code = main([*_commands(tmp_path)["predict"], "--out", str(out)])
        err = capsys.readouterr().err.strip().splitlines()
        assert code != 0 and len(err) == 1 and f"pid {holder.pid}" in err[0]
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert main([*_commands(tmp_path / "again")["predict"], "--out", str(out)]) == 0  # free once it is gone
