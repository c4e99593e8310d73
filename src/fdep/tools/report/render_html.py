"""The report as one self-contained HTML page: every picture embedded as base64, every text escaped."""

from __future__ import annotations

import base64
import html

from .document import Document, Picture

#: a row's <tr> by its kind (seed rows bold, the paper's rows grey and italic, see the style sheet)
ROW_TAGS = {"paper": '<tr class="paper">', "seeds": '<tr class="seeds">'}


def _img(picture: Picture) -> str:
    data = base64.b64encode(picture.png).decode("ascii")
    return f'<img alt="{picture.alt}" src="data:image/png;base64,{data}">'


def render_html(doc: Document) -> str:
    """The HTML page of ``doc``."""
    esc = html.escape
    head = "".join(f"<th>{esc(s.label)}</th>" for s in doc.columns)
    body = "".join(
        ROW_TAGS.get(row.kind, "<tr>") + f"<th>{esc(row.label)}</th>" + "".join(
            f"<td data-key=\"{c.key}\">{c.value}<span class=\"d\">{c.diff}</span></td>" for c in row.cells) + "</tr>"
        for row in doc.rows)
    notes = "".join(f"<li>{esc(n)}</li>" for n in doc.paper_notes)
    warning = f'<p class="warn"><b>Warning: {esc(doc.warning)}.</b></p>' if doc.warning else ""
    sources = "".join(
        f"<li>{esc(s.label)}: <code>{esc(s.test_dir)}</code> ({esc(s.dataset)}, split {esc(s.split)}, "
        f"{esc(s.n_images)} images; {esc(s.timing)})</li>" for s in doc.sources)
    plots = "".join(_img(p) for p in doc.curves) or f"<p>{doc.no_curves}</p>"
    learn = "".join(f"<h3>{esc(s.label)}</h3><p>{esc(s.note)}</p>" + (_img(s.picture) if s.picture else "")
                    for s in doc.learning)
    learning_note = "\n".join(html.escape(line, quote=False) for line in doc.learning_note)  # element text
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>fdep report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}th:first-child{{text-align:left}}
.d{{color:#666;font-size:85%}}tr.seeds{{font-weight:bold}}tr.paper{{color:#555;font-style:italic;background:#f6f6f6}}
img{{max-width:100%;margin:4px}}.warn{{color:#a00}}</style></head><body>
<h1>fdep report</h1>
<h2>Results</h2>
<p>{esc(doc.table_note)}</p>
{warning}
<table><tr><th>Run</th>{head}</tr>
{body}</table>
{f"<ul>{notes}</ul>" if notes else ""}
<ul>{sources}</ul>
<h2>Curves</h2>
{plots}
<h2>Detections</h2>
<p>{esc(doc.grid_note)}</p>
{_img(doc.grid) if doc.grid else ""}
<h2>Learning curves</h2>
<p>{learning_note}</p>
{learn}
</body></html>
"""
