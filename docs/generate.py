"""Rewrite (or check) the sections of docs/ that are generated from the code.

Each entry of ``SECTIONS`` names a Markdown file, a marked section in it
(``<!-- NAME:begin -->`` ... ``<!-- NAME:end -->``, see ``fdep.docsections``) and the function
that renders its body from the code. ``python docs/generate.py`` rewrites every section;
``--check`` rewrites nothing and exits 1 naming each section that differs from the code
(tests/test_docs_generated.py runs it), so a table in docs/ cannot drift from what it describes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from fdep.docsections import check_section, read_section, write_section

DOCS = Path(__file__).resolve().parent


def metric_specs_table() -> str:
    """docs/metrics.md: how each stored metric is printed (fdep.metrics.METRIC_SPECS)."""
    from fdep.metrics import METRIC_SPECS

    lines = ["| key | printed as | printed value | better |", "|---|---|---|---|"]
    lines += [f"| `{s.key}` | {s.label} | {s.scale:,.0f} x the stored value | "
              f"{'lower' if s.lower_is_better else 'higher'} |" for s in METRIC_SPECS.values()]
    return "\n".join(lines)


def train_options() -> str:
    """docs/training.md's table of every ``fdep train`` key: its flag, its default (and the authors protocol's value
    where that differs) and its help, all read from TrainConfig's fields (P: a key the protocol sets)."""
    from dataclasses import fields

    from fdep.training.config import PROTOCOL_KEYS, TrainConfig, protocol_settings, shown_value

    authors = protocol_settings("authors")
    rows = ["| key | flag | default | meaning |", "|---|---|---|---|"]
    for f in fields(TrainConfig):
        key = f"`{f.name}`" + (" P" if f.name in PROTOCOL_KEYS else "")
        flag = f.metadata.get("flag", "--" + f.name.replace("_", "-"))
        default = f"`{shown_value(f.default)}`"
        if f.name in authors and authors[f.name] != f.default:
            default += f" (authors: `{shown_value(authors[f.name])}`)"
        rows.append(f"| {key} | `{flag}` | {default} | {f.metadata['help'].replace('|', chr(92) + '|')} |")
    return "\n".join(rows)


def zoo_table() -> str:
    """docs/models.md: every registered network and classical method with its kind, parameters (ours, 1 input
    channel, and the paper's), FDEP's top feature, deep supervision, published weight sets and source."""
    import torch

    from fdep.models import count_parameters, create_model, get_model_factory, list_models
    from fdep.models.weights import list_weights

    rows = ["| name | kind | params (M) | paper (M) | top ch / stride | deep sup. | weights | source |",
            "|---|---|---:|---:|---|---|---|---|"]
    for name in list_models():
        cls = get_model_factory(name)
        with torch.device("meta"):  # shapes only: no memory, no arithmetic
            params = count_parameters(create_model(name))
        paper, unused = getattr(cls, "paper_params_m", None), int(getattr(cls, "paper_unused_params", 0))
        paper_text = "-" if not paper else f"{paper:.2f}" + (f" ({unused:,} unused)" if unused else "")
        top = f"{cls.top_channels} / {cls.top_stride}" if getattr(cls, "top_channels", 0) else "-"
        tags = ", ".join(f"`{w.tag}`" for w in list_weights(name)) or "-"
        rows.append(f"| `{name}` | {cls.kind} | {params / 1e6:.2f} | {paper_text} | {top} | "
                    f"{'yes' if cls.deep_supervision else 'no'} | {tags} | {cls.source} |")
    return "\n".join(rows)


def weight_sets_table() -> str:
    """docs/models.md: the published weight sets, from their release records (fdep.models.weights.WEIGHTS)."""
    from fdep.models.weights import WEIGHTS

    def num(d: dict, k: str) -> str:
        return f"{d[k]:.2f}" if d.get(k) is not None else "-"

    rows = ["| set | dataset | protocol, variant, seed | crop | epochs (best) | HSE | IoU | Pd | "
            "paper HSE / IoU / Pd | MB | sha256 |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for w in WEIGHTS:
        paper = " / ".join(num(w.paper, k) for k in ("hse", "iou", "pd"))
        where = f" (Table {w.paper_table})" if w.paper_table else ""
        rows.append(f"| `{w.name}` | {w.dataset} | {w.protocol}, {w.variant}, seed {w.seed} | {w.crop} | "
                    f"{w.epochs} ({w.best_epoch}) | {num(w.scores, 'hse')} | {num(w.scores, 'iou')} | "
                    f"{num(w.scores, 'pd')} | {paper}{where} | {w.size_bytes / 1e6:.2f} | `{w.sha256}` |")
    return "\n".join(rows)


#: section name -> (file under docs/, function returning the section's Markdown body)
SECTIONS: dict[str, tuple[str, Callable[[], str]]] = {
    "metric-specs": ("metrics.md", metric_specs_table),
    "train_options": ("training.md", train_options),
    "zoo": ("models.md", zoo_table),
    "weight_sets": ("models.md", weight_sets_table),
}


def stale() -> list[str]:
    """The sections whose text in docs/ differs from what the code renders now."""
    out = []
    for name, (file, render) in SECTIONS.items():
        path = DOCS / file
        if read_section(check_section(path, name), name, str(path)) != render().strip("\n"):
            out.append(f"{file}: section {name}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="rewrite nothing; exit 1 if a section differs from the code")
    args = p.parse_args(argv)
    if args.check:
        bad = stale()
        for line in bad:
            print(f"stale: {line} (run: python docs/generate.py)", file=sys.stderr)
        return 1 if bad else 0
    for name, (file, render) in SECTIONS.items():
        write_section(DOCS / file, name, render())
        print(f"wrote {file}: section {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
