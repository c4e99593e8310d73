"""``fdep report``: compare test runs (table, PR/ROC curves, overlay grid) in HTML or Markdown."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="comparison report of test runs (HTML or Markdown)",
        description="Compare the test outputs of several runs (RUN_DIR/test_<split>/ from fdep test): a table like "
        "the paper's Tables 1/2 with differences to the first run, pixel/target PR and ROC curves, and an overlay "
        "grid like the paper's Fig. 3. HTML is one self-contained file; Markdown writes its PNGs to "
        "<name>_files/ beside it.",
    )
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories (or their test_<split> folders)")
    p.add_argument("--out", required=True, help="report file: .html or .md")
    p.add_argument("--split", default=None, help="which test_<split> to read when a run has several")
    p.add_argument("--images", type=int, default=4, help="images in the overlay grid (default 4)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..tools.report import write_report

    out = write_report(args.runs, args.out, split=args.split, n_images=args.images, overwrite=args.overwrite,
                       warn=lambda text: print(f"fdep report: warning: {text}"))
    print(f"wrote {out}")
    return 0
