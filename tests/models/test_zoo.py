"""The model contract, checked for every registered network (parametrised over list_models("learned")).

The classical methods (kind "classical": FKRW, MPCM, NIPPS) have no encoder/decoder,
no parameters and take raw intensities; they are excluded here by kind, explicitly
(``test_every_model_is_covered``), and tested in test_classical.py.

Models are built once per (name, in_chans) and shared between tests; every test
restores the mode it needs and clears gradients, so the order does not matter.
"""

from __future__ import annotations

import functools

import pytest
import torch

from fdep.errors import ModelError
from fdep.models import (
    Features,
    SIRSTNet,
    count_parameters,
    create_model,
    get_model_factory,
    is_model,
    list_models,
)

NAMES = list_models(kind="learned")
#: the training-free methods, tested in test_classical.py instead
CLASSICAL = ("fkrw", "mpcm", "nipps")


@functools.cache
def _model(name: str, in_chans: int = 1) -> SIRSTNet:
    torch.manual_seed(0)
    return create_model(name, in_chans=in_chans)


@pytest.fixture
def model(request) -> SIRSTNet:
    m = _model(request.param)
    m.zero_grad(set_to_none=True)
    return m


def _x(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_zoo_is_not_empty():
    assert NAMES, "no network registered"


def test_every_model_is_covered():
    """Every registered model is a learned network (tested here) or a known classical method (not silently dropped)."""
    assert sorted(NAMES + list_models(kind="classical")) == list_models()
    assert list_models(kind="classical") == sorted(CLASSICAL)
    for name in NAMES:
        assert get_model_factory(name).kind == "learned"
        assert get_model_factory(name).outputs == "logits"


@pytest.mark.parametrize("model", NAMES, indirect=True)
def test_class_attributes(model):
    cls = type(model)
    assert isinstance(model, SIRSTNet)
    assert model.model_name in NAMES
    assert cls.size_multiple == 32
    assert cls.top_channels > 0
    assert cls.top_stride >= 1 and 32 % cls.top_stride == 0
    assert isinstance(cls.deep_supervision, bool)
    assert cls.paper_params_m is not None and cls.paper_params_m > 0


@pytest.mark.parametrize("model", NAMES, indirect=True)
@pytest.mark.parametrize("hw", [(64, 64), (96, 160)])
def test_eval_forward_shape(model, hw):
    model.eval()
    with torch.no_grad():
        y = model(_x(1, 1, *hw))
    assert isinstance(y, torch.Tensor), "eval mode must return one tensor"
    assert y.shape == (1, 1, *hw)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("model", NAMES, indirect=True)
def test_train_outputs_and_gradients_reach_every_parameter(model):
    """Training forward (batch 2, non-square) + backward: output type, shapes, finite gradient for every parameter."""
    model.train()
    x = _x(2, 1, 64, 96)
    out = model(x)
    if model.deep_supervision:
        assert isinstance(out, list) and len(out) >= 2, "deep supervision must return a list in training"
        outs = out
    else:
        assert isinstance(out, torch.Tensor)
        outs = [out]
    maps = [o for o in outs if o.dim() > 0]  # 0-dim entries: auxiliary loss terms (RPCANet's reconstruction)
    assert maps and maps[-1] is outs[-1], "the final map must come last"
    for o in maps:
        assert o.shape == (2, 1, 64, 96)
    # a loss that depends on every output element, as a real loss does
    loss = sum((o.sigmoid() - 0.5).pow(2).mean() + o.mean() for o in outs)
    loss.backward()
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    bad = [n for n, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    assert not frozen, f"frozen parameters: {frozen[:5]}"
    assert not unused, f"parameters unused in forward: {unused[:10]} ({len(unused)} in all)"
    assert not bad, f"non-finite gradients: {bad[:5]}"
    model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("model", NAMES, indirect=True)
@pytest.mark.parametrize("hw", [(64, 64), (96, 160)])
def test_top_shape(model, hw):
    model.eval()
    with torch.no_grad():
        f = model.encode(_x(1, 1, *hw))
    assert isinstance(f, Features)
    s = model.top_stride
    assert f.top.shape == (1, model.top_channels, hw[0] // s, hw[1] // s)


@pytest.mark.parametrize("model", NAMES, indirect=True)
def test_encode_decode_equivalence_and_top_replacement(model):
    model.eval()
    x = _x(1, 1, 64, 96)
    with torch.no_grad():
        y = model(x)
        f = model.encode(x)
        assert torch.equal(model.decode(f), y)
        # an identical replacement gives the identical output ...
        assert torch.equal(model.decode(f.with_top(f.top.clone())), y)
        # ... and a different one changes it: decode really reads features.top
        y2 = model.decode(f.with_top(f.top + _x(*f.top.shape, seed=1)))
    assert y2.shape == y.shape
    assert not torch.allclose(y2, y)
    with pytest.raises(ModelError):
        f.with_top(torch.zeros(1, model.top_channels + 1, *f.top.shape[-2:]))


@pytest.mark.parametrize("model", NAMES, indirect=True)
def test_decode_in_training_mode_matches_forward(model):
    model.train()
    x = _x(2, 1, 64, 64)
    torch.manual_seed(0)
    with torch.no_grad():
        a = model(x)
        torch.manual_seed(0)
        b = model.decode(model.encode(x))
    a = a if isinstance(a, list) else [a]
    b = b if isinstance(b, list) else [b]
    assert len(a) == len(b)
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v)


@pytest.mark.parametrize("model", NAMES, indirect=True)
def test_params_within_two_percent_of_paper(model):
    # the paper counts parameters some references build but never use (we do not build them)
    n = (count_parameters(model) + model.paper_unused_params) / 1e6
    assert abs(n - model.paper_params_m) <= 0.02 * model.paper_params_m, (
        f"{model.model_name}: {n:.4f}M parameters vs paper {model.paper_params_m}M"
    )


@pytest.mark.parametrize("name", NAMES)
def test_three_input_channels(name):
    m = _model(name, 3)
    assert m.in_chans == 3
    m.eval()
    with torch.no_grad():
        y = m(_x(1, 3, 64, 64))
    assert y.shape == (1, 1, 64, 64)
    with pytest.raises(ModelError, match="3 input channel"):
        m(_x(1, 1, 64, 64))


@pytest.mark.parametrize("model", NAMES, indirect=True)
@pytest.mark.parametrize("hw", [(48, 64), (64, 80), (33, 33)])
def test_non_multiple_of_32_raises_model_error(model, hw):
    model.eval()
    with pytest.raises(ModelError, match=f"multiples of {model.size_multiple}"):
        model(_x(1, 1, *hw))


@pytest.mark.parametrize("model", NAMES, indirect=True)
def test_eval_is_deterministic_and_per_sample(model):
    """Two eval passes agree exactly; a batch of two gives each sample's own output."""
    model.eval()
    x = _x(2, 1, 64, 64)
    with torch.no_grad():
        a = model(x)
        b = model(x)
        single = model(x[1:])
    assert torch.equal(a, b)
    # Batched and single convolutions may pick different kernels: allow float32 round-off
    # relative to the output's scale (random-init logits can reach tens).
    scale = max(1.0, float(a.abs().max()))
    torch.testing.assert_close(a[1:], single, rtol=1e-3, atol=1e-4 * scale * 10)


@pytest.mark.parametrize("name", NAMES)
def test_lookup_is_case_insensitive(name):
    assert is_model(name.upper())
    assert get_model_factory(name.upper()) is get_model_factory(name)
    assert _model(name).model_name == name
