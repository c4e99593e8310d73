"""The report as Markdown: pictures linked from the folder its writer puts their PNGs in."""

from __future__ import annotations

from .document import Document, Picture

#: a row's label by its kind (seed rows bold, the paper's rows italic)
LABEL_STYLES = {"paper": "*{}*", "seeds": "**{}**"}


def render_markdown(doc: Document, folder: str) -> str:
    """The Markdown text of ``doc``; picture ``p`` is linked as ``folder/<p.stem>.png``."""

    def img(p: Picture) -> str:
        return f"![{p.alt}]({folder}/{p.stem}.png)"

    warning = [f"**Warning: {doc.warning}.**", ""] if doc.warning else []
    lines = ["# fdep report", "", "## Results", "", doc.table_note, "", *warning,
             "| Run | " + " | ".join(s.label for s in doc.columns) + " |",
             "|---|" + "---:|" * len(doc.columns)]
    for row in doc.rows:
        label = LABEL_STYLES.get(row.kind, "{}").format(row.label.replace("|", "/"))
        lines.append(f"| {label} | " + " | ".join(c.value + c.diff for c in row.cells) + " |")
    lines.append("")
    lines += [f"- note: {n}" for n in doc.paper_notes]
    lines += [f"- {s.label}: `{s.test_dir}` ({s.dataset}, split {s.split}; {s.timing})" for s in doc.sources]
    lines += ["", "## Curves", ""]
    lines += [img(p) for p in doc.curves] or [doc.no_curves]
    lines += ["", "## Detections", "", doc.grid_note, ""]
    if doc.grid:
        lines.append(img(doc.grid))
    lines += ["", "## Learning curves", "", " ".join(doc.learning_note), ""]
    for s in doc.learning:
        lines += [f"### {s.label}", "", s.note, ""] + ([img(s.picture), ""] if s.picture else [])
    return "\n".join(lines) + "\n"
