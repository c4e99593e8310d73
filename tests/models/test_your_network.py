"""Networks defined outside fdep (files in tmp_path): specs, kwargs, output forms, and one-line errors."""

from __future__ import annotations

import textwrap

import pytest
import torch
from safetensors.torch import load_file

from fdep.cli.main import main
from fdep.errors import ModelError
from fdep.models import ExternalNetwork, OutputSpec, create_model, load_pretrained, save_pretrained
from fdep.models.probe import ends_in_sigmoid

COMMON = """
import torch
import torch.nn.functional as F
from torch import nn


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


class Net(nn.Module):
    def __init__(self, in_channels=1, width=4):
        super().__init__()
        self.enc = block(in_channels, width)
        self.deep = block(width, 2 * width)
        self.dec = block(3 * width, width)
        self.head = nn.Conv2d(width, 1, 1)
        self.side = nn.Conv2d(2 * width, 1, 1)

    def features(self, x):
        e = self.enc(x)
        d = self.deep(F.max_pool2d(e, 2))
        u = F.interpolate(d, size=e.shape[-2:], mode="bilinear", align_corners=False)
        return d, self.dec(torch.cat([u, e], 1))

    def forward(self, x):
        return self.head(self.features(x)[1])


def make_net(width=4):
    return Net(width=width)


class DeepSup(Net):
    # DNANet-style: a list of maps, the final one last, at every mode
    def forward(self, x):
        d, f = self.features(x)
        return [self.side(d), self.head(f)]


class Pair(Net):
    # (side_outputs, output)
    def forward(self, x):
        d, f = self.features(x)
        return [F.interpolate(self.side(d), size=x.shape[-2:])], self.head(f)


class Probs(Net):
    # UIU-Net-style: a tuple of sigmoid maps, the fused prediction first
    def forward(self, x):
        d, f = self.features(x)
        side = F.interpolate(self.side(d), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return torch.sigmoid(self.head(f)), torch.sigmoid(side)


class Loud(Net):
    # logits spread well beyond [0, 1]
    def forward(self, x):
        return 50 * self.head(self.features(x)[1])


class DictOut(Net):
    def forward(self, x):
        d, f = self.features(x)
        return {"aux": F.interpolate(self.side(d), size=x.shape[-2:]), "out": self.head(f)}


class NeedsSize(Net):
    def forward(self, x, size):
        return self.head(self.features(x)[1])


class Wrapped(nn.Module):
    # the few-line wrapper docs/your-network.md shows for a forward with extra arguments
    def __init__(self, **kwargs):
        super().__init__()
        self.net = NeedsSize(**kwargs)

    def forward(self, x):
        return self.net(x, x.shape[-2:])


class Broken(Net):
    def __init__(self, **kwargs):
        raise ValueError("width must be even")


NOT_A_MODULE = 3


class Plain:
    pass
"""


@pytest.fixture
def netfile(tmp_path):
    path = tmp_path / "user_nets" / "mynets.py"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(COMMON))
    return path


def _x(n=2, s=32):
    return torch.randn(n, 1, s, s, generator=torch.Generator().manual_seed(0))


def test_class_factory_and_kwargs(netfile):
    net = create_model(f"{netfile}:Net", width=6)
    assert isinstance(net, ExternalNetwork) and net.user_module.enc[0].out_channels == 6
    assert net.size_multiple == 2 and net.init_kwargs == {"width": 6}
    assert net.model_name == f"{netfile}:Net" and net.model_source["kind"] == "file"
    assert len(net.model_source["sha256"]) == 64
    fac = create_model(f"{netfile}:make_net", width=2)
    assert fac.user_module.enc[0].out_channels == 2
    out = net.eval()(_x())
    assert out.shape == (2, 1, 32, 32)
    torch.testing.assert_close(out, net.user_module(_x()))  # logits pass through untouched


def test_module_spec_without_the_folder_on_sys_path(netfile, monkeypatch):
    monkeypatch.syspath_prepend(str(netfile.parent))
    net = create_model("mynets:DeepSup")
    assert net.deep_supervision


def test_deep_supervision_list_and_pair(netfile):
    for name in ("DeepSup", "Pair"):
        net = create_model(f"{netfile}:{name}").train()
        out = net(_x())
        assert isinstance(out, list) and len(out) == 2 and all(t.shape == (2, 1, 32, 32) for t in out)
        net.eval()
        raw = net.user_module(_x())
        final = raw[-1] if name == "DeepSup" else raw[1]
        torch.testing.assert_close(net(_x()), final)  # the final map is the prediction
    with pytest.raises(ModelError, match="deep_supervision is true, but"):
        create_model(f"{netfile}:Net", outputs=OutputSpec(deep_supervision=True))
    off = create_model(f"{netfile}:DeepSup", outputs=OutputSpec(deep_supervision=False)).train()
    assert off(_x()).shape == (2, 1, 32, 32)


def test_probability_output_is_trained_on_its_own_probabilities(netfile):
    spec = f"{netfile}:Probs"
    with pytest.raises(ModelError, match=r"output '0'.*comes out of a sigmoid.*output_form: probability"):
        create_model(spec, outputs=OutputSpec(select="0"))
    net = create_model(spec, outputs=OutputSpec(select="0", form="probability")).eval()
    p = net.user_module(_x())[0]
    torch.testing.assert_close(torch.sigmoid(net(_x())), p, atol=1e-6, rtol=1e-5)  # logit(p) inverts the sigmoid
    # the BCE-with-logits the losses compute on logit(p) is the BCE on p itself, value and gradient
    target = (torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(1)) > 0.9).float()
    q = p.detach().clone().requires_grad_(True)
    a = torch.nn.functional.binary_cross_entropy_with_logits(torch.logit(q, eps=1e-6), target)
    r = q.detach().clone().requires_grad_(True)
    b = torch.nn.functional.binary_cross_entropy(r, target)
    a.backward(), b.backward()
    torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(q.grad, r.grad, atol=1e-7, rtol=1e-4)
    train = net.train()(_x())
    assert len(train) == 2  # the other sigmoid map is a side output


def test_probabilities_declared_for_logits_and_wrong_size_are_refused(netfile):
    with pytest.raises(ModelError, match="not probabilities; set output_form: logits"):
        create_model(f"{netfile}:Loud", outputs=OutputSpec(form="probability"))
    with pytest.raises(ModelError, match=r"output '0' has shape \(2, 1, 32, 32\) for a 2x1x64x64 input.*N x 1 x H x W"):
        create_model(f"{netfile}:DeepSup", outputs=OutputSpec(select="0"))  # the side map at stride 2
    with pytest.raises(ModelError, match="'aux' is not an index of a list of 2"):
        create_model(f"{netfile}:DeepSup", outputs=OutputSpec(select="aux"))


def test_dict_output_needs_a_key(netfile):
    with pytest.raises(ModelError, match="dict with several maps.*output_select"):
        create_model(f"{netfile}:DictOut")
    net = create_model(f"{netfile}:DictOut", outputs={"select": "out"}).eval()
    torch.testing.assert_close(net(_x()), net.user_module(_x())["out"])


def test_wrapped_forward_with_extra_arguments(netfile):
    with pytest.raises(ModelError, match="dry run.*failed.*size"):
        create_model(f"{netfile}:NeedsSize")
    net = create_model(f"{netfile}:Wrapped", width=4).eval()
    assert net(_x()).shape == (2, 1, 32, 32)


def test_saved_weights_load_into_the_users_class(netfile, tmp_path):
    net = create_model(f"{netfile}:Net", width=6)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1)
    save_pretrained(net, tmp_path / "light", mean=10.0, std=2.0)
    back = load_pretrained(tmp_path / "light")
    torch.testing.assert_close(back(_x()), net.eval()(_x()))
    import importlib.util

    spec = importlib.util.spec_from_file_location("mynets_again", netfile)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    own = mod.Net(width=6)
    own.load_state_dict(load_file(tmp_path / "light" / "model.safetensors"))  # strict: every key, no prefix
    torch.testing.assert_close(own.eval()(_x()), net(_x()))


def test_a_changed_file_is_refused_when_rebuilding(netfile, tmp_path):
    net = create_model(f"{netfile}:Net")
    save_pretrained(net, tmp_path / "light", mean=0.0, std=1.0)
    netfile.write_text(netfile.read_text() + "\n# edited\n")
    with pytest.raises(ModelError, match="changed since training.*restore the file"):
        load_pretrained(tmp_path / "light")
    netfile.unlink()
    with pytest.raises(ModelError, match="is gone; put it back"):
        load_pretrained(tmp_path / "light")


def test_ends_in_sigmoid_reads_the_graph():
    x = torch.randn(3, requires_grad=True)
    assert ends_in_sigmoid(torch.sigmoid(x).clamp(0, 1))
    assert ends_in_sigmoid(1 / (1 + torch.exp(-x)))
    assert not ends_in_sigmoid(x * 0.01 + 0.5)


@pytest.mark.parametrize("spec, message", [
    ("{dir}/nowhere.py:Net", "network file not found"),
    ("{file}:Nett", "has no 'Nett'.*did you mean Net"),
    ("{file}:NOT_A_MODULE", "not an nn.Module class or a factory"),
    ("{file}:Plain", "Plain is a class but not a torch.nn.Module"),
    ("{file}:Broken", "building model .* failed: ValueError: width must be even"),
    ("no_such_pkg_for_fdep.nets:Net", "cannot import module 'no_such_pkg_for_fdep'"),
])
def test_bad_specs_are_one_line_and_exit_2(netfile, spec, message, capsys):
    spec = spec.format(dir=netfile.parent, file=netfile)
    assert main(["models", "inspect", spec, "--size", "32"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert pytest.importorskip("re").search(message, err), err


def test_inspect_marks_the_deepest_feature(netfile, capsys):
    assert main(["models", "inspect", f"{netfile}:Net", "--model-kwargs", '{"width": 6}', "--size", "32"]) == 0
    out = capsys.readouterr().out
    assert "multiples of 2" in out and "deep  <- deepest encoder feature" in out
    assert "--fdep-at deep" in out
    line = next(v for v in out.splitlines() if v.startswith("deep "))
    assert line.split()[-2:] == ["12", "2"]  # channels 2 x width, stride 2
    assert main(["models", "inspect", f"{netfile}:Probs", "--size", "32"]) == 0
    assert "probability" in capsys.readouterr().out


def test_inspect_of_a_zoo_network_marks_its_encode_top(capsys):
    assert main(["models", "inspect", "acm", "--size", "64"]) == 0
    assert "deepest encoder feature: layer3 (the module returning encode(x).top)" in capsys.readouterr().out


def test_entry_point_networks_are_found_and_listed_with_their_origin(netfile, tmp_path, monkeypatch, capsys):
    site = tmp_path / "site"
    pkg = site / "fdep_test_nets"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(netfile.read_text())
    info = site / "fdep_test_nets-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fdep-test-nets\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text("[fdep.models]\nmy-unet = fdep_test_nets:Net\n")
    monkeypatch.syspath_prepend(str(site))
    net = create_model("my-unet", width=3)
    assert isinstance(net, ExternalNetwork) and net.model_source["kind"] == "entry-point"
    assert main(["models", "acm"]) == 0 and "entry points" not in capsys.readouterr().out
    from fdep.models import registry

    assert registry.is_known("my-unet") and not registry.is_model("my-unet")
    monkeypatch.setattr("fdep.models.profile.summarize_models", lambda *a, **k: [])  # the zoo table is not the point
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "my-unet  fdep_test_nets:Net (package fdep-test-nets 1.2)" in out


def test_the_mark_prefers_a_stage_to_layers_inside_later_u_blocks():
    from fdep.models.probe import LayerRecord, deepest_feature

    def rec(name, order, stride):
        return LayerRecord(name, "X", 1, order, (2, 8, 64 // stride, 64 // stride), "", leaf=False)

    # UIU-Net-like: stage6 at stride 32, then decoder stages whose inner U-block layers reach stride 32 again
    records = [rec("stage5", 1, 16), rec("stage6", 2, 32), rec("stage4d.rebnconv3", 3, 32), rec("stage4d", 4, 8)]
    assert deepest_feature(records, (64, 64)).name == "stage6"
    # a nested encoder: encoder.layer4 (the encoder itself returns a list, no candidate)
    records = [rec("encoder.layer3", 1, 16), rec("encoder.layer4.1", 2, 32), rec("encoder.layer4", 3, 32),
               rec("decoder", 4, 1)]
    assert deepest_feature(records, (64, 64)).name == "encoder.layer4"


def test_weights_folder_of_a_file_network_by_spec(netfile, tmp_path, capsys):
    spec = f"{netfile}:Net"
    net = create_model(spec, width=6)
    save_pretrained(net, tmp_path / "w", mean=0.0, std=1.0)
    back = create_model(spec, weights=str(tmp_path / "w"))  # the spec's case is kept (file names are not lowered)
    torch.testing.assert_close(back(_x()), net.eval()(_x()))
    with pytest.raises(ModelError, match="conflicting argument width=4"):
        create_model(spec, weights=str(tmp_path / "w"), width=4)
    img = tmp_path / "imgs"
    img.mkdir()
    from PIL import Image

    Image.fromarray((torch.rand(32, 32).numpy() * 255).astype("uint8")).save(img / "a.png")
    assert main(["predict", "--model", spec, "--weights", str(tmp_path / "w"), "--input", str(img), "--out",
                 str(tmp_path / "out"), "--quiet"]) == 0
