"""Marked Markdown sections: found only as whole marker lines, replaced without touching the rest."""

from __future__ import annotations

import pytest

from fdep.docsections import read_section, replace_section, write_section
from fdep.errors import InputError

DOC = """# Title
Prose that quotes `<!-- t:begin -->` inline is not a marker.
<!-- t:begin -->
old body
<!-- t:end -->
after
"""


def test_replace_keeps_everything_outside_the_section():
    new = replace_section(DOC, "t", "| a |\n| - |\n")
    assert new == DOC.replace("old body", "| a |\n| - |")
    assert read_section(new, "t") == "| a |\n| - |"


def test_inline_mention_or_missing_end_is_not_a_section():
    with pytest.raises(InputError, match="no '<!-- u:begin -->'"):
        read_section(DOC, "u")
    with pytest.raises(InputError, match="doc.md"):
        replace_section("<!-- t:begin -->\nno end\n", "t", "x", "doc.md")


def test_write_section_rewrites_the_file_and_refuses_a_missing_file(tmp_path):
    p = tmp_path / "doc.md"
    p.write_text(DOC, encoding="utf-8")
    write_section(p, "t", "new")
    assert p.read_text(encoding="utf-8") == DOC.replace("old body", "new")
    with pytest.raises(InputError, match="file not found"):
        write_section(tmp_path / "none.md", "t", "new")
