"""One progress convention for every command (issue 26 §5): a rewritten line on a terminal, a clean line at
most every 10 s in a log, nothing for short work; fdep test, train, vfm cache and data use it."""

from __future__ import annotations

import io

import pytest

import fdep.progress
from fdep.cli.main import main
from fdep.progress import Counter, ProgressLine, track
from tests.run_helpers import train_args


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_gets_clean_lines_and_a_terminal_one_rewritten_line():
    now = [0.0]
    log, tty = io.StringIO(), _Terminal()
    for stream in (log, tty):
        now[0] = 0.0
        counter = Counter("fdep test: image", total=3, line=ProgressLine(stream, every_s=1.0, clock=lambda: now[0]))
        with counter:
            for i, name in enumerate(("a", "b", "c")):
                now[0] = 1.0 + i
                counter.update(1, name)
    assert log.getvalue() == ("fdep test: image 1/3 (a)\nfdep test: image 2/3 (b)\nfdep test: image 3/3 (c)\n")
    assert "\r" not in log.getvalue()
    assert tty.getvalue() == ("\r\033[Kfdep test: image 1/3 (a)\r\033[Kfdep test: image 2/3 (b)"
                              "\r\033[Kfdep test: image 3/3 (c)\n")


def test_byte_counts_and_track(monkeypatch, capsys):
    c = Counter("fdep data: download", total=3 << 20, unit="B", enabled=False)
    c.update(1536 << 10)
    assert c.text() == "fdep data: download 1.5 MB/3.0 MB"
    assert Counter("x", unit="files", enabled=False).text() == "x 0 files"
    monkeypatch.setattr(fdep.progress, "LOG_EVERY_S", 0.0)
    assert list(track(["p", "q"], "fdep data: unpack", unit="files")) == ["p", "q"]
    assert capsys.readouterr().err == "fdep data: unpack 1/2 files\nfdep data: unpack 2/2 files\n"
    assert list(track(["p"], "quiet", enabled=False)) == ["p"]
    assert capsys.readouterr().err == ""


def test_short_work_prints_nothing(capsys):
    with Counter("fdep test: image", total=2) as c:
        c.update(1, "a")
    assert capsys.readouterr().err == ""


def test_fdep_test_into_a_log_writes_clean_lines(tiny_data, tmp_path, capsys, monkeypatch):
    """`fdep test > log 2>&1` wrote one line of carriage returns (tqdm); now a line per interval (here every
    image, the interval set to 0 as if each were slow), and none with --quiet."""
    monkeypatch.setattr(fdep.progress, "LOG_EVERY_S", 0.0)
    args = ["test", "--model", "mpcm", "--data", str(tiny_data), "--no-preds"]
    assert main([*args, "--out", str(tmp_path / "t1")]) == 0
    err = capsys.readouterr().err
    n = len((tiny_data / "img_idx" / "test_tiny.txt").read_text().split())
    assert "\r" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("fdep test: image")]
    assert len(lines) == n and lines[-1].startswith(f"fdep test: image {n}/{n} (")
    assert main([*args, "--out", str(tmp_path / "t2"), "--quiet"]) == 0
    assert "fdep test: image" not in capsys.readouterr().err


def test_fdep_train_into_a_log_writes_clean_lines(tiny_data, tmp_path, capsys, monkeypatch):
    """Lightning's bar is for terminals; a log gets fdep's lines (epoch and step)."""
    monkeypatch.setattr(fdep.progress, "LOG_EVERY_S", 0.0)
    args = [a for a in train_args(tiny_data, tmp_path / "r", "--variant", "original", "--export-light", "false",
                                  epochs=1) if a != "--quiet"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "fdep train: epoch 1/1, step 1/" in err


@pytest.mark.parametrize("stream", [io.StringIO(), None])
def test_is_terminal_of_odd_streams(stream):
    assert fdep.progress.is_terminal(stream) is False
    closed = io.StringIO()
    closed.close()
    assert fdep.progress.is_terminal(closed) is False
