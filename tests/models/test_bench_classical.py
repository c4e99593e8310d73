"""benchmarks/bench_classical.py: a tiny end-to-end run, the marked docs section, one-line errors."""

from __future__ import annotations

import pytest

from fdep.errors import InputError
from tests.scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("benchmarks/bench_classical.py")


def test_replace_section(bench):
    text = f"# T\n{bench.BEGIN}\nold\n{bench.END}\nafter\n"
    assert bench.replace_section(text, "new\n") == f"# T\n{bench.BEGIN}\nnew\n{bench.END}\nafter\n"
    with pytest.raises(InputError, match="doc.md: no"):
        bench.replace_section("nothing", "x", "doc.md")


def test_synthetic_run_writes_the_section(bench, tmp_path, capsys):
    doc = tmp_path / "models.md"
    doc.write_text(f"before\n{bench.BEGIN}\n{bench.END}\nafter\n")
    args = ["--methods", "fkrw", "--images", "2", "--ref-images", "1", "--data", str(tmp_path / "none"),
            "--write-docs", str(doc)]
    assert bench.main(args) == 0
    text = doc.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| fkrw |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[4] == "0.189" and cells[1].endswith("n=2") and cells[2].endswith("n=1")
    assert float(cells[6]) < 1e-6  # ours equals the straightforward implementation
    assert "synthetic (NUAA test sizes)" in text and text.endswith(f"{bench.END}\nafter\n")
    assert "| fkrw |" in capsys.readouterr().out


def test_errors_are_one_line(bench, tmp_path, capsys):
    assert bench.main(["--methods", "tophat"]) == 2
    assert "unknown method(s) tophat" in capsys.readouterr().err
    assert bench.main(["--images", "2", "--ref-images", "3"]) == 2
    assert "--ref-images" in capsys.readouterr().err
    assert bench.main(["--write-docs", str(tmp_path / "missing.md")]) == 2
    assert "file not found" in capsys.readouterr().err
