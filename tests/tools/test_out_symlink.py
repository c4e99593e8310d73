"""``--out`` given as a symbolic link (issue 26 §3): predict and test write into the folder it points to, never
replace the link by a folder (``--overwrite`` moves the target aside, the link then points at the new results),
and refuse a dangling link in one line. They crashed with NotADirectoryError tracebacks before."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from fdep.cli.main import main
from fdep.imageio import write_image_png


@pytest.fixture()
def image(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 60, (40, 48), dtype=np.uint8)
    img[20, 24] = 255
    path = tmp_path / "in" / "a.png"
    path.parent.mkdir()
    write_image_png(path, img)
    return path


def _link(tmp_path: Path, target: Path) -> Path:
    link = tmp_path / "out_link"
    link.symlink_to(target, target_is_directory=True)
    return link


def _predict(image: Path, out: Path, *extra: str) -> int:
    return main(["predict", "--model", "mpcm", "--input", str(image), "--out", str(out), "--quiet", *extra])


def _test(data: Path, out: Path, *extra: str) -> int:
    return main(["test", "--model", "mpcm", "--data", str(data), "--out", str(out), "--quiet", "--no-preds", *extra])


def _no_traceback(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("command", ["predict", "test"])
def test_link_to_a_folder_is_written_through(command, image, tiny_data, tmp_path, capsys):
    target = tmp_path / "real_results"
    target.mkdir()
    link = _link(tmp_path, target)
    run = (lambda *a: _predict(image, link, *a)) if command == "predict" else (lambda *a: _test(tiny_data, link, *a))
    result = "targets.json" if command == "predict" else "results.json"
    assert run() == 0, _no_traceback(capsys)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert (target / result).is_file()
    first = (target / result).read_text()

    # a second run without --overwrite refuses (its outputs exist), in one line
    assert run() == 2
    err = _no_traceback(capsys)
    assert "already exists" in err or "not empty" in err

    # --overwrite: the target's earlier contents are moved aside beside the target, the link stays a link
    assert run("--overwrite") == 0, _no_traceback(capsys)
    assert link.is_symlink() and os.readlink(link) == str(target)
    moved = [p for p in tmp_path.iterdir() if p.name.startswith("real_results.old-")]
    assert len(moved) == 1 and (moved[0] / result).read_text() == first
    assert (target / result).is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("out_link.")]  # nothing named after the link
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("command", ["predict", "test"])
def test_dangling_link_is_refused_in_one_line(command, image, tiny_data, tmp_path, capsys):
    missing = tmp_path / "unmounted" / "results"
    link = _link(tmp_path, missing)
    code = _predict(image, link) if command == "predict" else _test(tiny_data, link)
    err = _no_traceback(capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"{link}: is a symbolic link to {missing}, which does not exist" in err
    assert link.is_symlink() and not missing.exists() and not (tmp_path / "unmounted").exists()


def test_link_to_a_file_is_refused(image, tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("mine")
    link = tmp_path / "out_link"
    link.symlink_to(f)
    assert _predict(image, link) == 2
    assert "must be a folder" in _no_traceback(capsys)
    assert f.read_text() == "mine" and link.is_symlink()


def test_predict_merges_into_a_linked_folder_holding_other_files(image, tmp_path, capsys):
    target = tmp_path / "real"
    target.mkdir()
    (target / "notes.txt").write_text("keep")
    link = _link(tmp_path, target)
    assert _predict(image, link) == 0, _no_traceback(capsys)
    assert (target / "notes.txt").read_text() == "keep"
    assert json.loads((target / "targets.json").read_text())["n_images"] == 1
    assert link.is_symlink()
