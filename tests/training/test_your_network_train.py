"""fdep train with networks of your own: config keys, probability and deep-supervision outputs, DDP-free rebuilds."""

from __future__ import annotations

import textwrap

import pytest
import torch

from fdep.cli.main import main
from fdep.errors import ConfigError
from fdep.training.checkpoint import load_model_from_checkpoint, read_checkpoint
from fdep.training.config import TrainConfig

from ..run_helpers import TINY

NETS = textwrap.dedent("""
    import torch
    import torch.nn.functional as F
    from torch import nn


    class TwoHeads(nn.Module):
        # UIU-Net-style: sigmoid maps, the fused prediction first, a side map at half resolution
        def __init__(self, in_channels=1, width=4):
            super().__init__()
            self.enc = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
            self.deep = nn.Sequential(nn.Conv2d(width, 2 * width, 3, 2, 1), nn.BatchNorm2d(2 * width), nn.ReLU())
            self.side = nn.Conv2d(2 * width, 1, 1)
            self.head = nn.Conv2d(3 * width, 1, 1)

        def forward(self, x):
            e = self.enc(x)
            d = self.deep(e)
            u = F.interpolate(d, size=e.shape[-2:], mode="bilinear", align_corners=False)
            return torch.sigmoid(self.head(torch.cat([u, e], 1))), torch.sigmoid(self.side(d))
""")


def _args(flags: list[str]) -> list[str]:
    args = list(TINY)
    i = args.index("--model")
    del args[i:i + 2]
    return args + flags


def test_model_kwargs_from_json_and_yaml():
    assert TrainConfig.from_dict({"model_kwargs": '{"blocks": 2}'}).model_kwargs == {"blocks": 2}
    assert TrainConfig.from_dict({"model_kwargs": {"width": 8}}).model_kwargs == {"width": 8}
    with pytest.raises(ConfigError, match="model_kwargs: .* is not JSON"):
        TrainConfig.from_dict({"model_kwargs": "{width: 8}"})
    with pytest.raises(ConfigError, match="output_form: 'probs' is not one of logits, probability"):
        TrainConfig.from_dict({"output_form": "probs"})


def test_probability_network_with_side_map_trains_tests_and_rebuilds(tmp_path, tiny_data, monkeypatch, capsys):
    (tmp_path / "nets.py").write_text(NETS)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    # declared as logits, the sigmoid outputs are refused in one line before anything is written
    assert main(["train", "--data", str(tiny_data), "--out", str(out), "--epochs", "1", "--model", "nets.py:TwoHeads",
                 "--variant", "original", "--output-select", "0", *_args([])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "set output_form: probability" in err and not out.exists()
    assert main(["train", "--data", str(tiny_data), "--out", str(out), "--epochs", "1", "--model", "nets.py:TwoHeads",
                 "--model-kwargs", '{"width": 6}', "--variant", "original", "--output-select", "0",
                 "--output-form", "probability", *_args([])]) == 0
    ckpt = out / "checkpoints" / "last.ckpt"
    assert read_checkpoint(ckpt)["fdep"]["model_source"]["kind"] == "file"
    net, meta = load_model_from_checkpoint(ckpt)
    assert meta["model"] == "nets.py:TwoHeads" and net.user_module.enc[0].out_channels == 6
    assert net.deep_supervision  # the side map was trained too
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(torch.sigmoid(net(x)), net.user_module(x)[0], atol=1e-6, rtol=1e-5)
    assert main(["test", "--checkpoint", str(ckpt), "--data", str(tiny_data), "--quiet"]) == 0
    # the file changes: every rebuild says so in one line (resume, test), nothing is overwritten
    (tmp_path / "nets.py").write_text(NETS + "\n# edited after training\n")
    capsys.readouterr()
    before = ckpt.read_bytes()
    assert main(["train", "--resume", str(out), "--epochs", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "changed since training" in err and ckpt.read_bytes() == before
    assert main(["test", "--checkpoint", str(ckpt), "--data", str(tiny_data), "--quiet"]) == 2
    assert "nets.py changed since training" in capsys.readouterr().err
