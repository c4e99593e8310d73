"""Settings no run can use are refused in one line before anything is written, and a run that failed
before its first checkpoint leaves nothing that blocks the corrected rerun."""

from __future__ import annotations

import os

import pytest
import torch

from fdep.cli.main import main
from tests.run_helpers import train_args

CORES = os.cpu_count() or 1


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    return err


@pytest.mark.parametrize(("flags", "says"), [
    pytest.param(["--accelerator", "gpu"], "accelerator: 'gpu' asks for a CUDA GPU",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")),
    (["--accelerator", "abacus"], "accelerator: 'abacus' is not one of"),
    (["--precision", "8-true"], "precision: '8-true' is not one of"),
    (["--strategy", "foo"], "strategy: 'foo' is not one of"),
    (["--lr", "nan"], "lr: must be a finite number"),
    (["--std", "inf"], "std: must be a finite number"),
    (["--devices", str(CORES + 3)], f"devices: '{CORES + 3}' asks for {CORES + 3} devices, but this machine has "
                                    f"{CORES} CPU core(s)"),
    (["--devices", "two"], "devices: cannot use 'two'"),
    (["--crop", "63"], "crop: 63 is not a multiple of 32, which acm needs; use a crop that is a multiple of 32"),
])
def test_unusable_setting_is_one_line_before_any_output(tiny_data, tmp_path, capsys, flags, says):
    out = tmp_path / "run"
    # the flags come last: they override TINY's own --accelerator/--devices/--crop
    assert main([*train_args(tiny_data, out, epochs=1), *flags]) == 2
    assert says in _one_line(capsys)
    assert not out.exists()


def test_refused_by_lightning_after_config_yaml_then_the_corrected_rerun_runs(tiny_data, tmp_path, capsys):
    """mps is a known accelerator name, refused by Lightning itself on this machine once fdep has written
    config.yaml; the failed start must not leave that file to refuse the rerun as "not empty"."""
    from lightning.pytorch.accelerators import MPSAccelerator

    if MPSAccelerator.is_available():  # pragma: no cover - an Apple machine
        pytest.skip("mps is available here")
    out = tmp_path / "run"
    args = train_args(tiny_data, out, "--variant", "original", "--export-light", "false", epochs=1)
    assert main([*args, "--accelerator", "mps"]) == 2
    assert "mps" in _one_line(capsys).lower()
    assert not out.exists()
    assert main(args) == 0
    assert (out / "checkpoints" / "last.ckpt").is_file()


def test_failed_overwrite_start_restores_the_earlier_run(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    args = train_args(tiny_data, out, "--variant", "original", "--export-light", "false", epochs=1)
    assert main([*args, "--accelerator", "mps", "--overwrite"]) == 2
    _one_line(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # put back, nothing of the failed run in it
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_val_batch_size_over_images_of_mixed_sizes_is_one_line_before_training(tiny_data, tmp_path, capsys):
    """Issue 26 §4: `--val-batch-size 4` over validation images of two sizes failed in torch.stack after the
    first epoch; the image headers are checked when the data is set up, before any training step."""
    import shutil

    from fdep.imageio import read_image, read_mask, write_image_png, write_mask_png

    data = tmp_path / "mixed" / "tiny"
    shutil.copytree(tiny_data, data)
    ids = (data / "img_idx" / "test_tiny.txt").read_text().split()
    odd = ids[1]
    img = next((data / "images").glob(f"{odd}.*"))
    mask = next((data / "masks").glob(f"{odd}.*"))
    write_image_png(img, read_image(img)[:, :48].astype("uint8"))
    write_mask_png(mask, read_mask(mask)[:, :48] > 0)
    out = tmp_path / "run"
    assert main(train_args(data, out, "--variant", "original", "--val-split", "test", "--val-batch-size", "4",
                            epochs=1)) == 2
    err = _one_line(capsys)
    assert "val_batch_size: 4, but the validation images differ in size" in err and "64 x 48" in err
    assert "--val-batch-size 1" in err
    assert not (out / "checkpoints" / "last.ckpt").exists()
    # the same data with val_batch_size 1 trains
    assert main(train_args(data, tmp_path / "run1", "--variant", "original", "--val-split", "test",
                            "--export-light", "false", epochs=1)) == 0
