"""Outputs that cannot be written: an impossible --out is refused before any work, and a full disk
(simulated in-process: the write raises ENOSPC) gives one line naming the file, a non-zero exit, no
traceback, and leaves the earlier good output in place."""

from __future__ import annotations

import errno
import json
import os

import pytest
import torch

from fdep.cli.main import main
from tests.run_helpers import train_args


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    return err


def _no_work(*a, **k):
    raise AssertionError("the work started before the output was checked")


@pytest.fixture
def a_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("mine")
    return f


# ------------------------------------------------------------------ --out under a file: refused before any work
def test_train_out_under_a_file(tiny_data, a_file, capsys, monkeypatch):
    import fdep.training.train as train

    monkeypatch.setattr(train, "_train", _no_work)
    assert main(train_args(tiny_data, a_file / "run", epochs=1)) == 2
    assert "is a file" in _one_line(capsys) and a_file.read_text() == "mine"


def test_test_out_under_a_file(tiny_data, a_file, capsys, monkeypatch):
    import fdep.data as data

    monkeypatch.setattr(data, "load_dataset", _no_work)
    assert main(["test", "--model", "mpcm", "--data", str(tiny_data), "--out", str(a_file / "t"), "--quiet"]) == 2
    assert "is a file" in _one_line(capsys)


def test_predict_out_under_a_file(tiny_data, a_file, capsys, monkeypatch):
    import fdep.tools.predict as predict

    monkeypatch.setattr(predict, "read_image", _no_work)
    assert main(["predict", "--model", "mpcm", "--input", str(tiny_data / "images"), "--out", str(a_file / "p")]) == 2
    assert "is a file" in _one_line(capsys)


def test_data_synth_and_prepare_out_under_a_file(tiny_data, a_file, capsys, monkeypatch):
    import fdep.data.prepare as prepare
    import fdep.data.synthetic as synthetic

    monkeypatch.setattr(synthetic, "synth_images", _no_work)
    assert main(["data", "synth", "--n", "2", "--size", "32", "--out", str(a_file / "d")]) == 2
    assert "is a file" in _one_line(capsys)
    monkeypatch.setattr(prepare, "_build", _no_work)
    monkeypatch.setattr(prepare, "sha256_file", _no_work)
    assert main(["data", "prepare", "NUAA-SIRST", "--from", str(tiny_data), "--root", str(a_file / "r")]) == 2
    assert "is a file" in _one_line(capsys)


def test_export_outputs_checked_before_loading_and_exporting(tmp_path, a_file, capsys, monkeypatch):
    import fdep.tools.export as export

    monkeypatch.setattr(export, "load_for_export", _no_work)
    ckpt = tmp_path / "some.ckpt"
    ckpt.write_bytes(b"x")
    good = tmp_path / "ok.onnx"
    assert main(["export", "--checkpoint", str(ckpt), "--onnx", str(good), "--torchscript",
                 str(a_file / "net.pt")]) == 2
    assert "net.pt" in _one_line(capsys) and not good.exists()


# ------------------------------------------------------------------ disk full
def _enospc(*a, **k):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_train_disk_full_on_a_checkpoint_keeps_the_previous_one(tiny_data, tmp_path, capsys, monkeypatch):
    from fdep.training.checkpoint import finished_epochs, read_checkpoint

    real, calls = torch.save, []

    def save(obj, f, *a, **k):
        calls.append(1)
        if len(calls) > 2:  # epoch 1's best.ckpt and last.ckpt are written, then the disk is full
            f.write(b"partial")
            raise RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing "
                               "file data/0: file write failed")
        return real(obj, f, *a, **k)

    monkeypatch.setattr(torch, "save", save)
    out = tmp_path / "run"
    assert main(train_args(tiny_data, out, "--variant", "original", "--export-light", "false", epochs=3)) == 1
    err = _one_line(capsys)
    assert "checkpoints" in err and ".ckpt: cannot write" in err and "disk" in err, err
    monkeypatch.undo()
    last = out / "checkpoints" / "last.ckpt"
    assert finished_epochs(read_checkpoint(last)) == 1  # the good checkpoint was not replaced by a partial one
    assert not list(last.parent.glob(".*.tmp")) and not (out / ".fdep.lock").exists()


@pytest.fixture
def good_test(tiny_data, tmp_path):
    out = tmp_path / "t"
    assert main(["test", "--model", "mpcm", "--data", str(tiny_data), "--out", str(out), "--quiet"]) == 0
    return out


def test_test_disk_full_leaves_the_earlier_results_in_place(good_test, tiny_data, capsys, monkeypatch):
    import fdep.imageio as imageio

    before = {p.relative_to(good_test): p.read_bytes() for p in good_test.rglob("*") if p.is_file()}
    capsys.readouterr()
    real, calls = imageio.Image.Image.save, []

    def save(self, *a, **k):
        calls.append(1)
        if len(calls) > 2:
            _enospc()
        return real(self, *a, **k)

    monkeypatch.setattr(imageio.Image.Image, "save", save)
    assert main(["test", "--model", "mpcm", "--data", str(tiny_data), "--out", str(good_test), "--overwrite",
                 "--quiet"]) == 1
    err = _one_line(capsys)
    assert str(good_test) in err and "No space left on device" in err
    after = {p.relative_to(good_test): p.read_bytes() for p in good_test.rglob("*") if p.is_file()}
    assert after == before  # neither moved aside nor mixed with a partial run
    assert sorted(p.name for p in good_test.parent.iterdir()) == ["t"]  # no work folder, no t.old-*


def test_predict_disk_full_is_one_line_naming_the_file(tiny_data, tmp_path, capsys, monkeypatch):
    import fdep.imageio as imageio

    def short_write(self, *a, **k):
        raise OSError("4096 requested and 2016 written")

    monkeypatch.setattr(imageio.Image.Image, "save", short_write)
    out = tmp_path / "p"
    assert main(["predict", "--model", "mpcm", "--input", str(tiny_data / "images"), "--out", str(out)]) == 1
    err = _one_line(capsys)
    assert f"{out / 'probs'}" in err and ".png: cannot write (4096 requested and 2016 written)" in err
    assert not [p for p in out.rglob("*") if p.is_file()]  # no partial PNG


def test_evaluate_disk_full_keeps_the_earlier_json(tmp_path, capsys, monkeypatch):
    from fdep.metrics.demo import write_demo

    pred, gt = write_demo(tmp_path / "demo", n=3, size=32, seed=0)
    js = tmp_path / "scores.json"
    js.write_text('{"good": 1}')
    monkeypatch.setattr(os, "fsync", _enospc)
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt), "--json", str(js), "--force"]) == 1
    err = _one_line(capsys)
    assert f"{js}: cannot write (No space left on device)" in err
    assert json.loads(js.read_text()) == {"good": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "scores.json"]


def test_predict_overwrite_that_fails_leaves_the_earlier_outputs_as_they_were(tiny_data, tmp_path, capsys,
                                                                             monkeypatch):
    """--overwrite builds the new outputs beside OUT and swaps them in only when complete: a full disk halfway
    leaves OUT exactly as it was (no new file next to old ones); a complete one moves the earlier OUT aside."""
    import fdep.imageio as imageio

    out = tmp_path / "p"
    args = ["predict", "--model", "mpcm", "--input", str(tiny_data / "images"), "--out", str(out), "--quiet"]
    assert main(args) == 0
    (out / "notes.txt").write_text("mine")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    real, calls = imageio.Image.Image.save, []

    def save(self, *a, **k):
        calls.append(1)
        if len(calls) > 3:
            _enospc()
        return real(self, *a, **k)

    monkeypatch.setattr(imageio.Image.Image, "save", save)
    assert main(args + ["--overwrite", "--threshold", "0.2"]) == 1
    err = _one_line(capsys)
    assert f"{out}{os.sep}" in err and ".png: cannot write (No space left on device)" in err, err
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]  # no work folder, nothing moved aside
    monkeypatch.setattr(imageio.Image.Image, "save", real)
    assert main(args + ["--overwrite", "--threshold", "0.2"]) == 0
    assert json.loads((out / "targets.json").read_text())["threshold"] == 0.2 and not (out / "notes.txt").exists()
    (old,) = [p for p in tmp_path.iterdir() if p.name.startswith("p.old-")]
    assert {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()} == before


def test_data_synth_image_writer_failing_is_one_line(tmp_path, capsys, monkeypatch):
    """cv2.imwrite reports a full disk by returning False, not by raising: still one line naming the file, exit 1,
    and no half-made dataset (nor its temporary folder) left."""
    import fdep.data.synthetic as synthetic

    real, calls = synthetic.cv2.imwrite, []

    def imwrite(path, image, *a):
        calls.append(path)
        return False if len(calls) == 4 else real(path, image, *a)  # the second image's mask

    monkeypatch.setattr(synthetic.cv2, "imwrite", imwrite)
    assert main(["data", "synth", "--n", "3", "--size", "32", "--out", str(tmp_path / "d")]) == 1
    err = _one_line(capsys)
    assert f"{tmp_path / 'd' / 'synthetic' / 'masks' / 'synth_00001.png'}: cannot write" in err, err
    assert list((tmp_path / "d").iterdir()) == []


def test_save_pretrained_on_a_full_disk_is_one_output_error_naming_the_file(tmp_path, monkeypatch):
    """safetensors reports a full disk as its own SafetensorError, not an OSError (the light/ export at the end
    of fdep train, fdep export --hub): it becomes the one-line OutputError, and no temporary is left."""
    from safetensors import SafetensorError

    import fdep.models.pretrained as pretrained
    from fdep.errors import OutputError
    from fdep.models import create_model

    def full(*a, **k):
        raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No '
                              'space left on device" })')

    monkeypatch.setattr(pretrained, "save_file", full)
    with pytest.raises(OutputError) as e:
        pretrained.save_pretrained(create_model("acm", in_chans=1), tmp_path / "light", mean=1.0, std=2.0)
    assert str(e.value) == f"{tmp_path / 'light' / 'model.safetensors'}: cannot write (No space left on device)"
    assert list((tmp_path / "light").iterdir()) == []


def test_train_tensorboard_write_failing_is_one_line(tiny_data, tmp_path, capsys, monkeypatch):
    """TensorBoard's event file is written from a background thread: a full disk there is one line naming
    RUN/tensorboard, exit 1, without the thread's traceback."""
    from tensorboard.summary.writer.record_writer import RecordWriter

    monkeypatch.setattr(RecordWriter, "write", _enospc)
    out = tmp_path / "run"
    assert main(train_args(tiny_data, out, "--variant", "original", "--export-light", "false", epochs=1)) == 1
    err = _one_line(capsys)
    assert f"{out / 'tensorboard'}: cannot write (No space left on device)" in err, err
    assert not (out / ".fdep.lock").exists()
