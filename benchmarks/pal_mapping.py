"""Pairs the tensors of PAL's Table-1 networks with those of the zoo's, module by module.

Same-named blocks are paired per network (``GROUPS``), then, within a pair, modules of the same type,
conv geometry and tensor shapes in registration order; only PAL modules that run in a training
forward count (PAL builds a few it never calls). MSDA-Net's four per-direction spatial-attention
convs are concatenated into our one grouped conv. ``transfer`` (equality_harness.py) then copies
the tensors; compare_with_pal.py and same_start.py use the mapping.
"""

from __future__ import annotations

import re
from collections import OrderedDict

import torch
from torch import nn

from equality_harness import MappingError

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
