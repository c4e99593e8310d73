"""The generated sections of docs/ equal what the code renders today (docs/generate.py)."""

from __future__ import annotations

from tests.scripts import load_script


def load_generator():
    return load_script("docs/generate.py")


def test_every_generated_section_matches_the_code():
    gen = load_generator()
    assert gen.stale() == [], "run: python docs/generate.py"


def test_check_reports_a_stale_section(tmp_path, monkeypatch):
    gen = load_generator()
    doc = tmp_path / "t.md"
    doc.write_text("<!-- t:begin -->\nold\n<!-- t:end -->\n", encoding="utf-8")
    monkeypatch.setattr(gen, "DOCS", tmp_path)
    monkeypatch.setattr(gen, "SECTIONS", {"t": ("t.md", lambda: "new")})
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0
    assert gen.main(["--check"]) == 0
    assert doc.read_text(encoding="utf-8") == "<!-- t:begin -->\nnew\n<!-- t:end -->\n"
