"""docs/your-network.md, run as written: its network file, then every command of its run blocks, in order."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from fdep.cli.main import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "your-network.md"


def blocks(text: str) -> list[tuple[str, str, str]]:
    """(marker, language, body) of every fenced block preceded by an HTML comment marker."""
    return re.findall(r"<!-- (.+?) -->\n```(\w+)\n(.*?)```", text, flags=re.S)


def test_the_tutorial_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # its last step imports my_unet as the user would
    found = blocks(DOC.read_text())
    files = [(m, body) for m, lang, body in found if m.startswith("file:")]
    assert [m for m, _ in files] == ["file: my_unet.py"]
    for marker, body in files:
        (tmp_path / marker.split(":", 1)[1].strip()).write_text(body)
    ran = []
    for marker, lang, body in found:
        if marker != "run":
            continue
        if lang == "python":
            exec(compile(body, "docs/your-network.md", "exec"), {})
            ran.append("python")
            continue
        for line in body.strip().splitlines():
            argv = shlex.split(line)
            assert argv[0] == "fdep", line
            assert main(argv[1:]) == 0, f"{line}\n{capsys.readouterr().err}"
            ran.append(argv[1])
    assert ran == ["data", "models", "train", "train", "test", "predict", "export", "python"]
    out = capsys.readouterr().out
    assert "middle  <- deepest encoder feature" in out and "multiples of 8" in out
    assert (tmp_path / "unet.onnx").is_file() and (tmp_path / "runs/unet-fdep/light/model.safetensors").is_file()
    sys.modules.pop("my_unet", None)


@pytest.mark.parametrize("bad, message", [
    (["--fdep-at", "midle"], r"fdep_at: .*has no submodule 'midle'; closest: middle"),
    (["--fdep-at", "stats"], r"fdep_at: 'stats' of .* returns tensor 2x16, not an N x C x H x W feature map"),
    (["--fdep-at", "act"], r"fdep_at: 'act' of .* runs 3 times per forward pass"),
])
def test_bad_fdep_at_is_one_line_and_exit_2_before_anything_is_written(tmp_path, monkeypatch, capsys, bad, message,
                                                                       tiny_vfm):
    (tmp_path / "gated.py").write_text(
        "import torch\nfrom torch import nn\n\n"
        "class Gated(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.enc = nn.Conv2d(1, 8, 3, 2, 1)\n"
        "        self.middle = nn.Conv2d(8, 16, 3, 2, 1)\n"
        "        self.stats = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())\n"
        "        self.act = nn.ReLU()\n"
        "        self.head = nn.Conv2d(16, 1, 1)\n"
        "    def forward(self, x):\n"
        "        m = self.act(self.middle(self.act(self.enc(x))))\n"
        "        m = m * torch.sigmoid(self.stats(m))[:, :, None, None]\n"
        "        return nn.functional.interpolate(self.head(self.act(m)), size=x.shape[-2:])\n")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    rc = main(["train", "--model", "gated.py:Gated", "--variant", "fdep", "--vfm", str(tiny_vfm), "--data",
               "synthetic", "--out", str(out), "--epochs", "1", "--crop", "64", "--quiet", *bad])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and re.search(message, err), err
    assert not out.exists()
