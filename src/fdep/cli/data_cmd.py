"""`fdep data download|prepare|check|synth`: get, verify and generate SIRST datasets."""

from __future__ import annotations

import argparse
import sys
import time

from .options import add_quiet


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("data", help="download, prepare, check or synthesise datasets")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    d = sub.add_parser("download", help="download a public dataset and unpack it into the BasicIRSTD layout")
    d.add_argument("name", help="NUAA-SIRST, NUDT-SIRST or IRSTD-1K")
    d.add_argument("--root", required=True, help="folder that will hold ROOT/NAME")
    d.add_argument("--sha256", help="expected SHA-256 of the downloaded archive (pins the release)")
    d.add_argument("--url", help="download from this URL instead of the official location")
    add_quiet(d, "no progress bars")
    d.add_argument("--max-unpacked-gb", type=float, default=None, metavar="GB",
                   help="refuse archives whose files add up to more than this (default 10; a guard against "
                   "archive bombs)")
    d.set_defaults(func=_download)

    r = sub.add_parser("prepare", help="prepare a dataset from an archive or folder you already have")
    r.add_argument("name", help="NUAA-SIRST, NUDT-SIRST or IRSTD-1K")
    r.add_argument(
        "--from", dest="source", required=True, metavar="ARCHIVE_OR_FOLDER", help="zip/tar archive or folder"
    )
    r.add_argument("--root", required=True, help="folder that will hold ROOT/NAME")
    r.add_argument("--sha256", help="expected SHA-256 of the archive")
    add_quiet(r, "no progress bars")
    r.add_argument("--max-unpacked-gb", type=float, default=None, metavar="GB",
                   help="refuse archives whose files add up to more than this (default 10; a guard against "
                   "archive bombs)")
    r.set_defaults(func=_prepare)

    c = sub.add_parser("check", help="validate a dataset folder and list every problem")
    c.add_argument("dataset", help="dataset folder ROOT/NAME (several joined by '+')")
    c.add_argument("--strict", action="store_true", help="warnings (non-binary or empty masks) also fail")
    c.add_argument("--per-image", action="store_true",
                   help="also list every image's stored type and value range (the summary gives them per type)")
    c.set_defaults(func=_check)

    s = sub.add_parser("synth", help="write a synthetic infrared small-target dataset")
    s.add_argument("--n", type=int, default=500, help="number of images (default 500)")
    s.add_argument("--size", type=int, default=256, help="image side in pixels (default 256)")
    s.add_argument("--out", required=True, help="output root; the dataset is written to OUT/NAME")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--name", default="synthetic", help="dataset name (default synthetic)")
    s.set_defaults(func=_synth)


def _cap(args: argparse.Namespace) -> dict:
    from ..errors import InputError

    if args.max_unpacked_gb is None:
        return {}
    if not args.max_unpacked_gb > 0:
        raise InputError(f"--max-unpacked-gb must be > 0, got {args.max_unpacked_gb}")
    return {"max_unpacked_gb": args.max_unpacked_gb}


def _download(args: argparse.Namespace) -> int:
    from ..data.download import download

    download(args.name, args.root, sha256=args.sha256, url=args.url, progress=not args.quiet, **_cap(args))
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from ..data.prepare import prepare

    prepare(args.name, args.source, args.root, sha256=args.sha256, progress=not args.quiet, **_cap(args))
    return 0


def _check(args: argparse.Namespace) -> int:
    from ..data.layout import expand_spec
    from ..data.validate import check_dataset

    n_err = n_warn = 0
    for folder in expand_spec(args.dataset):
        problems = check_dataset(folder)
        for p in problems:
            print(f"{p.severity}: {p.message}")
        _print_value_ranges(folder, args.per_image)
        e = sum(p.severity == "error" for p in problems)
        w = len(problems) - e
        n_err, n_warn = n_err + e, n_warn + w
        print(f"{folder}: {e} error(s), {w} warning(s)", file=sys.stderr)
    if n_err or (args.strict and n_warn):
        return 1
    return 0


def _print_value_ranges(folder, per_image: bool) -> None:
    """The images' stored types and value ranges (bit depth), summarised per type: see docs/data.md."""
    from ..data.layout import scan
    from ..errors import InputError
    from ..imageio import stored_kind
    from ..inputrange import stored_summary

    items = []
    for _, path in sorted(scan(folder).images.items()):
        try:
            kind, lo, hi = stored_kind(path)
        except InputError:
            continue  # reported above as an unreadable file
        items.append((path.name, kind, lo, hi))
        if per_image:
            print(f"image: {path}: {kind}, values {lo:.6g}-{hi:.6g}")
    for line in stored_summary(items):
        print(f"values: {folder}: {line}")


def _synth(args: argparse.Namespace) -> int:
    from ..data.synthetic import generate_synthetic

    t = time.perf_counter()
    path = generate_synthetic(args.out, n=args.n, size=args.size, seed=args.seed, name=args.name)
    print(f"{path}: {args.n} synthetic images ({args.size}x{args.size}) in {time.perf_counter() - t:.1f} s")
    return 0
