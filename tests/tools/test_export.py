"""fdep export: ONNX (dynamic H/W, metadata, both exporters), TorchScript, predict from ONNX, errors."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from fdep.cli.main import main
from fdep.errors import InputError, ModelError, OutputExistsError, WeightsError
from fdep.imageio import read_prob_map
from fdep.tools.export import export_onnx, export_torchscript, run_export
from fdep.tools.inference import load_predictor
from fdep.tools.predict import run_predict

from ._tools_helpers import (
    MEAN,
    STD,
    ToolsTinyNet,
    mixed_images,
    random_net,
    save_net,
    tiny_registered,  # noqa: F401 (autouse fixture)
)

META = dict(model="tools_tiny", variant="original", in_chans=1, mean=MEAN, std=STD, size_multiple=32)


def _ort(path, x):
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x.numpy()})[0]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One net exported once through the CLI (auto exporter) with ONNX and TorchScript."""
    tmp = tmp_path_factory.mktemp("export")
    net = random_net(3)
    folder = save_net(net, tmp / "net")
    code = main(["export", "--checkpoint", str(folder), "--onnx", str(tmp / "m.onnx"),
                 "--torchscript", str(tmp / "m.pt")])
    assert code == 0
    return net, folder, tmp


def test_onnx_matches_pytorch_on_other_sizes(exported):
    net, _, tmp = exported
    for shape in [(1, 1, 32, 32), (3, 1, 96, 160)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            ref = net(x).numpy()
        np.testing.assert_allclose(_ort(tmp / "m.onnx", x), ref, atol=1e-4, rtol=1e-4)


def test_onnx_records_preprocessing(exported):
    _, _, tmp = exported
    props = {p.key: json.loads(p.value) for p in onnx.load(str(tmp / "m.onnx")).metadata_props}
    assert props["mean"] == MEAN and props["std"] == STD and props["size_multiple"] == 32
    assert props["in_chans"] == 1 and props["model"] == "tools_tiny"
    dims = onnx.load(str(tmp / "m.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert all(d.dim_param for i, d in enumerate(dims) if i != 1)  # N, H, W symbolic


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_torchscript_matches_pytorch(exported):
    net, _, tmp = exported
    extra = {"fdep_meta.json": ""}
    ts = torch.jit.load(str(tmp / "m.pt"), _extra_files=extra)
    assert json.loads(extra["fdep_meta.json"])["std"] == STD
    x = torch.randn(2, 1, 64, 128)
    with torch.no_grad():
        np.testing.assert_allclose(ts(x).numpy(), net(x).numpy(), atol=1e-5)


def test_predict_from_onnx_equals_pytorch(exported, tmp_path):
    _, folder, tmp = exported
    gray = mixed_images(tmp_path / "in")
    run_predict(folder, tmp_path / "in", tmp_path / "torch")
    run_predict(tmp / "m.onnx", tmp_path / "in", tmp_path / "onnx")
    for stem in gray:
        a = read_prob_map(tmp_path / "torch" / "probs" / f"{stem}.png")
        b = read_prob_map(tmp_path / "onnx" / "probs" / f"{stem}.png")
        np.testing.assert_allclose(a, b, atol=3 / 65535)
    ja = json.loads((tmp_path / "torch" / "targets.json").read_text())
    jb = json.loads((tmp_path / "onnx" / "targets.json").read_text())
    assert [len(e["targets"]) for e in ja["images"]] == [len(e["targets"]) for e in jb["images"]]


def test_legacy_exporter_and_summary(tmp_path):
    net = random_net(4)
    s = export_onnx(net, META, tmp_path / "l.onnx", exporter="legacy")
    assert s["exporter"] == "legacy" and s["max_abs_error"] < 1e-4
    assert s["checked_shapes"][0][2:] != s["checked_shapes"][1][2:]  # two sizes checked
    x = torch.randn(1, 1, 64, 32)
    with torch.no_grad():
        np.testing.assert_allclose(_ort(tmp_path / "l.onnx", x), net(x).numpy(), atol=1e-4)
    assert load_predictor(tmp_path / "l.onnx").std == STD


class _WithBN(ToolsTinyNet):
    """BatchNorm with non-trivial running statistics: train and eval outputs differ."""

    def __init__(self, in_chans: int = 1) -> None:
        super().__init__(in_chans)
        self.bn = torch.nn.BatchNorm2d(in_chans)
        self.bn.running_mean.fill_(0.5)
        self.bn.running_var.fill_(4.0)

    def forward(self, x):
        return super().forward(self.bn(x))


@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
def test_export_keeps_eval_mode(tmp_path, exporter):
    torch.manual_seed(0)
    net = _WithBN().eval()
    x = torch.randn(2, 1, 32, 64)
    with torch.no_grad():
        before = net(x)
    export_onnx(net, META, tmp_path / "bn.onnx", exporter=exporter)
    assert not any(m.training for m in net.modules())
    with torch.no_grad():
        np.testing.assert_allclose(net(x).numpy(), before.numpy(), atol=1e-6)
    np.testing.assert_allclose(_ort(tmp_path / "bn.onnx", x), before.numpy(), atol=1e-4)
    # the file is self-contained: no hidden external-data file (.bn.<random>.tmp.onnx.data) is left beside it
    assert [p.name for p in tmp_path.iterdir()] == ["bn.onnx"]


class _Noisy(ToolsTinyNet):
    """Output depends on fresh random numbers: no export can match PyTorch."""

    def forward(self, x):
        return super().forward(x) + torch.rand_like(x)


@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
def test_mismatch_is_reported_and_no_file_left(tmp_path, exporter):
    torch.manual_seed(0)
    net = _Noisy().eval()
    with pytest.raises(ModelError, match="export check failed"):
        export_onnx(net, META, tmp_path / "n.onnx", exporter=exporter)
    assert not list(tmp_path.iterdir())
    with pytest.raises(ModelError, match="TorchScript export check failed"):
        export_torchscript(net, META, tmp_path / "n.pt")
    assert not list(tmp_path.iterdir())


def test_export_errors(tmp_path, exported, capsys):
    _, folder, tmp = exported
    with pytest.raises(OutputExistsError, match="m.onnx"):
        run_export(folder, onnx=tmp / "m.onnx")
    with pytest.raises(InputError, match="nothing to export"):
        run_export(folder)
    with pytest.raises(WeightsError, match="nope.ckpt"):
        run_export(tmp_path / "nope.ckpt", onnx=tmp_path / "x.onnx")
    pytest.importorskip("fdep.training.checkpoint", reason="reading .ckpt files needs the training engine")
    (tmp_path / "bad.ckpt").write_bytes(b"\x00" * 10)
    code = main(["export", "--checkpoint", str(tmp_path / "bad.ckpt"), "--onnx", str(tmp_path / "x.onnx")])
    err = capsys.readouterr().err
    assert code != 0 and "bad.ckpt" in err and "Traceback" not in err
    assert not (tmp_path / "x.onnx").exists()
    with pytest.raises(InputError, match="already an ONNX"):
        run_export(tmp / "m.onnx", onnx=tmp_path / "y.onnx")
