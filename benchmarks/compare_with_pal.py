"""Compare the zoo's Table-1 networks with the authors' PyTorch implementations (YuChuang1205/PAL).

The authors' classes ``<X>_No_Sigmoid`` (model/ACM, ALC, MLCL, ALCL, DNA, GGL,
UIU, MSDA) are imported from a PAL checkout given with ``--pal`` (nothing of
PAL is part of this project); without it the script says so and exits 0.
For each network and input size:

1. build PAL's network as its ``train_model.py`` does (DNA/UIU with
   ``mode='train'``) and ours with ``in_chans=3``;
2. randomise PAL's parameters *and* normalisation state (BN/GN affine,
   running mean/var, batch counter) so that every difference shows;
3. transfer them into ours through a module-by-module mapping (same-named
   blocks paired per network, then modules paired in registration order
   within groups of identical type and tensor shapes); every tensor of ours
   must receive exactly one PAL tensor;
4. compare, on the same random input: eval-mode final map (PAL's
   ``mode='train'`` list element the tester uses, and a ``mode='test'``
   instance), train-mode outputs (all deep-supervision outputs, same dropout
   seed), the BatchNorm running statistics after that one training forward
   (where momentum differences show), and parameter counts.

    PYTHONPATH=src python benchmarks/compare_with_pal.py --pal /path/to/PAL [NAMES ...]
        [--sizes 64x64 96x128] [--double] [--json out.json]

When torchvision or PyWavelets is missing, small stand-ins are installed in
``sys.modules`` for what PAL's files import from them: a ResNet basic block
equal to torchvision's (conv3x3-BN-ReLU-conv3x3-BN + identity/downsample,
ReLU), tensor ``Resize`` (identity when the size already matches, else
bilinear with antialias, as torchvision's tensor path) and the Haar wavelet's
filter taps.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import re
import sys
import types
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from fdep.models import create_model

#: our registry name -> PAL model folder (class ``<X>_No_Sigmoid`` in ``model/<X>/<X>_no_sigmoid.py``)
PAL_NAMES = OrderedDict(
    acm="ACM", alcnet="ALC", mlclnet="MLCL", alclnet="ALCL", dnanet="DNA", gglnet="GGL", uiunet="UIU", msdanet="MSDA"
)

#: block-level correspondence: (PAL module prefixes, our module prefixes); a module belongs to the
#: group of the longest prefix it starts with. Unlisted top-level names pair with the same name.
GROUPS: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "acm": [],
    "alcnet": [],
    "mlclnet": [
        (("stage",), ("stem", "stage1", "stage2", "stage3")),
        (("conv3",), ("proj3",)), (("conv2",), ("proj2",)), (("conv1",), ("proj1",)),
        (("layer",), ("head",)),
    ],
    "alclnet": [
        (("stage",), ("stem", "stages")),
        *[((f"lcl{i}",), (f"lcl.{i - 1}",)) for i in range(1, 6)],
        *[((f"sbam{i}",), (f"sbam.{i - 1}",)) for i in range(1, 5)],
        (("layer",), ("head",)),
    ],
    "dnanet": [
        (("conv0_4_final",), ("fuse",)),
        *[((f"conv0_{i}_1x1",), (f"proj{i}",)) for i in range(1, 5)],
        *[((f"final{i}",), (f"heads.{i - 1}",)) for i in range(1, 5)],
    ],
    "gglnet": [
        (("stage.layer1",), ("stem",)),
        *[(tuple(f"stage.resnet{i}_{j}" for j in (1, 2, 3)), (f"stages.{i - 1}",)) for i in range(1, 6)],
        *[((f"stage.Res{i}",), (f"gsm.{i - 1}",)) for i in range(1, 6)],
        *[((f"lcl{i}",), (f"lcl.{i - 1}",)) for i in range(1, 6)],
        *[((f"sbam{i}",), (f"sbam.{i - 1}",)) for i in range(1, 5)],
        (("layer",), ("head",)),
    ],
    "uiunet": [
        *[((f"stage{i}",), (f"encoder.{i - 1}",)) for i in range(1, 7)],
        *[((f"stage{i}d",), (f"decoder.{5 - i}",)) for i in range(1, 6)],
        *[((f"fuse{i}",), (f"fuse.{5 - i}",)) for i in range(2, 6)],
        *[((f"side{i}",), (f"side.{i - 1}",)) for i in range(1, 7)],
        (("outconv",), ("out_fuse",)),
    ],
    "msdanet": [
        (("stage.layer1",), ("stem",)),
        *[((f"stage.resnet{i}_1",), (f"open{i}",)) for i in range(1, 6)],
        *[((f"stage.resnet{i}_{j}",), (f"msda.{i - 1}.{j - 2}",)) for i in range(1, 6) for j in (2, 3)],
        *[((f"stage.resnet{i}_{j}.conv_res",), (f"msda.{i - 1}.{j - 2}.out",)) for i in range(1, 6) for j in (2, 3)],
        *[
            ((f"stage.resnet{i}_{j}.FrequencyAttention",), (f"msda.{i - 1}.{j - 2}.haar_attention",))
            for i in range(1, 6)
            for j in (2, 3)
        ],
        *[((f"stage.layer{i}_4",), (f"reduce.{i - 1}",)) for i in range(1, 5)],
        (("stage.layer5_4",), ("fuse",)),
        *[((f"mlcl{i}",), (f"contrast.{i - 1}",)) for i in range(1, 6)],
        *[((f"sbam{i}.hl_layer",), (f"aggregate.{i - 1}.project",)) for i in range(1, 5)],
        *[((f"sbam{i}.concat_layer",), (f"aggregate.{i - 1}.mix",)) for i in range(1, 5)],
        (("layer",), ("head",)),
    ],
}

#: MSDA-Net: PAL's four per-direction 7x7 spatial-attention convs are one grouped conv of ours,
#: stacked in the order LL, LH, HL, HH.
MSDA_DIRECTIONS = ("LL", "LH", "HL", "HH")


# --------------------------------------------------------------------------- stand-ins for missing packages


def install_standins() -> list[str]:
    """Put minimal torchvision/pywt modules into sys.modules when the real ones are missing."""
    installed = []
    try:
        import torchvision  # noqa: F401
    except ImportError:
        _install_torchvision_standin()
        installed.append("torchvision")
    try:
        import pywt  # noqa: F401
    except ImportError:
        _install_pywt_standin()
        installed.append("pywt")
    return installed


def _install_torchvision_standin() -> None:
    class BasicBlock(nn.Module):
        """ResNet basic block with torchvision's attribute names and semantics."""

        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                     norm_layer=None):
            super().__init__()
            norm_layer = norm_layer or nn.BatchNorm2d
            if groups != 1 or base_width != 64 or dilation != 1:
                raise ValueError("stand-in BasicBlock supports groups=1, base_width=64, dilation=1 only")
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = norm_layer(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = norm_layer(planes)
            self.downsample = downsample
            self.stride = stride

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + identity)

    def resize(img, size, interpolation=None, max_size=None, antialias=True):
        size = [int(s) for s in size]
        if list(img.shape[-2:]) == size:
            return img
        return F.interpolate(img, size=size, mode="bilinear", align_corners=False, antialias=bool(antialias))

    class Resize(nn.Module):
        def __init__(self, size, interpolation=None, max_size=None, antialias=True):
            super().__init__()
            self.size, self.antialias = size, antialias

        def forward(self, img):
            return resize(img, self.size, antialias=self.antialias)

    tv = types.ModuleType("torchvision")
    models = types.ModuleType("torchvision.models")
    resnet = types.ModuleType("torchvision.models.resnet")
    transforms = types.ModuleType("torchvision.transforms")
    functional = types.ModuleType("torchvision.transforms.functional")
    resnet.BasicBlock = BasicBlock
    transforms.Resize, transforms.functional, functional.resize = Resize, functional, resize
    tv.models, models.resnet, tv.transforms = models, resnet, transforms
    sys.modules.update(
        {
            "torchvision": tv,
            "torchvision.models": models,
            "torchvision.models.resnet": resnet,
            "torchvision.transforms": transforms,
            "torchvision.transforms.functional": functional,
        }
    )


def _install_pywt_standin() -> None:
    class Wavelet:
        def __init__(self, name):
            if name != "haar":
                raise ValueError(f"stand-in pywt knows only 'haar', not {name!r}")
            s = 1 / math.sqrt(2)
            self.dec_lo, self.dec_hi, self.rec_lo, self.rec_hi = [s, s], [-s, s], [s, s], [s, -s]

    pywt = types.ModuleType("pywt")
    pywt.Wavelet = Wavelet
    sys.modules["pywt"] = pywt


def pal_class(pal_root: Path, name: str):
    """PAL's ``<X>_No_Sigmoid`` class for our registry name."""
    root = str(pal_root)
    if root not in sys.path:
        sys.path.insert(0, root)
    folder = PAL_NAMES[name]
    module = importlib.import_module(f"model.{folder}.{folder}_no_sigmoid")
    return getattr(module, f"{folder}_No_Sigmoid")


def build_pal(pal_root: Path, name: str, mode: str = "train") -> nn.Module:
    """PAL's network with the arguments its train_model.py uses (DNA/UIU take ``mode``)."""
    cls = pal_class(pal_root, name)
    return cls(mode=mode) if PAL_NAMES[name] in ("DNA", "UIU") else cls()


# --------------------------------------------------------------------------- mapping


def _owns_tensors(m: nn.Module) -> bool:
    """Learned state: parameters or normalisation statistics (constant filter buffers are not mapped)."""
    return any(True for _ in m.parameters(recurse=False)) or isinstance(m, nn.modules.batchnorm._NormBase)


def used_modules(net: nn.Module, x: torch.Tensor) -> set[str]:
    """Names of the modules that run in a training-mode forward."""
    names = {m: n for n, m in net.named_modules()}
    used: set[str] = set()
    hooks = [m.register_forward_pre_hook(lambda mod, _inp: used.add(names[mod])) for m in net.modules()]
    was = net.training
    net.train()
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in hooks:
            h.remove()
        net.train(was)
    return used


def _local_tensors(m: nn.Module) -> list[tuple[str, torch.Tensor]]:
    out = list(m.named_parameters(recurse=False))
    out += [(n, b) for n, b in m.named_buffers(recurse=False) if n not in m._non_persistent_buffers_set]
    return out


def _signature(m: nn.Module) -> tuple:
    kind = "BatchNorm2d" if isinstance(m, nn.BatchNorm2d) else type(m).__name__
    if isinstance(m, nn.Conv2d) and not isinstance(m, nn.ConvTranspose2d):
        kind = ("Conv2d", m.stride, m.padding, m.dilation, m.groups)
    return (kind, tuple((n, tuple(t.shape)) for n, t in _local_tensors(m)))


def _group_of(name: str, prefixes: dict[str, int]) -> int | None:
    best, best_len = None, -1
    for p, g in prefixes.items():
        if (name == p or name.startswith(p + ".")) and len(p) > best_len:
            best, best_len = g, len(p)
    return best


class MappingError(RuntimeError):
    """The two networks' modules cannot be paired one to one."""


def build_mapping(name: str, pal: nn.Module, ours: nn.Module, x: torch.Tensor):
    """Pairs (pal_keys, our_key): our tensor = concat of PAL tensors along dim 0 (usually one key)."""
    used = used_modules(pal, x)
    groups = list(GROUPS[name])
    pal_pref = {p: i for i, (pp, _) in enumerate(groups) for p in pp}
    our_pref = {p: i for i, (_, op) in enumerate(groups) for p in op}
    pal_mods: dict[object, list] = OrderedDict()
    our_mods: dict[object, list] = OrderedDict()
    for n, m in pal.named_modules():
        if n in used and _owns_tensors(m):
            g = _group_of(n, pal_pref)
            pal_mods.setdefault(g if g is not None else n.split(".")[0], []).append((n, m))
    for n, m in ours.named_modules():
        if _owns_tensors(m):
            g = _group_of(n, our_pref)
            our_mods.setdefault(g if g is not None else n.split(".")[0], []).append((n, m))
    pairs: list[tuple[tuple[str, ...], str]] = []
    if set(pal_mods) != set(our_mods):
        raise MappingError(f"{name}: groups differ: PAL only {set(pal_mods) - set(our_mods)}, "
                           f"ours only {set(our_mods) - set(pal_mods)}")
    for g in pal_mods:
        pm, om = list(pal_mods[g]), list(our_mods[g])
        if name == "msdanet":
            pm, om = _pair_msda_spatial(pm, om, pairs)
        buckets: dict[tuple, list[list]] = OrderedDict()
        for side, mods in ((0, pm), (1, om)):
            for n, m in mods:
                buckets.setdefault(_signature(m), [[], []])[side].append(n)
        for sig, (pn, on) in buckets.items():
            if len(pn) != len(on):
                raise MappingError(f"{name}, group {g}: {len(pn)} PAL vs {len(on)} of our modules like {sig}: "
                                   f"PAL {pn[:4]} ours {on[:4]}")
            for a, b in zip(pn, on):
                for t, _ in _local_tensors(pal.get_submodule(a)):
                    pairs.append(((f"{a}.{t}",), f"{b}.{t}"))
    return pairs


def _pair_msda_spatial(pm, om, pairs):
    parents = OrderedDict()
    for n, _ in pm:
        mt = re.fullmatch(r"(.*)\.(LL|LH|HL|HH)_reduce\.conv", n)
        if mt:
            parents.setdefault(mt.group(1), {})[mt.group(2)] = n
    ours = [n for n, _ in om if n.endswith("haar_attention.spatial")]
    if len(parents) != len(ours):
        raise MappingError(f"msdanet: {len(parents)} PAL direction-attention sets vs {len(ours)} grouped convs")
    for (_parent, convs), o in zip(parents.items(), ours):
        for t in ("weight", "bias"):
            pairs.append((tuple(f"{convs[d]}.{t}" for d in MSDA_DIRECTIONS), f"{o}.{t}"))
    drop = {n for c in parents.values() for n in c.values()} | set(ours)
    return [(n, m) for n, m in pm if n not in drop], [(n, m) for n, m in om if n not in drop]


def transfer(pal: nn.Module, ours: nn.Module, pairs) -> None:
    """Copy PAL's tensors into ours; every tensor of ours must be written exactly once."""
    ps, os_ = pal.state_dict(), ours.state_dict()
    written = set()
    for pk, ok in pairs:
        src = ps[pk[0]] if len(pk) == 1 else torch.cat([ps[k] for k in pk], 0)
        if src.shape != os_[ok].shape:
            raise MappingError(f"{pk} {tuple(src.shape)} -> {ok} {tuple(os_[ok].shape)}")
        if ok in written:
            raise MappingError(f"{ok} written twice")
        os_[ok] = src.clone()
        written.add(ok)
    missing = set(os_) - written
    if missing:
        raise MappingError(f"our tensors without a PAL source: {sorted(missing)[:6]}")
    ours.load_state_dict(os_)


def randomise(net: nn.Module, gen: torch.Generator) -> None:
    """Random parameters and normalisation state (affine, running mean/var, counter); constant filters kept."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                if getattr(m, "weight", None) is not None:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)
                if isinstance(m, nn.BatchNorm2d) and m.track_running_stats:
                    m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.2)
                    m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 1.5 + 0.5)
                    m.num_batches_tracked.fill_(int(torch.randint(1, 100, (1,), generator=gen)))
            else:
                for n, p in m.named_parameters(recurse=False):
                    if n == "bias":
                        p.add_(torch.randn(p.shape, generator=gen) * 0.05)
                    else:  # keep the init's scale, new values
                        std = float(p.std()) if p.numel() > 1 and float(p.std()) > 0 else 0.1
                        p.copy_(torch.randn(p.shape, generator=gen) * std)


# --------------------------------------------------------------------------- comparison


def _as_list(out, name: str, source: str) -> list[torch.Tensor]:
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    if source == "pal" and name == "uiunet" and len(outs) == 7:
        outs = outs[1:] + outs[:1]  # PAL: (d0 fused, d1..d6); ours: [side1..side6, fused]
    return outs


def _pal_final(out, name: str) -> torch.Tensor:
    if isinstance(out, (list, tuple)):
        return out[0] if name == "uiunet" else out[-1]  # what PAL's tester takes
    return out


def _maxdiff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).abs().max())


def count(net: nn.Module, used: set[str] | None = None) -> int:
    if used is None:
        return sum(p.numel() for p in net.parameters())
    return sum(p.numel() for n, m in net.named_modules() if n in used for p in m.parameters(recurse=False))


def compare(name: str, pal_root: Path, sizes, dtype=torch.float32, seed: int = 0, **our_kwargs) -> dict:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    pal = build_pal(pal_root, name, "train")
    ours = create_model(name, in_chans=3, **our_kwargs)
    h0, w0 = sizes[0]
    probe = torch.randn(2, 3, h0, w0, generator=gen)
    pairs = build_mapping(name, pal, ours, probe)
    pal_used = used_modules(pal, probe)  # runs a training forward: before the state is set
    randomise(pal, gen)
    transfer(pal, ours, pairs)
    result = {
        "name": name,
        "pal_class": f"{PAL_NAMES[name]}_No_Sigmoid",
        "params_ours": count(ours),
        "params_pal_forward": count(pal, pal_used),
        "params_pal_all": count(pal),
        "mapped_tensors": len(pairs),
        "sizes": [],
    }
    pal_test = None
    if PAL_NAMES[name] in ("DNA", "UIU"):
        pal_test = build_pal(pal_root, name, "test")
        pal_test.load_state_dict(pal.state_dict())
        pal_test = pal_test.to(dtype)
    pal, ours = pal.to(dtype), ours.to(dtype)
    ps0 = {k: v.clone() for k, v in pal.state_dict().items()}
    os0 = {k: v.clone() for k, v in ours.state_dict().items()}
    for h, w in sizes:
        pal.load_state_dict(ps0)
        ours.load_state_dict(os0)
        x = torch.randn(2, 3, h, w, generator=gen).to(dtype)
        row: dict = {"size": f"{h}x{w}"}
        pal.eval()
        ours.eval()
        with torch.no_grad():
            p_eval = _pal_final(pal(x), name)
            o_eval = ours(x)
            row["eval"] = _maxdiff(p_eval, o_eval)
            row["eval_scale"] = float(p_eval.abs().max())
            if pal_test is not None:
                pal_test.eval()
                row["eval_test_mode"] = _maxdiff(_pal_final(pal_test(x), name), o_eval)
        pal.train()
        ours.train()
        with torch.no_grad():
            torch.manual_seed(seed + 1)
            p_tr = _as_list(pal(x), name, "pal")
            torch.manual_seed(seed + 1)
            o_tr = _as_list(ours(x), name, "ours")
        if len(p_tr) != len(o_tr):
            row["train"] = f"{len(p_tr)} PAL outputs vs {len(o_tr)} of ours"
        else:
            diffs = [_maxdiff(a, b) for a, b in zip(p_tr, o_tr)]
            row["train"] = max(diffs)
            row["train_outputs"] = len(diffs)
            row["train_scale"] = max(float(a.abs().max()) for a in p_tr)
        ps, os_ = pal.state_dict(), ours.state_dict()
        stat = [0.0, 0.0]
        counters_equal = True
        for pk, ok in pairs:
            if len(pk) != 1:
                continue
            for i, suffix in enumerate(("running_mean", "running_var")):
                if pk[0].endswith(suffix):
                    stat[i] = max(stat[i], _maxdiff(ps[pk[0]], os_[ok]))
            if pk[0].endswith("num_batches_tracked"):
                counters_equal &= bool(ps[pk[0]] == os_[ok])
        row["running_mean"], row["running_var"], row["counters_equal"] = stat[0], stat[1], counters_equal
        result["sizes"].append(row)
    return result


def _parse_size(s: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)x(\d+)", s)
    if not m:
        raise argparse.ArgumentTypeError(f"size must look like 64x96, got {s!r}")
    return int(m.group(1)), int(m.group(2))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="networks (default: all eight)")
    ap.add_argument("--pal", type=Path, default=None, help="path of a YuChuang1205/PAL checkout")
    ap.add_argument("--sizes", nargs="+", type=_parse_size, default=[(64, 64), (96, 128)])
    ap.add_argument("--double", action="store_true", help="compare in float64 as well as float32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    args = ap.parse_args(argv)
    if args.pal is None or not (args.pal / "model").is_dir():
        print("no PAL checkout given (--pal /path/to/PAL with a model/ folder): nothing to compare")
        return 0
    names = args.names or list(PAL_NAMES)
    unknown = [n for n in names if n not in PAL_NAMES]
    if unknown:
        print(f"unknown network(s) {unknown}; choose from {list(PAL_NAMES)}", file=sys.stderr)
        return 2
    standins = install_standins()
    if standins:
        print(f"stand-ins used for: {', '.join(standins)}")
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    dtypes = [torch.float32] + ([torch.float64] if args.double else [])
    results = []
    head = (f"{'network':9} {'dtype':7} {'size':8} {'eval':>9} {'eval(test)':>10} {'train':>9} {'outs':>4} "
            f"{'run.mean':>9} {'run.var':>9} {'counters':>8} {'|eval|max':>9} {'|train|max':>10}")
    print(head)
    for name in names:
        for dt in dtypes:
            r = compare(name, args.pal, args.sizes, dt, args.seed)
            r["dtype"] = str(dt).replace("torch.", "")
            results.append(r)
            for row in r["sizes"]:
                et = row.get("eval_test_mode")
                tr = row["train"]
                print(f"{name:9} {r['dtype']:7} {row['size']:8} {row['eval']:9.2e} "
                      f"{(f'{et:10.2e}' if et is not None else '         -')} "
                      f"{(f'{tr:9.2e}' if isinstance(tr, float) else tr)} {row.get('train_outputs', '-'):>4} "
                      f"{row['running_mean']:9.2e} {row['running_var']:9.2e} {str(row['counters_equal']):>8} "
                      f"{row['eval_scale']:9.2e} {row.get('train_scale', float('nan')):10.2e}")
    print()
    print(f"{'network':9} {'ours (3 ch)':>12} {'PAL forward':>12} {'PAL all':>12}")
    for r in results:
        if r["dtype"] == "float32":
            print(f"{r['name']:9} {r['params_ours']:12,d} {r['params_pal_forward']:12,d} {r['params_pal_all']:12,d}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
