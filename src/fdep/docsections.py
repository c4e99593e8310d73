"""Generated sections of Markdown files: the text between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``.

Benchmarks write their measured tables into docs/, and docs/ tables generated from the code
(options, the zoo) are checked against it by tests; both go through this one module, so a marked
section is found, replaced and reported missing in one way. Markers count only on a line of their
own, so prose may quote them.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import InputError
from .fileio import atomic_write


def markers(name: str) -> tuple[str, str]:
    """The begin and end marker lines of section ``name``."""
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def _span(text: str, name: str, where: str) -> tuple[int, int]:
    begin, end = markers(name)
    b = re.search(rf"^[ \t]*{re.escape(begin)}[ \t]*$", text, re.M)
    e = re.search(rf"^[ \t]*{re.escape(end)}[ \t]*$", text[b.end():] if b else "", re.M)
    if not b or not e:
        raise InputError(f"{where}: no '{begin}' ... '{end}' section (each marker on its own line) to rewrite "
                         f"or check")
    return b.end(), b.end() + e.start()


def read_section(text: str, name: str, where: str = "<text>") -> str:
    """The body of section ``name`` in ``text``, without the marker lines or surrounding newlines."""
    start, stop = _span(text, name, where)
    return text[start:stop].strip("\n")


def replace_section(text: str, name: str, body: str, where: str = "<text>") -> str:
    """``text`` with the body of section ``name`` replaced by ``body`` (everything else unchanged)."""
    start, stop = _span(text, name, where)
    return text[:start] + "\n" + body.strip("\n") + "\n" + text[stop:]


def check_section(path: str | Path, name: str) -> str:
    """The file's text, after checking the file exists and holds section ``name`` (call before measuring)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found (a marked section is rewritten in an existing file)")
    text = path.read_text(encoding="utf-8")
    _span(text, name, str(path))
    return text


def write_section(path: str | Path, name: str, body: str) -> None:
    """Replace section ``name`` of the file at ``path`` with ``body``, atomically."""
    new = replace_section(check_section(path, name), name, body, str(path))
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(new)
