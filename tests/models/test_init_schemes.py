"""init="authors": every network starts as the FDEP authors' PAL copy does (fdep.models.init_schemes).

Each parameter tensor is checked against the scheme PAL's code gives it, written here from PAL's
sources independently of the implementation:

- PyTorch's default (``reset_parameters``): conv/linear weight U(-b, b), b = 1/sqrt(fan_in)
  (kaiming_uniform with a=sqrt(5): std b/sqrt(3)); bias U(-b, b) with the same b;
- PAL's ``weights_init`` / ``init_weights``: weight Kaiming-normal fan_out (std sqrt(2/fan_out)),
  bias 0;
- norm layers: weight 1, bias 0 under both.

Per tensor: exact for constants; for uniform ones every value within the bound (and not all 0),
the std within a statistical tolerance when the tensor has >= 64 values; for normal ones the std
likewise; and per network, all tensors of a scheme pooled (values divided by their expected std)
must have std 1 within tolerance, which catches small tensors. Seeds are fixed, tolerances ~6 sigma.

With FDEP_REF_PAL pointing at a YuChuang1205/PAL checkout, one more test builds PAL's own networks
and compares their per-tensor std with ours (benchmarks/pal_mapping.py pairs the tensors).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from fdep.errors import ConfigError
from fdep.models import create_model
from fdep.models.init_schemes import AUTHORS_INIT, apply_init, pytorch_default
from tests.scripts import load_script

MIN_N = 64  # per-tensor std checks from this many values on

# --------------------------------------------------------------------------- PAL's schemes, per network
# spec(module_name + ".", module) -> "default" | "kaiming" | "kaiming_per_group" for a conv/linear layer.


def _dnanet(name, m):
    return "default"  # DNA_No_Sigmoid calls no init


def _mlclnet(name, m):
    # weights_init is applied inside Resnet1/Resnet2 and MLCL only
    return "default" if re.match(r"(stem|proj[123]|head)\.", name) else "kaiming"


def _gglnet(name, m):
    if isinstance(m, nn.Linear):
        return "default"  # SEAttention's linears: weights_init has no Linear branch
    # Sbam's ChannelAttention / SpatialAttention: init_weights defined, never called
    return "default" if re.match(r"sbam\.\d+\.(channel|spatial)\.", name) else "kaiming"


def _alclnet(name, m):
    return "kaiming"  # weights_init reaches every conv


def _msdanet(name, m):
    if isinstance(m, nn.Linear):
        return "default"  # SEAttention: init_weights never called
    if name.endswith("haar_attention.spatial."):
        return "kaiming_per_group"  # four separate 2->1 convs in PAL, FrequencyAttention.init_weights
    if name.startswith("contrast.") or re.match(r"msda\.\d+\.\d+\.(branches|merge|out)\.", name):
        return "default"  # BasicConv2d: no init
    return "kaiming"


SPECS = {"dnanet": _dnanet, "mlclnet": _mlclnet, "gglnet": _gglnet, "alclnet": _alclnet, "msdanet": _msdanet}
#: the networks whose PAL copy starts differently from fdep's original init
DIFFERING = {"dnanet", "mlclnet", "gglnet"}


def expected(net_name: str, model: nn.Module) -> dict[str, tuple[str, float]]:
    """Parameter name -> ("uniform", bound) | ("normal", std) | ("const", value) under PAL's scheme."""
    spec = SPECS[net_name]
    out: dict[str, tuple[str, float]] = {}
    for mname, m in model.named_modules():
        own = dict(m.named_parameters(recurse=False))
        if not own:
            continue
        if isinstance(m, (nn.modules.batchnorm._NormBase, nn.GroupNorm)):
            out[f"{mname}.weight"], out[f"{mname}.bias"] = ("const", 1.0), ("const", 0.0)
            continue
        assert isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)), f"{net_name}: unexpected {mname}: {m}"
        assert set(own) <= {"weight", "bias"}, mname
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(m.weight)
        scheme = spec(f"{mname}.", m)
        if scheme == "default":
            bound = 1 / math.sqrt(fan_in)
            out[f"{mname}.weight"] = ("uniform", bound)
            if m.bias is not None:
                out[f"{mname}.bias"] = ("uniform", bound)
        else:
            if scheme == "kaiming_per_group":
                fan_out //= m.groups
            out[f"{mname}.weight"] = ("normal", math.sqrt(2 / fan_out))
            if m.bias is not None:
                out[f"{mname}.bias"] = ("const", 0.0)
    return out


def mismatches(net_name: str, model: nn.Module) -> set[str]:
    """Names of the parameters (and "pooled <kind>") that do not follow PAL's scheme."""
    want = expected(net_name, model)
    params = dict(model.named_parameters())
    assert set(want) == set(params), set(want) ^ set(params)
    bad: set[str] = set()
    pooled: dict[str, list[torch.Tensor]] = {"uniform": [], "normal": []}
    for pname, (kind, a) in want.items():
        x = params[pname].detach().double().flatten()
        n = x.numel()
        if kind == "const":
            if not torch.all(x == a):
                bad.add(pname)
            continue
        std = a / math.sqrt(3) if kind == "uniform" else a
        pooled[kind].append(x / std)
        if kind == "uniform":
            ok = bool(x.abs().max() <= a * (1 + 1e-6)) and bool(torch.any(x != 0))
            tol = 3 / math.sqrt(n)  # sample std of a uniform: relative s.e. ~0.45/sqrt(n)
        else:
            ok = True
            tol = 4.5 / math.sqrt(n)  # of a normal: ~0.71/sqrt(n)
        if n >= MIN_N:
            ok = ok and abs(x.std().item() / std - 1) <= tol
        if not ok:
            bad.add(pname)
    for kind, xs in pooled.items():
        if xs:
            z = torch.cat(xs)
            if abs(z.pow(2).mean().sqrt().item() - 1) > 4.5 / math.sqrt(z.numel()):
                bad.add(f"pooled {kind}")
    return bad


def affected(net_name: str, model: nn.Module) -> set[str]:
    """The tensors the audit lists as different from fdep's original init."""
    want = expected(net_name, model)
    if net_name == "dnanet":  # Xavier-normal weights in the original; biases default in both
        return {p for p, (kind, _) in want.items() if kind == "uniform" and p.endswith(".weight")}
    return {p for p, (kind, _) in want.items() if kind == "uniform" and not isinstance(
        model.get_submodule(p.rsplit(".", 1)[0]), nn.Linear)}


def build(name: str, init: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return create_model(name, init=init)


# --------------------------------------------------------------------------- tests


def test_registered_networks():
    assert set(AUTHORS_INIT) == DIFFERING


@pytest.mark.parametrize("name", sorted(SPECS))
def test_authors_init_follows_pal_scheme(name):
    model = build(name, "authors")
    assert mismatches(name, model) == set()


@pytest.mark.parametrize("name", sorted(SPECS))
def test_original_init_differs_exactly_where_the_audit_says(name):
    model = build(name, "original")
    bad = mismatches(name, model)
    if name not in DIFFERING:
        assert bad == set()
        return
    hit = affected(name, model)
    assert bad - {"pooled uniform"} <= hit
    assert "pooled uniform" in bad
    # every affected tensor large enough for a std check is caught one by one (Xavier-normal vs the
    # default: std ratio sqrt(6 fan_in / (fan_in + fan_out)), up to 2.4; Kaiming fan_out vs the
    # default: sqrt(6 fan_in / fan_out)); smaller ones are left to the pooled check
    params = dict(model.named_parameters())
    assert {p for p in hit - bad if params[p].numel() >= 4 * MIN_N} == set()


def test_affected_counts():
    """Counts reported in docs/models.md (in_chans=1)."""
    counts = {}
    for name in sorted(DIFFERING):
        model = build(name, "original")
        hit = affected(name, model)
        convs = {p.rsplit(".", 1)[0] for p in hit}
        counts[name] = (len(convs), len(hit), sum(model.get_parameter(p).numel() for p in hit))
    assert counts["mlclnet"][:2] == (7, 14)
    assert counts["gglnet"][:2] == (12, 16)
    dna = build("dnanet", "original")
    n_convs = sum(isinstance(m, nn.Conv2d) for m in dna.modules())
    assert counts["dnanet"][:2] == (n_convs, n_convs)


@pytest.mark.parametrize("name", sorted(DIFFERING))
def test_authors_touches_only_the_differing_tensors(name):
    """Same seed: tensors outside the affected modules are bit-identical to init="original"."""
    orig, auth = build(name, "original"), build(name, "authors")
    hit_modules = {p.rsplit(".", 1)[0] for p in affected(name, orig)}
    changed = set()
    for (pname, a), (_, b) in zip(orig.named_parameters(), auth.named_parameters()):
        if pname.rsplit(".", 1)[0] in hit_modules:
            continue
        if not torch.equal(a, b):
            changed.add(pname)
    assert changed == set()
    for (ka, a), (_, b) in zip(orig.named_buffers(), auth.named_buffers()):
        assert torch.equal(a, b), ka


def test_unlisted_network_is_the_same_under_both():
    torch.testing.assert_close(build("acm", "authors").state_dict(), build("acm", "original").state_dict(),
                               rtol=0, atol=0)


def test_unknown_init_is_a_config_error():
    with pytest.raises(ConfigError, match="init"):
        apply_init(nn.Conv2d(1, 1, 1), "acm", "xavier")


def test_pytorch_default_resets_conv_linear_and_norm():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(4, 8, 3), nn.BatchNorm2d(8), nn.Linear(8, 2), nn.ReLU())
    for p in net.parameters():
        nn.init.constant_(p, 7.0)
    pytorch_default(net)
    assert torch.equal(net[1].weight, torch.ones(8)) and torch.equal(net[1].bias, torch.zeros(8))
    assert net[0].weight.abs().max() <= 1 / 6 and net[2].weight.abs().max() <= 1 / math.sqrt(8)


# --------------------------------------------------------------------------- against PAL's own networks


def _pal_root() -> Path:
    path = os.environ.get("FDEP_REF_PAL")
    if not path or not (Path(path) / "model" / "DNA").exists():
        pytest.skip("FDEP_REF_PAL not set to a YuChuang1205/PAL checkout")
    return Path(path)


@pytest.fixture(scope="module")
def cmp():
    _pal_root()  # skip before the stand-ins enter sys.modules (Lightning's torchvision probe trips on them)
    mod = load_script("benchmarks/compare_with_pal.py")
    mod.install_standins()
    return mod


def _std_mismatches(cmp, pal_root: Path, name: str, init: str) -> list[tuple]:
    """Tensors of a fresh fdep build (in_chans=3) whose constants or std differ from a fresh PAL build's."""
    torch.manual_seed(0)
    pal = cmp.build_pal(pal_root, name)
    ours = create_model(name, in_chans=3, init=init)
    pairs = cmp.build_mapping(name, pal, ours, torch.randn(2, 3, 32, 32))
    ps, os_ = pal.state_dict(), dict(ours.named_parameters())
    bad = []
    for pk, ok in pairs:
        if ok not in os_:
            continue  # buffers
        a = torch.cat([ps[k] for k in pk]).double().flatten()
        b = os_[ok].detach().double().flatten()
        n = a.numel()
        if n > 1 and (torch.all(a == a[0]) or torch.all(b == b[0])):
            if not torch.equal(a, b):
                bad.append((ok, "constant", a[:3].tolist(), b[:3].tolist()))
            continue
        # two independent samples: rms (about 0) of each; relative s.e. of their ratio <= 1/sqrt(n)
        ra, rb = a.pow(2).mean().sqrt().item(), b.pow(2).mean().sqrt().item()
        if n >= MIN_N and abs(rb / ra - 1) > 6 / math.sqrt(n):
            bad.append((ok, "std", ra, rb))
        elif 8 <= n < MIN_N and not 0.25 <= rb / ra <= 4:
            bad.append((ok, "scale", ra, rb))
    return bad


@pytest.mark.slow
@pytest.mark.parametrize("name", ["acm", "alcnet", "mlclnet", "alclnet", "dnanet", "gglnet", "uiunet", "msdanet"])
def test_per_tensor_std_equals_pals_build(name, cmp):
    """Fresh PAL build vs fresh fdep build: init="authors" matches it; init="original" only where listed."""
    pal_root = _pal_root()
    assert _std_mismatches(cmp, pal_root, name, "authors") == []
    original = _std_mismatches(cmp, pal_root, name, "original")
    assert bool(original) == (name in DIFFERING), original[:5]
