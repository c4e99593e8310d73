"""Compare zoo networks with the authors' reference code, weight for weight and output for output.

The reference files are *not* part of this repository: pass where they are. For each network the
reference is built as its authors' trainer builds it (3 input channels), every parameter and BN
buffer is randomised, the weights are copied into our network (``in_chans=3``) through an explicit
key mapping, and the outputs are compared in eval mode and in training mode (batch statistics, the
same dropout masks from the same seed, every deep-supervision output in the reference's order), as
are the gradients of a scalar loss and the updated BN running statistics. Reported: max |ours -
reference| per check, and the reference parameters that were not transferred (those its forward
never uses; they must equal the network's ``paper_unused_params``).

    PYTHONPATH=src python benchmarks/compare_with_references.py --pal /path/to/PAL \\
        --mtu /path/to/Multi-level-TransUNet-for-Space-based-Infrared-Tiny-ship-Detection/MTU-Net-code/model

--pal: a checkout of github.com/YuChuang1205/PAL (SCTransNet, SDSNet);
--mtu: the ``MTU-Net-code/model`` folder of github.com/TianhaoWu16/Multi-level-TransUNet-for-Space-based-
Infrared-Tiny-ship-Detection (MTU-Net). A network whose reference is not given (or not found) is
skipped with a note. The references import einops, ml_collections and thop; when those are not
installed, minimal stand-ins (standins.py) are put in ``sys.modules`` for the uses these files make
of them. The MTU-Net reference hard-codes its 64 x 64 token grid (a 1024 x 1024 input); it is
compared as is at 1024 x 1024 and, with that grid taken from the input (the one change that lets it
run on other sizes, applied to its source text at load time), at smaller sizes.

Exit status 0 when every check is within --atol (relative to the output scale), 1 otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
import types
from collections.abc import Callable
from pathlib import Path

import torch

import standins
from equality_harness import as_list, perturb, transfer
from fdep.models import count_parameters, create_model

#: what the reference files import that need not be installed (standins.py)
REFERENCE_IMPORTS = ("einops", "ml_collections", "thop")


def _load(path: Path, name: str, source: str | None = None) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__file__ = str(path)
    sys.modules[name] = mod
    exec(compile(source if source is not None else path.read_text(), str(path), "exec"), mod.__dict__)
    return mod


# --- key mappings: our state_dict key -> the reference's -----------------------------------------

Rules = list[tuple[str, str | Callable[[re.Match], str]]]


def _mapper(rules: Rules) -> Callable[[str], str]:
    def f(key: str) -> str:
        for pat, rep in rules:
            new, n = re.subn(pat, rep, key)
            if n:
                return new
        return key

    return f


def _sub(pat: str, fmt: Callable[[re.Match], str]) -> tuple[str, Callable[[re.Match], str]]:
    return pat, fmt


LAYER = r"^cct\.layers\.(\d)\."  # our transformer layer prefix


def _ref_layer(m: re.Match) -> str:
    return f"mtc.encoder.layer.{m[1]}."


SCT_RULES: Rules = [
    (r"^enc\.0\.", "inc.0."),
    _sub(r"^enc\.([1-4])\.", lambda m: f"down_encoder{m[1]}.0."),
    _sub(r"^cct\.embed\.(\d)\.", lambda m: f"mtc.embeddings_{int(m[1]) + 1}.patch_embeddings."),
    _sub(LAYER + r"attn_norms\.(\d)\.", lambda m: _ref_layer(m) + f"attn_norm{int(m[2]) + 1}.body."),
    _sub(LAYER + r"all_norm\.", lambda m: _ref_layer(m) + "attn_norm.body."),
    _sub(LAYER + r"attn\.q_point\.(\d)\.", lambda m: _ref_layer(m) + f"channel_attn.mhead{int(m[2]) + 1}."),
    _sub(LAYER + r"attn\.q_spatial\.(\d)\.", lambda m: _ref_layer(m) + f"channel_attn.q{int(m[2]) + 1}."),
    _sub(LAYER + r"attn\.proj\.(\d)\.", lambda m: _ref_layer(m) + f"channel_attn.project_out{int(m[2]) + 1}."),
    _sub(LAYER + r"attn\.([kv])_point\.", lambda m: _ref_layer(m) + f"channel_attn.mhead{m[2]}."),
    _sub(LAYER + r"attn\.([kv])_spatial\.", lambda m: _ref_layer(m) + f"channel_attn.{m[2]}."),
    _sub(LAYER + r"ffn_norms\.(\d)\.", lambda m: _ref_layer(m) + f"ffn_norm{int(m[2]) + 1}.body."),
    _sub(
        r"^cct\.layers\.(\d)\.ffns\.(\d)\.(expand|dw3|dw5|project|eca\.conv)\.",
        lambda m: _ref_layer(m) + f"ffn{int(m[2]) + 1}."
        + {"expand": "project_in", "dw3": "dwconv3x3", "dw5": "dwconv5x5", "project": "project_out",
           "eca.conv": "eca.conv.0"}[m[3]] + ".",
    ),
    _sub(r"^cct\.norms\.(\d)\.", lambda m: f"mtc.encoder.encoder_norm{int(m[1]) + 1}.body."),
    _sub(r"^cct\.mapping\.(\d)\.conv\.", lambda m: f"mtc.reconstruct_{int(m[1]) + 1}.conv."),
    _sub(r"^cct\.mapping\.(\d)\.bn\.", lambda m: f"mtc.reconstruct_{int(m[1]) + 1}.norm."),
    _sub(r"^dec\.(\d)\.cca\.fc_skip\.", lambda m: f"up_decoder{4 - int(m[1])}.coatt.mlp_x.1."),
    _sub(r"^dec\.(\d)\.cca\.fc_up\.", lambda m: f"up_decoder{4 - int(m[1])}.coatt.mlp_g.1."),
    _sub(r"^dec\.(\d)\.convs\.(\d)\.0\.", lambda m: f"up_decoder{4 - int(m[1])}.nConvs.{m[2]}.conv."),
    _sub(r"^dec\.(\d)\.convs\.(\d)\.1\.", lambda m: f"up_decoder{4 - int(m[1])}.nConvs.{m[2]}.norm."),
    (r"^head\.", "outc."),
    _sub(r"^side\.(\d)\.", lambda m: f"gt_conv{5 - int(m[1])}.0."),
    (r"^fuse\.", "outconv."),
]

SDS_RULES: Rules = [
    _sub(r"^enc\.([0-2])\.", lambda m: f"backbone.down_blocks.{m[1]}."),
    (r"^enc\.3\.", "backbone.final_block."),
    _sub(r"^shallow\.embed\.(\d)\.", lambda m: f"shallow.embeddings.{m[1]}.patch_embeddings."),
    _sub(r"^shallow\.layers\.(\d)\.q\.(\d)\.", lambda m: f"shallow.srb.layer.{m[1]}.msca.msm{int(m[2]) + 1}."),
    _sub(r"^shallow\.layers\.(\d)\.([kv])\.", lambda m: f"shallow.srb.layer.{m[1]}.msca.msm{m[2]}."),
    _sub(r"^shallow\.layers\.(\d)\.proj\.(\d)\.",
         lambda m: f"shallow.srb.layer.{m[1]}.msca.project_out{int(m[2]) + 1}."),
    _sub(r"^shallow\.layers\.(\d)\.norms\.(\d)\.", lambda m: f"shallow.srb.layer.{m[1]}.norms.{m[2]}.body."),
    _sub(r"^shallow\.layers\.(\d)\.cbam\.(\d)\.", lambda m: f"shallow.srb.layer.{m[1]}.mdfa.{m[2]}."),
    _sub(r"^shallow\.norms\.(\d)\.", lambda m: f"shallow.srb.norms.{m[1]}.body."),
    _sub(r"^shallow\.mapping\.(\d)\.conv\.", lambda m: f"shallow.FM.{m[1]}.conv."),
    _sub(r"^shallow\.mapping\.(\d)\.bn\.", lambda m: f"shallow.FM.{m[1]}.norm."),
    (r"^deep\.embed\.", "deep.embeddings.patch_embeddings."),
    _sub(r"^deep\.layers\.(\d)\.([qkv])\.", lambda m: f"deep.drb.layer.{m[1]}.mssa.msm{m[2]}."),
    _sub(r"^deep\.layers\.(\d)\.proj\.", lambda m: f"deep.drb.layer.{m[1]}.mssa.project_out1."),
    _sub(r"^deep\.layers\.(\d)\.norm\.", lambda m: f"deep.drb.layer.{m[1]}.norms.body."),
    _sub(r"^deep\.layers\.(\d)\.cbam\.", lambda m: f"deep.drb.layer.{m[1]}.mdfa."),
    (r"^deep\.norm\.", "deep.drb.norms.body."),
    (r"^deep\.mapping\.conv\.", "deep.FM.conv."),
    (r"^deep\.mapping\.bn\.", "deep.FM.norm."),
    _sub(r"^fusion\.(\d)\.mix$", lambda m: f"adsf{int(m[1]) + 1}.w"),
    _sub(r"^fusion\.(\d)\.conv1d\.", lambda m: f"adsf{int(m[1]) + 1}.conv1."),
    _sub(r"^fusion\.(\d)\.fc\.", lambda m: f"adsf{int(m[1]) + 1}.fc."),
    _sub(r"^dec\.(\d)\.", lambda m: f"dcbl{int(m[1]) + 1}.conv_layers."),
    (r"^head\.", "out."),
    _sub(r"^side\.(\d)\.", lambda m: f"gt_conv{3 - int(m[1])}.0."),
    (r"^fuse\.", "outconv."),
]
# inside MSM and CBAM (applied after the rules above)
SDS_INNER: Rules = [
    (r"(\.msm[0-9kqv]+)\.norm\.(weight|bias)$", r"\1.norm.body.\2"),
    _sub(r"\.rows\.(\d)\.", lambda m: f".conv_layers.conv1_1_{m[1]}."),
    _sub(r"\.cols\.(\d)\.", lambda m: f".conv_layers.conv2_1_{m[1]}."),
    (r"\.mdfa(\.\d)?\.spatial\.", r".mdfa\1.conv."),
]

MTU_VIT = {0: "vit5", 1: "vit4", 2: "vit3", 3: "vit2"}
MTU_DEC = {0: "conv3_1", 1: "conv2_2", 2: "conv1_3", 3: "conv0_4"}
MTU_RULES: Rules = [
    _sub(r"^enc\.(\d)\.", lambda m: f"conv{m[1]}_0."),
    _sub(r"^vits\.(\d)\.proj\.", lambda m: f"{MTU_VIT[int(m[1])]}.projection."),
    _sub(r"^vits\.(\d)\.pos$", lambda m: f"{MTU_VIT[int(m[1])]}.embedding"),
    _sub(r"^vits\.(\d)\.cls$", lambda m: f"{MTU_VIT[int(m[1])]}.cls_token"),
    _sub(
        r"^vits\.(\d)\.block\.(qkv|out|norm1|norm2|mlp)\.",
        lambda m: f"{MTU_VIT[int(m[1])]}.transformer.layer_blocks.0."
        + {"qkv": "multi_head_attention.qkv_layer", "out": "multi_head_attention.out_attention",
           "norm1": "layer_norm1", "norm2": "layer_norm2", "mlp": "mlp.mlp_layers"}[m[2]] + ".",
    ),
    (r"^bottleneck\.", "conv3_1_1."),
    _sub(r"^dec\.(\d)\.", lambda m: f"{MTU_DEC[int(m[1])]}."),
    (r"^head\.", "final."),
]


def sds_map(key: str) -> str:
    key = _mapper(SDS_RULES)(key)
    for pat, rep in SDS_INNER:
        key = re.sub(pat, rep, key)
    return key


# --- comparison ------------------------------------------------------------------------------------


def transfer_by_keys(ours: torch.nn.Module, ref: torch.nn.Module, key_map: Callable[[str], str]) -> list[str]:
    """Copy the reference's tensors into ours (our key -> ``key_map(key)``); returns the reference parameters
    left unused."""
    transfer(ref, ours, [((key_map(k),), k) for k in ours.state_dict()])
    used = {key_map(k) for k in ours.state_dict()}
    return [k for k, _ in ref.named_parameters() if k not in used]


def _diff(a: list[torch.Tensor], b: list[torch.Tensor]) -> tuple[float, float]:
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        shapes = [tuple(x.shape) for x in a], [tuple(y.shape) for y in b]
        raise AssertionError(f"output structure differs: {shapes[0]} vs {shapes[1]}")
    err = max(float((x - y).detach().abs().max()) for x, y in zip(a, b))
    scale = max(float(y.detach().abs().max()) for y in b)
    return err, scale


def _check_shape(ours, ref, key_map, x: torch.Tensor, ref_final, grads: bool) -> list[tuple]:
    """Eval outputs, training outputs (+ gradients, BN running statistics) of one input; restores ``ref``."""
    tag = str(x.dtype).removeprefix("torch.")
    checks = []
    ours.eval(), ref.eval()
    with torch.no_grad():
        checks.append((f"eval {tag}", *_diff([ours(x)], [ref_final(ref(x))])))
    ours_sd = {k: v.clone() for k, v in ours.state_dict().items()}
    ref_sd = {k: v.clone() for k, v in ref.state_dict().items()}
    ours.train(), ref.train()
    xo, xr = x.clone().requires_grad_(grads), x.clone().requires_grad_(grads)
    with torch.set_grad_enabled(grads):
        torch.manual_seed(1234)
        out_o = as_list(ours(xo))
        torch.manual_seed(1234)
        out_r = as_list(ref(xr))
    checks.append((f"train {tag}, {len(out_r)} outputs", *_diff(out_o, out_r)))
    if grads:
        w = [torch.randn(o.shape, generator=torch.Generator().manual_seed(i)).to(x.dtype) for i, o in enumerate(out_r)]
        sum((o * wi).sum() for o, wi in zip(out_o, w)).backward()
        sum((o * wi).sum() for o, wi in zip(out_r, w)).backward()
        rp = dict(ref.named_parameters())
        pairs = [(p.grad, rp[key_map(k)].grad) for k, p in ours.named_parameters()] + [(xo.grad, xr.grad)]
        # relative to each tensor's own gradient scale (they span many orders of magnitude); tensors whose
        # gradient is analytically zero (a conv bias before a training-mode BN) hold round-off only, so the
        # scale is floored at 1e-6 of the largest gradient
        floor = 1e-6 * max(float(b.abs().max()) for _, b in pairs)
        rel = max(float((a - b).abs().max()) / max(float(b.abs().max()), floor) for a, b in pairs)
        checks.append((f"train grads {tag} (rel.)", rel, 1.0))
    rsd = ref.state_dict()
    bufs = [(v, rsd[key_map(k)]) for k, v in ours.state_dict().items() if "running" in k]
    checks.append((f"BN running stats {tag}", *_diff([b[0] for b in bufs], [b[1] for b in bufs])))
    ours.load_state_dict(ours_sd)
    ref.load_state_dict(ref_sd)
    ours.zero_grad(set_to_none=True)
    ref.zero_grad(set_to_none=True)
    return checks


def compare(name: str, ours, ref, key_map, shapes, ref_final, float64: bool = True) -> dict:
    """Eval and train comparisons; ``ref_final`` picks the reference's final map from its eval output.

    float32 checks outputs as the networks run; float64 (when ``float64``) also checks gradients,
    with round-off small enough that any real difference would stand out.
    """
    unused = transfer_by_keys(ours, ref, key_map)
    n_unused = sum(dict(ref.named_parameters())[k].numel() for k in unused)
    res = {"name": name, "checks": [], "unused_ref_params": n_unused, "unused_names": unused}
    for shape in shapes:
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)))
        for dtype in (torch.float32, torch.float64) if float64 else (torch.float32,):
            ours.to(dtype), ref.to(dtype)
            for what, err, scale in _check_shape(ours, ref, key_map, x.to(dtype), ref_final, dtype == torch.float64):
                res["checks"].append((what, shape, err, scale, dtype))
        ours.float(), ref.float()
    return res


def run_sctransnet(pal: Path, shapes) -> dict:
    with standins.while_loading(REFERENCE_IMPORTS, "ref_sctransnet"):
        mod = _load(pal / "model/SCTransNet/SCTransNet_no_sigmoid.py", "ref_sctransnet")
    torch.manual_seed(0)
    ref = mod.SCTransNet_No_Sigmoid(mode="train")  # as PAL's train_model.py builds it (n_channels=3)
    perturb(ref, 1)
    return compare("sctransnet", create_model("sctransnet", in_chans=3), ref, _mapper(SCT_RULES), shapes,
                   lambda out: out[-1])


def run_sdsnet(pal: Path, shapes) -> dict:
    with standins.while_loading(REFERENCE_IMPORTS, "ref_sdsnet"):
        mod = _load(pal / "model/SDSNet/SDSNet_no_sigmoid.py", "ref_sdsnet")
    torch.manual_seed(0)
    ref = mod.SDSNet_No_Sigmoid(n_channels=3, n_classes=1, mode="train", deepsuper=True)
    perturb(ref, 2)
    return compare("sdsnet", create_model("sdsnet", in_chans=3), ref, sds_map, shapes, lambda out: out[-1])


def run_mtunet(root: Path, shapes, any_size: bool, float64: bool = True) -> dict:
    src = (root / "MTU_Net.py").read_text()
    if any_size:
        grid = "x=64, y=64"
        if src.count(grid) != 4:
            raise ValueError(f"{root / 'MTU_Net.py'}: expected the hard-coded token grid '{grid}' four times")
        src = src.replace(grid, "x=input.shape[2] // 16, y=input.shape[3] // 16")
    with standins.while_loading(REFERENCE_IMPORTS, "model", "model.vit", "model.MTU_Net"):
        pkg = types.ModuleType("model")  # the reference imports `model.vit`
        pkg.__path__ = [str(root)]
        sys.modules["model"] = pkg
        _load(root / "vit.py", "model.vit")
        mod = _load(root / "MTU_Net.py", "model.MTU_Net", src)
    torch.manual_seed(0)
    ref = mod.res_UNet(num_classes=1, input_channels=3, block=mod.Res_block, num_blocks=[2, 2, 2, 2],
                       nb_filter=[16, 32, 64, 128, 256])  # train.py defaults: channel_size three, resnet_18
    perturb(ref, 3)
    label = "mtunet" + (" (grid from input)" if any_size else " (as published)")
    return compare(label, create_model("mtunet", in_chans=3), ref, _mapper(MTU_RULES), shapes, lambda out: out,
                   float64=float64)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pal", type=Path, help="checkout of YuChuang1205/PAL (SCTransNet, SDSNet)")
    p.add_argument("--mtu", type=Path, help="MTU-Net-code/model folder of TianhaoWu16's MTU-Net repository")
    p.add_argument("--atol", type=float, default=1e-4, help="float32: max |diff| / max(1, output scale) accepted")
    p.add_argument("--atol64", type=float, default=1e-9, help="float64: the same")
    p.add_argument("--grad-rtol", type=float, default=1e-6, help="float64 gradients: max relative error per tensor")
    p.add_argument("--no-1024", action="store_true", help="skip MTU-Net at its published 1024 x 1024 size (slow)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    small = [(2, 3, 64, 64), (2, 3, 96, 160)]
    jobs = []
    if args.pal and (args.pal / "model/SCTransNet").is_dir():
        jobs += [lambda: run_sctransnet(args.pal, [*small, (2, 3, 256, 256)]), lambda: run_sdsnet(args.pal, small)]
    else:
        print("skip sctransnet, sdsnet: no PAL checkout given (--pal)")
    if args.mtu and (args.mtu / "MTU_Net.py").is_file():
        jobs.append(lambda: run_mtunet(args.mtu, [*small, (2, 3, 256, 256)], any_size=True))
        if not args.no_1024:
            jobs.append(lambda: run_mtunet(args.mtu, [(1, 3, 1024, 1024)], any_size=False, float64=False))
    else:
        print("skip mtunet: no MTU-Net reference given (--mtu)")
    ok = True
    for job in jobs:
        res = job()
        ours = create_model(res["name"].split()[0], in_chans=3)
        print(f"{res['name']}: ours {count_parameters(ours):,} parameters; reference parameters never used "
              f"in forward (not built by us): {res['unused_ref_params']:,} (paper_unused_params "
              f"{ours.paper_unused_params:,})")
        ok &= res["unused_ref_params"] == ours.paper_unused_params
        for what, shape, err, scale, dtype in res["checks"]:
            tol = args.grad_rtol if "grads" in what else args.atol if dtype == torch.float32 else args.atol64
            good = err <= tol * max(1.0, scale)
            ok &= good
            print(f"  {what:32s} {'x'.join(map(str, shape)):>16s}  max|diff| {err:.3g}  (scale {scale:.3g})"
                  f"{'' if good else '  FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
