"""``fdep vfm``: frozen VFM utilities (``fdep vfm cache`` precomputes a dataset's features, ``fdep vfm list``)."""

from __future__ import annotations

import argparse

from .options import add_device, add_quiet, add_threads


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("vfm", help="frozen vision foundation model utilities (feature cache, names)")
    sub = p.add_subparsers(dest="vfm_command", metavar="ACTION")

    c = sub.add_parser("cache", help="precompute a dataset's VFM features once (fp16, memory-mapped)")
    c.add_argument("--data", required=True,
                   help="dataset folder ROOT/NAME (BasicIRSTD layout), or several joined by '+' (a union)")
    c.add_argument("--vfm", required=True, help="VFM name (see `fdep vfm list`), local HF folder or Meta .pth")
    c.add_argument("--vfm-weights", default=None,
                   help="local HF folder or Meta dinov2_vit*14_pretrain.pth ('random': random init, timing only)")
    c.add_argument("--layers", default=None, help="VFM blocks to store, e.g. 6,12,18,24 (default: quarters)")
    c.add_argument("--split", default=None, help="only ids of img_idx/<split>_<NAME>.txt (default: every image)")
    add_device(c, "torch device for the VFM")
    add_threads(c)
    add_quiet(c, "no progress counter")
    c.add_argument("--out", required=True, help="new output folder for the cache")
    c.set_defaults(func=_cache)

    lst = sub.add_parser("list", help="known VFM names and their Hugging Face ids")
    lst.set_defaults(func=_list)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _cache(args: argparse.Namespace) -> int:
    from ..imageio import read_image
    from ..vfm import load_vfm, write_feature_cache
    from ..vfm.cache import spec_images

    images = spec_images(args.data, args.split)
    from ..tools.inference import resolve_device

    device = resolve_device(args.device)
    vfm = load_vfm(args.vfm, layers=args.layers, weights=args.vfm_weights).to(device)
    total = len(images)
    from ..progress import Counter

    with Counter("fdep vfm cache: image", total=total, enabled=not args.quiet) as counter:
        out = write_feature_cache(vfm, ((i, read_image(p) / 255.0) for i, p in images), args.out,
                                  progress=lambda image_id: counter.update(1, image_id))
    print(f"cached {vfm.name} layers {','.join(map(str, vfm.layers))} for {total} images -> {out}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from ..vfm import VFM_SPECS, meta_url

    for name, spec in sorted(VFM_SPECS.items()):
        url = meta_url(name)
        print(f"{name:22s} {spec.hf_id:45s} depth {spec.depth:2d}" + (f"  meta: {url}" if url else ""))
    return 0
