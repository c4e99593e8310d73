"""``fdep export``: the inference network as ONNX (dynamic H/W) and/or TorchScript, verified."""

from __future__ import annotations

import argparse

from .options import add_threads


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..tools.export_options import DEFAULT_ATOL, DEFAULT_OPSET, EXPORTERS

    p = sub.add_parser(
        "export",
        help="export the inference network to ONNX / TorchScript (checked against PyTorch)",
        description="Export the network that runs at inference (the light branch of an fdep checkpoint: the plain "
        "original network) with dynamic batch, height and width. Each exported file is compared with PyTorch on "
        "random inputs of two sizes and rejected if it disagrees. The ONNX file records mean/std/size_multiple "
        "so `fdep predict --checkpoint FILE.onnx` preprocesses correctly.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--checkpoint", help="a Lightning .ckpt or an exported network folder")
    which.add_argument("--model", help="with --weights: the network of a published weight set (as fdep predict/test)")
    p.add_argument("--weights", help="with --model NAME: a published weight set of that network (e.g. nuaa-sirst; "
                   "fdep models --weights lists them), a folder written by fdep export --hub, or a Hugging Face repo "
                   "id in the local cache")
    p.add_argument("--onnx", help="ONNX file to write")
    p.add_argument("--torchscript", help="TorchScript file to write (torch.jit.trace)")
    p.add_argument("--hub", metavar="DIR", help="write a Hugging Face model-repo folder: config.json, "
                   "model.safetensors and a README.md model card (loadable with --weights DIR)")
    p.add_argument("--results", help="with --hub: the fdep test results.json for the model card (default: "
                   "RUN_DIR/test_test/results.json when present)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    p.add_argument("--exporter", choices=EXPORTERS, default="auto",
                   help="ONNX exporter: dynamo (torch.export), legacy (TorchScript-based) or auto "
                   "(dynamo, falling back to legacy; default)")
    p.add_argument("--atol", type=float, default=DEFAULT_ATOL,
                   help=f"accepted max |exported - PyTorch| on logits (default {DEFAULT_ATOL:g}; rtol likewise)")
    p.add_argument("--vfm-weights", default=None,
                   help="VFM weights for fdep-main checkpoints, whose inference network includes the VFM")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_threads(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..tools.export import check_export_outputs, run_export
    from .weights_arg import checkpoint_from_weights

    check_export_outputs(args.onnx, args.torchscript, overwrite=args.overwrite)  # before the Hub folder is written
    if args.model and args.weights is None:
        from ..models import get_model_factory

        if getattr(get_model_factory(args.model), "kind", "learned") == "classical":
            raise InputError(f"{args.model} is a classical method: it has no trained weights to export")
        raise InputError(f"--model {args.model} needs --weights TAG (a published weight set; fdep models --weights "
                         f"lists them), or give --checkpoint")
    checkpoint, _, _ = checkpoint_from_weights(args)
    args.checkpoint = checkpoint
    if args.hub:
        from ..tools.hub_export import export_hub

        out = export_hub(args.checkpoint, args.hub, overwrite=args.overwrite, results=args.results)
        print(f"wrote {out}/ (config.json, model.safetensors, README.md): upload it as a Hugging Face model repo, "
              f"or load it with --weights {out}")
        if not (args.onnx or args.torchscript):
            return 0
    for s in run_export(args.checkpoint, args.onnx, args.torchscript, opset=args.opset, exporter=args.exporter,
                        overwrite=args.overwrite, atol=args.atol, rtol=args.atol,
                        vfm_weights=args.vfm_weights):
        how = f" ({s['exporter']} exporter, opset {s['opset']})" if s["format"] == "onnx" else ""
        shapes = ", ".join("x".join(map(str, shp)) for shp in s["checked_shapes"])
        print(f"wrote {s['path']}{how}; matches PyTorch on {shapes} (max abs error {s['max_abs_error']:.2e})")
    return 0
