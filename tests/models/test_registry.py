"""The registry and the small helpers of fdep.models, on throw-away toy networks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fdep.errors import ModelError
from fdep.models import (
    Features,
    SIRSTNet,
    count_parameters,
    create_model,
    final_output,
    get_model_factory,
    is_model,
    list_models,
    register_model,
)
from fdep.models import registry as registry_mod


@pytest.fixture
def private_registry(monkeypatch):
    """A copy of the registry, so toy registrations never leak into other tests."""
    monkeypatch.setattr(registry_mod, "_REGISTRY", dict(registry_mod._REGISTRY))
    return registry_mod._REGISTRY


class _Toy(SIRSTNet):
    paper_params_m = 0.0001
    top_channels = 4
    top_stride = 2
    deep_supervision = False

    def __init__(self, in_chans: int = 1, width: int = 4) -> None:
        super().__init__(in_chans)
        self.width = width
        self.down = nn.Conv2d(in_chans, width, 3, stride=2, padding=1)
        self.head = nn.Conv2d(width, 1, 1)

    def encode(self, x):
        return Features(top=self.down(x), skips=(x.shape[-2:],))

    def decode(self, f):
        return nn.functional.interpolate(self.head(f.top), size=f.skips[0], mode="nearest")


def test_bare_decorator_registers_lower_cased_class_name(private_registry):
    cls = register_model(type("ToyNetA", (_Toy,), {}))
    assert "toyneta" in list_models()
    assert cls.model_name == "toyneta"
    m = create_model("ToyNetA", in_chans=3, width=8)
    assert isinstance(m, cls) and m.in_chans == 3 and m.width == 8
    assert m(torch.zeros(1, 3, 32, 64)).shape == (1, 1, 32, 64)


def test_named_decorator_and_function_factory(private_registry):
    @register_model(name="Toy-B")
    def make_toy(in_chans: int = 1, **kw):
        return _Toy(in_chans, **kw)

    assert is_model("toy-b") and is_model("TOY-B")
    assert get_model_factory("toy-b") is make_toy
    m = create_model("toy-b")
    # a factory function does not name the instance's class: create_model does
    assert m.model_name == "toy-b"


def test_duplicate_name_rejected_but_reregistering_same_object_is_fine(private_registry):
    cls = register_model(type("ToyNetC", (_Toy,), {}))
    assert register_model(cls) is cls
    with pytest.raises(ValueError, match="toynetc"):
        register_model(type("ToyNetC", (_Toy,), {}))


def test_list_models_sorted(private_registry):
    register_model(type("ZzzToy", (_Toy,), {}))
    register_model(type("AaaToy", (_Toy,), {}))
    names = list_models()
    assert names == sorted(names)
    assert {"aaatoy", "zzztoy"} <= set(names)


def test_unknown_name_is_one_line_error_listing_available():
    with pytest.raises(ModelError) as e:
        create_model("no-such-net")
    msg = str(e.value)
    assert "\n" not in msg and "'no-such-net'" in msg
    for name in list_models():
        assert name in msg


def test_bad_in_chans_is_model_error():
    with pytest.raises(ModelError, match="in_chans"):
        _Toy(in_chans=0)


def test_check_input_errors_name_the_problem():
    m = _Toy()
    m.model_name = "toy"
    with pytest.raises(ModelError, match="N x C x H x W"):
        m(torch.zeros(1, 32, 32))
    with pytest.raises(ModelError, match="expected 1 input channel"):
        m(torch.zeros(1, 2, 32, 32))
    with pytest.raises(ModelError, match="multiples of 32, got 32 x 40"):
        m(torch.zeros(1, 1, 32, 40))


def test_features_with_top_replaces_only_top():
    f = Features(top=torch.zeros(1, 2, 3, 3), skips=("a", 1))
    g = f.with_top(torch.ones(1, 2, 3, 3))
    assert torch.equal(g.top, torch.ones(1, 2, 3, 3)) and g.skips == ("a", 1)
    assert torch.equal(f.top, torch.zeros(1, 2, 3, 3))
    with pytest.raises(ModelError, match=r"expected \(1, 2, 3, 3\)"):
        f.with_top(torch.ones(1, 2, 3, 4))


def test_final_output_and_count_parameters():
    a, b = torch.zeros(1), torch.ones(1)
    assert final_output([a, b]) is b and final_output((a, b)) is b and final_output(a) is a
    shared = nn.Linear(2, 2)  # 6 parameters
    net = nn.Sequential(shared, nn.ReLU(), shared, nn.Linear(2, 1))  # shared counted once: 6 + 3
    assert count_parameters(net) == 9
    net[3].weight.requires_grad_(False)
    assert count_parameters(net, trainable_only=True) == 7
