"""A dataset named by ``.``, ``./``, ``..``, a trailing slash or a symlink is the folder it points at.

``Path(".").name`` is empty: fdep once looked for ``img_idx/test_.txt``, drew its own split and tested the
wrong images without a word (issue 26).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fdep.data import dataset_name, load_dataset
from fdep.data.layout import scan, split_mask_files

from .builders import write_dataset


def _official_test_ids(d: Path) -> list[str]:
    return (d / "img_idx" / f"test_{d.name}.txt").read_text().split()


@pytest.mark.parametrize("spelling", [".", "./", "inner/..", "DIR/"])
def test_relative_spellings_name_the_folder(tmp_path, monkeypatch, spelling):
    d = write_dataset(tmp_path, "toy", n=6)
    (d / "inner").mkdir()
    monkeypatch.chdir(d)
    spec = spelling.replace("DIR", str(d))
    assert dataset_name(spec) == "toy"
    ds = load_dataset(spec, "test")
    assert ds.name == "toy"
    assert ds.ids == _official_test_ids(d)  # the dataset's own list, not a drawn split


def test_parent_spelling(tmp_path, monkeypatch):
    d = write_dataset(tmp_path, "toy", n=6)
    (d / "images" / "sub").mkdir()
    monkeypatch.chdir(d / "images" / "sub")
    assert load_dataset("../..", "test").ids == _official_test_ids(d)


def test_symlinked_dataset_folder(tmp_path):
    d = write_dataset(tmp_path, "toy", n=6)
    link = tmp_path / "my-link"
    link.symlink_to(d, target_is_directory=True)
    assert scan(link).name == "toy"  # the split lists are named after the target
    assert load_dataset(link, "test").ids == _official_test_ids(d)
    assert load_dataset(str(link) + "/", "train").ids == (d / "img_idx" / "train_toy.txt").read_text().split()


def test_symlink_named_like_its_split_lists(tmp_path):
    """The link's own name wins when the split lists are named after it (a renamed release behind a link)."""
    d = write_dataset(tmp_path, "toy", n=6)
    target = tmp_path / "v2"
    d.rename(target)
    link = tmp_path / "toy"
    link.symlink_to(target, target_is_directory=True)
    assert dataset_name(link) == "toy"
    assert load_dataset(link, "test").ids == _official_test_ids(link)


def test_known_dataset_behind_dot_uses_its_constants(tmp_path, monkeypatch):
    """A known dataset's literature mean/std are found through its resolved name."""
    d = write_dataset(tmp_path, "NUAA-SIRST", n=6)
    monkeypatch.chdir(d)
    ds = load_dataset(".", "test")
    assert ds.name == "NUAA-SIRST" and ds.mean == pytest.approx(101.06)


def test_evaluate_split_masks_from_dot(tmp_path, monkeypatch):
    d = write_dataset(tmp_path, "toy", n=6)
    monkeypatch.chdir(d)
    assert list(split_mask_files(".", "test")) == _official_test_ids(d)
    assert list(split_mask_files(os.fspath(d) + "/", "test")) == _official_test_ids(d)


def test_cli_test_and_evaluate_from_inside_the_dataset(tmp_path, monkeypatch, capsys):
    from fdep.cli.main import main

    d = write_dataset(tmp_path, "toy", n=6, size=(32, 32))
    monkeypatch.chdir(d)
    out = tmp_path / "res"
    assert main(["test", "--model", "mpcm", "--data", ".", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "toy/test (3 images)" in printed
    assert main(["evaluate", "--pred", str(out / "preds"), "--gt", ".", "--split", "test"]) == 0
    assert "3 images" in capsys.readouterr().out
