"""``write_report``: load the runs, build the document, render it as HTML or Markdown and write it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ...errors import InputError, OutputExistsError
from ...fileio import atomic_write, check_output_file
from .document import build_document
from .render_html import render_html
from .render_markdown import render_markdown
from .runs import label_runs, load_run


def write_report(run_dirs: list[str | os.PathLike], out_path: str | os.PathLike, *, split: str | None = None,
                 n_images: int = 4, overwrite: bool = False, warn: Callable[[str], None] | None = None) -> Path:
    """Write the comparison report of ``run_dirs`` to ``out_path`` (.html or .md); returns the path.

    ``warn`` is called with the sentence the report carries when the runs were tested on different data.
    Markdown writes its pictures to ``<report stem>_files/`` beside the report.
    """
    out = Path(out_path)
    fmt = out.suffix.lower()
    if fmt not in (".html", ".htm", ".md"):
        raise InputError(f"{out}: report must end in .html or .md")
    if not run_dirs:
        raise InputError("no run directories given")
    check_output_file(out, replace=overwrite)
    runs = [load_run(p, split) for p in run_dirs]
    label_runs(runs)
    doc = build_document(runs, n_images, warn)
    if fmt == ".md":
        files_dir = out.parent / f"{out.stem}_files"
        pictures = doc.pictures()
        clash = [files_dir / f"{p.stem}.png" for p in pictures if (files_dir / f"{p.stem}.png").exists()]
        if clash and not overwrite:
            raise OutputExistsError(f"{clash[0]} already exists; use --overwrite or another --out")
        for p in pictures:
            with atomic_write(files_dir / f"{p.stem}.png", "wb") as f:
                f.write(p.png)
        text = render_markdown(doc, files_dir.name)
    else:
        text = render_html(doc)
    with atomic_write(out, "w", encoding="utf-8") as f:
        f.write(text)
    return out
