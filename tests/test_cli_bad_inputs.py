"""Odd inputs give one line and exit 2, never a traceback; output paths are checked before the work."""

from __future__ import annotations

import os
import struct
import zlib

import pytest
import torch

from fdep.cli.main import main


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    return err


def huge_png(path, w=20000, h=20000) -> None:
    """A PNG whose header claims w x h pixels (only the header is ever read)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * (w + 1)))
                     + chunk(b"IEND", b""))


def test_decompression_bomb_image_is_one_line(tmp_path, capsys):
    from fdep.errors import InputError
    from fdep.imageio import image_size, read_image

    big = tmp_path / "big.png"
    huge_png(big)
    for fn in (read_image, image_size):
        with pytest.raises(InputError, match="too large"):
            fn(big)
    ckpt = tmp_path / "missing.ckpt"  # predict reads its images before it needs the network
    assert main(["predict", "--checkpoint", str(ckpt), "--input", str(big), "--out", str(tmp_path / "o")]) == 2
    assert "big.png" in _err(capsys)


@pytest.fixture
def demo(tmp_path):
    from fdep.metrics.demo import write_demo

    return write_demo(tmp_path / "demo", n=3, size=32, seed=0)


def test_evaluate_json_paths_checked_before_the_evaluation(demo, tmp_path, capsys, monkeypatch):
    import fdep.metrics.files as files

    def no_work(*a, **k):
        raise AssertionError("the evaluation ran before the output path was checked")

    monkeypatch.setattr(files, "evaluate_files", no_work)
    pred, gt = demo
    folder = tmp_path / "adir"
    folder.mkdir()
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt), "--json", str(folder)]) == 2
    assert "is a folder" in _err(capsys)
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt), "--curves", str(folder)]) == 2
    assert "is a folder" in _err(capsys)
    (tmp_path / "afile").write_text("x")
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt), "--json", str(tmp_path / "afile" / "x.json")]) == 2
    assert "is a file" in _err(capsys)
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        assert main(["evaluate", "--pred", str(pred), "--gt", str(gt), "--json", str(ro / "x.json")]) == 2
        assert "permission" in _err(capsys)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_crafted_checkpoint_is_refused_as_unsafe(tiny_data, tmp_path, capsys):
    bad = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}, "x": Evil()}, bad)
    for cmd in (["test", "--checkpoint", str(bad), "--data", str(tiny_data), "--quiet"],
                ["predict", "--checkpoint", str(bad), "--input", str(tiny_data / "images"),
                 "--out", str(tmp_path / "p")]):
        assert main(cmd) == 2
        err = _err(capsys)
        assert "not a safe fdep checkpoint" in err and "GLOBAL" in err, err
        assert "weights_only" not in err and "False" not in err and len(err) < 300, err
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    assert main(["test", "--checkpoint", str(junk), "--data", str(tiny_data), "--quiet"]) == 2
    err = _err(capsys)
    assert "cannot read checkpoint" in err and "weights_only" not in err and "safe" not in err, err


def test_pickled_hf_pytorch_model_bin_is_one_line(tiny_data, tmp_path, capsys):
    from transformers import Dinov2Config, Dinov2Model

    cfg = Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                       image_size=70, patch_size=14)
    folder = tmp_path / "hf"
    folder.mkdir()
    cfg.save_pretrained(folder)
    model = Dinov2Model(cfg)
    torch.save({"model": model, **model.state_dict()}, folder / "pytorch_model.bin")
    assert main(["vfm", "cache", "--data", str(tiny_data), "--vfm", str(folder), "--out", str(tmp_path / "c")]) == 2
    err = _err(capsys)
    assert "pytorch_model.bin is not a safe weights file" in err and "model.safetensors" in err, err
