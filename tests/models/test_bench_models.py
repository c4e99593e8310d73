"""benchmarks/bench_models.py: the marked docs section rewrite and a tiny end-to-end run."""

from __future__ import annotations

import pytest

from fdep.errors import InputError, ModelError
from fdep.models import list_models
from tests.scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("benchmarks/bench_models.py")


def test_replace_section_keeps_the_rest(bench):
    text = f"# T\nintro\n{bench.BEGIN}\nold table\n{bench.END}\nafter\n"
    new = bench.replace_section(text, "| new |\n")
    assert new == f"# T\nintro\n{bench.BEGIN}\n| new |\n{bench.END}\nafter\n"
    assert bench.replace_section(new, "| again |") == new.replace("| new |", "| again |")
    with pytest.raises(InputError, match="doc.md: no"):
        bench.replace_section("no markers here", "x", "doc.md")
    with pytest.raises(InputError):
        bench.replace_section(f"{bench.END}\n{bench.BEGIN}", "x")


def test_markers_mentioned_in_prose_are_not_the_section(bench):
    text = f"see `{bench.BEGIN}` and `{bench.END}` below\n\n{bench.BEGIN}\nold\n{bench.END}\n"
    assert bench.replace_section(text, "new") == text.replace("old", "new")
    with pytest.raises(InputError):
        bench.replace_section(f"see `{bench.BEGIN}` and `{bench.END}`", "new")


def test_pick_baseline(bench):
    names = list_models()
    expected = "acm" if "acm" in names else names[0]
    assert bench.pick_baseline(names, None) == expected
    assert bench.pick_baseline(names, names[-1].upper()) == names[-1]
    with pytest.raises(ModelError, match="baseline"):
        bench.pick_baseline(names, "no-such-net")


def test_end_to_end_writes_only_the_marked_section(bench, tmp_path, capsys):
    name = list_models()[0]
    doc = tmp_path / "models.md"
    doc.write_text(f"before\n{bench.BEGIN}\n{bench.END}\nafter\n")
    args = [name, "--size", "32", "--flops-sizes", "32", "64", "--repeats", "1", "--warmup", "0", "--baseline", name]
    assert bench.main([*args, "--write-docs", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith(f"before\n{bench.BEGIN}\n| model |") and text.endswith(f"{bench.END}\nafter\n")
    row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == 7 and cells[-1] == "1.00"  # the baseline relative to itself
    assert float(cells[4]) == pytest.approx(4 * float(cells[3]), rel=0.01)  # FLOPs scale with the area
    assert "| model |" in capsys.readouterr().out


def test_errors_are_one_line(bench, tmp_path, capsys):
    assert bench.main(["--size", "100"]) == 2
    assert "multiples of 32" in capsys.readouterr().err
    assert bench.main(["no-such-net"]) == 2
    assert "unknown model" in capsys.readouterr().err
    missing = tmp_path / "none.md"
    assert bench.main(["--write-docs", str(missing)]) == 2  # checked before anything is measured
    assert "file not found" in capsys.readouterr().err and not missing.exists()
    plain = tmp_path / "plain.md"
    plain.write_text("no markers")
    assert bench.main(["--write-docs", str(plain)]) == 2
    assert "section (each marker on its own line) to rewrite" in capsys.readouterr().err
    assert plain.read_text() == "no markers"
