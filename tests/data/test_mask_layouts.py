"""Mask layouts of the published releases: SIRST-v1's ``<id>_pixels0.png``, a ``labels/`` folder,
``.tif``/``.jpg`` masks; an unreadable layout is one line saying what was found and what is expected."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fdep.data import check_dataset, load_dataset
from fdep.errors import DataError

from .builders import write_dataset


def _rename_masks(d, rename):
    for p in sorted((d / "masks").iterdir()):
        new = rename(p)
        new.parent.mkdir(exist_ok=True)
        if new.suffix.lower() == p.suffix.lower():
            p.rename(new)
        else:
            Image.open(p).save(new)
            p.unlink()


def _reference(tmp_path):
    ref = write_dataset(tmp_path / "ref", "toy", n=6)
    return [m.numpy() for m in (load_dataset(ref, "test")[k]["mask"] for k in range(3))]


@pytest.mark.parametrize("layout", ["pixels0", "labels", "tif", "jpg", "labels_pixels0_tif"])
def test_release_layouts_read_like_basicirstd(tmp_path, layout):
    d = write_dataset(tmp_path, "toy", n=6)
    if layout == "pixels0":
        _rename_masks(d, lambda p: p.with_name(f"{p.stem}_pixels0.png"))
    elif layout == "labels":
        (d / "masks").rename(d / "labels")
    elif layout == "tif":
        _rename_masks(d, lambda p: p.with_suffix(".tif"))
    elif layout == "jpg":
        _rename_masks(d, lambda p: p.with_suffix(".jpg"))
    else:
        _rename_masks(d, lambda p: p.with_name(f"{p.stem}_pixels0.tif"))
        (d / "masks").rename(d / "Labels")
    assert [p for p in check_dataset(d) if p.severity == "error"] == []
    ds = load_dataset(d, "test")
    masks = [ds[k]["mask"].numpy() for k in range(len(ds))]
    for got, want in zip(masks, _reference(tmp_path), strict=True):
        np.testing.assert_array_equal(got, want)


def test_unpaired_masks_are_one_error_naming_both_sides(tmp_path):
    d = write_dataset(tmp_path, "toy", n=6)
    _rename_masks(d, lambda p: p.with_name(f"gt_{p.stem}.png"))
    problems = [p for p in check_dataset(d) if p.severity == "error"]
    assert len(problems) == 1  # not one "no mask" error per image
    msg = problems[0].message
    assert "none is named after an image" in msg and "gt_img0.png" in msg and "_pixels0" in msg
    with pytest.raises(DataError, match="none is named after an image"):
        load_dataset(d, "test")


def test_masks_of_an_unknown_format_are_named(tmp_path):
    d = write_dataset(tmp_path, "toy", n=4)
    _rename_masks(d, lambda p: p.with_suffix(".gif"))
    with pytest.raises(DataError, match=r"no mask file \(e\.g\. img0\.gif\).*expected masks/ or labels/"):
        load_dataset(d, "test")


def test_no_masks_folder_names_what_is_there(tmp_path):
    d = write_dataset(tmp_path, "toy", n=4)
    (d / "masks").rename(d / "annotations")
    with pytest.raises(DataError, match=r"no masks folder beside images/ \(found annotations/, images/, img_idx/"):
        load_dataset(d, "test")


def test_evaluate_reads_pixels0_gt_folder(tmp_path):
    from fdep.metrics.files import evaluate_files, pair_files

    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir(), pred.mkdir()
    m = np.zeros((16, 16), np.uint8)
    m[5:7, 5:7] = 255
    Image.fromarray(m).save(gt / "Misc_1_pixels0.png")
    Image.fromarray(m).save(pred / "Misc_1.png")
    res = evaluate_files(pair_files(pred, gt))
    assert res["n_targets"] == 1 and res["pd"] == 1.0
