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
import json
import re
import sys
from pathlib import Path

import torch
from torch import nn

from equality_harness import MappingError, as_list, randomise, transfer
from fdep.models import create_model
from pal_checkout import PAL_NAMES, build_pal, install_standins, is_deep, pal_final
from pal_mapping import build_mapping, used_modules

#: also the mapping machinery and PAL's classes, for the scripts and tests that load this one
__all__ = ["MappingError", "build_mapping", "build_pal", "compare", "install_standins", "main", "randomise",
           "transfer"]


def pal_outputs(out, name: str) -> list[torch.Tensor]:
    """PAL's training outputs in our order: UIU lists the fused map first (d0, d1..d6), ours last."""
    outs = as_list(out)
    if name == "uiunet" and len(outs) == 7:
        outs = outs[1:] + outs[:1]
    return outs


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
    if is_deep(name):
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
            p_eval = pal_final(pal(x), name)
            o_eval = ours(x)
            row["eval"] = _maxdiff(p_eval, o_eval)
            row["eval_scale"] = float(p_eval.abs().max())
            if pal_test is not None:
                pal_test.eval()
                row["eval_test_mode"] = _maxdiff(pal_final(pal_test(x), name), o_eval)
        pal.train()
        ours.train()
        with torch.no_grad():
            torch.manual_seed(seed + 1)
            p_tr = pal_outputs(pal(x), name)
            torch.manual_seed(seed + 1)
            o_tr = as_list(ours(x))
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
