"""The output prior (fdep.training.prior): each output starts at the asked mean probability, found by measurement."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from fdep.training.config import TrainConfig
from fdep.training.prior import apply_output_prior, output_maps, shift_to_mean_probability


class Plain(nn.Module):
    """conv-bn-relu, then a 1x1 head and a bilinear upsampling (linear and constant-preserving)."""

    def __init__(self, in_chans=1):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(in_chans, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.Conv2d(8, 1, 3, padding=1), nn.Sigmoid())  # a 1-channel attention conv
        self.feat = nn.Conv2d(in_chans, 8, 3, stride=2, padding=1)
        self.head = nn.Conv2d(8, 1, 1)

    def forward(self, x):
        attn = self.body(x)
        y = self.head(torch.relu(self.feat(x * attn)))
        return nn.functional.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)


class DeepSupervision(nn.Module):
    """Two side outputs and a fused output built from them (UIU-Net's shape), as a list in training mode."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 4, 3, padding=1)
        self.side1, self.side2 = nn.Conv2d(4, 1, 1), nn.Conv2d(4, 1, 3, padding=1)
        self.fuse = nn.Conv2d(2, 1, 1)

    def forward(self, x):
        f = torch.relu(self.a(x))
        s1, s2 = self.side1(f), self.side2(f)
        fused = self.fuse(torch.cat([s1, s2], 1))
        return [s1, s2, fused] if self.training else fused


class NormalisedHead(nn.Module):
    """The last convolution is followed by a BatchNorm: no bias of it can move the output."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x):
        return self.bn(self.conv(x))


class ProbabilityHead(nn.Module):
    """Returns a dict with probabilities after a sigmoid (as some toolboxes' networks do)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.out = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        return {"features": torch.relu(self.conv(x)), "prob": torch.sigmoid(self.out(torch.relu(self.conv(x))))}


def _mean_p(net, x, probabilities=False, index=-1):
    net.train()
    with torch.no_grad():
        maps = output_maps(net(x))
    m = maps[index]
    return float((m if probabilities else torch.sigmoid(m)).mean())


def test_plain_network_starts_at_the_prior_and_only_the_head_bias_changes():
    torch.manual_seed(0)
    net = Plain()
    before = copy.deepcopy(net.state_dict())
    result = apply_output_prior(net, 0.01, in_chans=1, size_multiple=32, align=False)
    assert result.heads == ("head",)  # not the 1-channel attention conv (a sigmoid follows it)
    assert result.mean_probability[0] == pytest.approx(0.01, abs=1e-6)
    after = net.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed == ["head.bias"]  # running statistics and every other weight untouched
    x = torch.randn(2, 1, 64, 64, generator=torch.Generator().manual_seed(1))
    assert _mean_p(net, x) == pytest.approx(0.01, rel=0.5)  # another batch: about the prior too
    assert "head" in result.summary() and "0.0100" in result.summary()


def test_a_head_reading_non_negative_features_gets_non_negative_weights():
    torch.manual_seed(0)
    net = Plain()
    with torch.no_grad():
        net.head.weight.copy_(-net.head.weight.abs())  # every weight negative: p(target) capped at the prior
    before = copy.deepcopy(net.state_dict())
    result = apply_output_prior(net, 0.01, in_chans=1, size_multiple=32)
    assert result.aligned == ("head",) and "head made non-negative" in result.summary()
    assert torch.equal(net.head.weight, before["head.weight"].abs())
    assert result.mean_probability[0] == pytest.approx(0.01, abs=1e-6)  # the bias is set after the weights
    changed = {k for k in before if not torch.equal(before[k], net.state_dict()[k])}
    assert changed == {"head.weight", "head.bias"}
    # now any feature can only raise the output: a larger input to the head never lowers a logit
    h = torch.rand(1, 8, 4, 4)
    assert bool((net.head(h + torch.rand_like(h)) >= net.head(h)).all())


def test_a_head_reading_signed_inputs_keeps_its_weights():
    torch.manual_seed(0)
    net = DeepSupervision()  # fuse reads the side logits, which are signed; the sides read a ReLU
    with torch.no_grad():
        net.fuse.weight.copy_(-net.fuse.weight.abs())
        fuse_before = net.fuse.weight.clone()
    result = apply_output_prior(net, 0.02, in_chans=1)
    assert "fuse" not in result.aligned
    assert torch.equal(net.fuse.weight, fuse_before)
    assert bool((net.side1.weight >= 0).all()) and bool((net.side2.weight >= 0).all())


def test_deep_supervision_sides_are_set_before_the_fused_output():
    torch.manual_seed(0)
    net = DeepSupervision()
    result = apply_output_prior(net, 0.02, in_chans=1)
    assert result.heads == ("side1", "side2", "fuse")
    assert result.mean_probability == pytest.approx((0.02, 0.02, 0.02), abs=1e-6)


def test_an_output_with_a_normalisation_after_its_last_conv_is_left_and_reported():
    torch.manual_seed(0)
    net = NormalisedHead()
    before = copy.deepcopy(net.state_dict())
    result = apply_output_prior(net, 0.01, in_chans=1)
    assert result.heads == (None,)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert "no output convolution with a bias" in result.summary()


def test_probability_outputs_are_calibrated_in_logit_space():
    torch.manual_seed(0)
    net = ProbabilityHead()
    result = apply_output_prior(net, 0.05, in_chans=1, probabilities=True)
    assert result.heads == ("out",)
    assert result.mean_probability[0] == pytest.approx(0.05, abs=1e-6)


def test_shift_to_mean_probability_matches_a_direct_solution():
    z = torch.tensor([-3.0, 0.0, 2.0, 5.0])
    s = shift_to_mean_probability(z, 0.3)
    assert float(torch.sigmoid(z.double() + s).mean()) == pytest.approx(0.3, abs=1e-9)
    flat = shift_to_mean_probability(torch.zeros(10), 0.01)  # equal logits: the focal-loss bias itself
    assert flat == pytest.approx(math.log(0.01 / 0.99), abs=1e-9)


@pytest.mark.parametrize("name", ["acm", "alcnet", "dnanet"])
def test_zoo_networks_start_at_the_prior(name):
    from fdep.models import create_model

    torch.manual_seed(0)
    net = create_model(name, in_chans=1, init="authors")
    result = apply_output_prior(net, 0.01, in_chans=1, size_multiple=net.size_multiple)
    assert all(h is not None for h in result.heads)
    assert result.mean_probability == pytest.approx([0.01] * len(result.heads), abs=1e-6)


def test_protocols_set_the_prior_fdep_on_authors_off():
    assert TrainConfig.from_dict({}).output_prior == 0.01
    assert TrainConfig.from_dict({"protocol": "authors"}).output_prior is None
    assert TrainConfig.from_dict({"protocol": "authors", "output_prior": 0.01}).output_prior == 0.01
    assert TrainConfig.from_dict({"output_prior": None}).output_prior is None
    from fdep.errors import ConfigError

    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ConfigError, match="output_prior"):
            TrainConfig.from_dict({"output_prior": bad})


def test_a_users_network_from_a_file_returning_probabilities_starts_at_the_prior(tmp_path):
    """The head is found by measurement inside a network fdep has never seen (issue 24's ExternalNetwork)."""
    from fdep.models import create_model

    (tmp_path / "mynet.py").write_text(
        "import torch\nfrom torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, in_ch=1):\n"
        "        super().__init__()\n"
        "        self.enc = nn.Sequential(nn.Conv2d(in_ch, 8, 3, padding=1), nn.ReLU())\n"
        "        self.down = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())\n"
        "        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)\n"
        "        self.out = nn.Conv2d(16, 1, 1)\n"
        "    def forward(self, x):\n"
        "        a = self.enc(x)\n"
        "        return torch.sigmoid(self.out(torch.cat([a, self.up(self.down(a))], 1)))\n")
    torch.manual_seed(0)
    net = create_model(f"{tmp_path / 'mynet.py'}:Net", in_chans=1, outputs={"form": "probability"})
    result = apply_output_prior(net, 0.01, in_chans=1, size_multiple=net.size_multiple)
    assert result.heads == ("net.out",)
    assert result.mean_probability[0] == pytest.approx(0.01, abs=1e-6)
