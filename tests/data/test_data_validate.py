"""Validation: every problem kind is found, `fdep data check` lists them all, loading fails clearly."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fdep.cli.main import main
from fdep.data import check_dataset, load_dataset
from fdep.errors import DataError

from .builders import write_dataset


def _broken(tmp_path):
    d = write_dataset(tmp_path, "bad", n=8)
    (d / "masks" / "img0.png").unlink()  # missing mask (train)
    (d / "images" / "img1.png").unlink()  # missing image (train)
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(d / "masks" / "img2.png")  # size mismatch + empty
    (d / "img_idx" / "test_bad.txt").write_text("img2\nimg4\nimg5\nimg6\nimg7\nghost\n")  # dup across + no files
    m = np.zeros((20, 24), np.uint8)
    m[3, 3], m[4, 4] = 64, 255
    Image.fromarray(m).save(d / "masks" / "img4.png")  # non-binary
    (d / "images" / "img5.png").write_bytes(b"\x89PNG\r\n\x1a\ngarbage")  # unreadable image
    (d / "masks" / "img6.png").write_bytes(b"not a png")  # unreadable mask
    Image.fromarray(np.zeros((20, 24), np.uint8)).save(d / "masks" / "img7.png")  # empty mask
    return d


def test_check_finds_every_problem(tmp_path):
    d = _broken(tmp_path)
    problems = check_dataset(d)
    kinds = {}
    for p in problems:
        kinds.setdefault(p.kind, []).append(p.message)
    assert set(kinds) == {
        "missing_mask",
        "missing_image",
        "missing_files",
        "size_mismatch",
        "non_binary_mask",
        "empty_mask",
        "unreadable",
        "duplicate_across_splits",
    }
    assert any("img0.png" in m for m in kinds["missing_mask"])
    assert any("img1.png" in m for m in kinds["missing_image"])
    assert any("'ghost'" in m for m in kinds["missing_files"])
    assert any("img2.png" in m and "5x5" in m for m in kinds["size_mismatch"])
    assert any("img4.png" in m and "{0, 64, 255}" in m for m in kinds["non_binary_mask"])
    assert sorted(m.split(":")[0].rsplit("/", 1)[-1] for m in kinds["unreadable"]) == ["img5.png", "img6.png"]
    assert any("img7.png" in m for m in kinds["empty_mask"]) and any("img2.png" in m for m in kinds["empty_mask"])
    assert any("'img2'" in m for m in kinds["duplicate_across_splits"])
    assert {p.severity for p in problems if p.kind in ("non_binary_mask", "empty_mask")} == {"warning"}


def test_check_cli_lists_all_and_exit_codes(tmp_path, toy, capsys):
    d = _broken(tmp_path)
    assert main(["data", "check", str(d)]) == 1
    out = capsys.readouterr().out
    for name in ("img0.png", "img1.png", "ghost", "img2.png", "img4.png", "img5.png", "img6.png", "img7.png"):
        assert name in out
    assert main(["data", "check", str(toy)]) == 0
    Image.fromarray(np.zeros((20, 24), np.uint8)).save(toy / "masks" / "img0.png")
    assert main(["data", "check", str(toy)]) == 0  # an empty mask is only a warning...
    assert main(["data", "check", str(toy), "--strict"]) == 1  # ...unless --strict
    assert main(["data", "check", str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err


def test_load_raises_first_problems_naming_files(tmp_path):
    d = _broken(tmp_path)
    with pytest.raises(DataError) as e:
        load_dataset(d, "train")
    msg = str(e.value)
    assert "bad" in msg and "'img0'" in msg and "'img1'" in msg and "problem" in msg
    assert "\n" not in msg
    with pytest.raises(DataError, match="img5.png|img6.png|ghost"):
        load_dataset(d, "test")


@pytest.mark.parametrize("breakage", ["size", "unreadable", "dup_split", "missing"])
def test_each_error_blocks_loading(tmp_path, breakage):
    d = write_dataset(tmp_path, "one", n=4)
    if breakage == "size":
        Image.fromarray(np.zeros((3, 3), np.uint8)).save(d / "masks" / "img1.png")
    elif breakage == "unreadable":
        (d / "masks" / "img1.png").write_bytes(b"xx")
    elif breakage == "dup_split":
        (d / "img_idx" / "test_one.txt").write_text("img1\nimg2\nimg3\n")
    else:
        (d / "images" / "img1.png").unlink()
    with pytest.raises(DataError, match="img1"):
        load_dataset(d, "train")


def test_non_binary_masks_load_with_warning(tmp_path):
    d = write_dataset(tmp_path, "nb", n=2)
    m = np.zeros((20, 24), np.uint8)
    m[1, 1], m[2, 2] = 64, 200
    Image.fromarray(m).save(d / "masks" / "img0.png")
    with pytest.warns(UserWarning, match="binarised at > 127"):
        ds = load_dataset(d, "train")
    mask = ds[0]["mask"][0]
    assert mask.sum() == 1 and mask[2, 2] == 1 and mask[1, 1] == 0


def test_header_size_and_raw_mask_values(tmp_path):
    from fdep.errors import InputError
    from fdep.imageio import image_size, read_mask_values

    Image.fromarray(np.zeros((5, 7), np.uint8)).save(tmp_path / "a.png")
    assert image_size(tmp_path / "a.png") == (5, 7)
    m = np.zeros((3, 4), np.uint8)
    m[1, 1] = 255
    Image.fromarray(m).convert("1").save(tmp_path / "b.png")
    assert np.unique(read_mask_values(tmp_path / "b.png")).tolist() == [0, 255]
    (tmp_path / "c.png").write_bytes(b"nope")
    with pytest.raises(InputError, match="c.png"):
        image_size(tmp_path / "c.png")


def truncate_png(path, keep: float = 0.5) -> None:
    """Cut a PNG after ``keep`` of its bytes: the header (size, mode) still reads, the pixels do not."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_truncated_png_with_intact_header_is_found(tmp_path, capsys):
    from fdep.imageio import image_size

    d = write_dataset(tmp_path, "cut", n=6, size=(64, 64))
    bad = d / "images" / "img1.png"
    truncate_png(bad)
    assert image_size(bad) == (64, 64)  # the header alone looks fine
    problems = [p for p in check_dataset(d) if p.severity == "error"]
    assert len(problems) == 1 and problems[0].kind == "unreadable" and str(bad) in problems[0].message
    assert main(["data", "check", str(d)]) == 1
    captured = capsys.readouterr()
    assert str(bad) in captured.out and "1 error(s)" in captured.err
    with pytest.raises(DataError, match="img1.png"):  # training and testing refuse it before any work
        load_dataset(d, split="train")
