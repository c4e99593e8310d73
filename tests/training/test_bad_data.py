"""Bad data in training: named in one line, at the start when the file is already damaged, and when
a DataLoader worker meets it later (PyTorch re-raises a worker's error with its whole traceback)."""

from __future__ import annotations

import shutil

from fdep.cli.main import main
from tests.data.test_data_validate import truncate_png
from tests.run_helpers import train_args


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    return err


def _damaged_copy(tiny_data, tmp_path):
    data = tmp_path / "tiny"
    shutil.copytree(tiny_data, data)
    first = (data / "img_idx" / "train_tiny.txt").read_text().split()[0]
    bad = data / "images" / f"{first}.png"
    truncate_png(bad, keep=0.3)
    return data, bad


def test_truncated_training_image_refused_before_training(tiny_data, tmp_path, capsys):
    data, bad = _damaged_copy(tiny_data, tmp_path)
    out = tmp_path / "run"
    assert main(train_args(data, out, "--variant", "original", epochs=1)) == 2
    assert str(bad) in _one_line(capsys)
    assert not out.exists()  # nothing written, nothing to block the rerun


def test_image_damaged_after_the_start_is_one_line_from_a_worker(tiny_data, tmp_path, capsys, monkeypatch):
    import fdep.data.dataset as dataset

    data, bad = _damaged_copy(tiny_data, tmp_path)
    monkeypatch.setattr(dataset, "check_files", lambda *a, **k: [])  # as if it broke after the check
    out = tmp_path / "run"
    args = train_args(data, out, "--variant", "original", "--export-light", "false", epochs=1)
    assert main([*args, "--num-workers", "1"]) == 2
    err = _one_line(capsys)
    assert str(bad) in err and "cannot read image" in err and "DataLoader worker" not in err
