"""The import rules of docs/architecture.md, checked on the source: no package imports upwards."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "fdep"
#: leaf modules (__version__: the root package's attribute)
LEAVES = {"errors", "fileio", "imageio", "inputrange", "cpu", "progress", "__version__"}

#: package -> the fdep packages it may import (besides itself and the leaf modules)
ALLOWED: dict[str, set[str]] = {
    "metrics": set(),
    "data": set(),
    "models": set(),
    "vfm": set(),
    "losses": set(),
    "paper": set(),
    "framework": {"models", "vfm"},
    "training": {"framework", "models", "vfm", "data", "metrics", "losses"},
    "tools": {"training", "framework", "models", "vfm", "data", "metrics", "losses", "paper"},
    "cli": {"tools", "training", "framework", "models", "vfm", "data", "metrics", "losses", "paper"},
}


def imported_fdep_packages(path: Path) -> set[str]:
    """Top-level fdep packages/modules a source file imports (absolute or relative imports)."""
    rel_parts = path.relative_to(SRC).parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(rel_parts[:-1])[: len(rel_parts) - node.level]
                target = base + (node.module.split(".") if node.module else [])
                if not target:  # "from .. import x" at the package root
                    target = [a.name for a in node.names][:1]
                names = ["fdep." + ".".join(target)]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "fdep" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_every_package_imports_only_what_the_architecture_allows():
    bad = []
    for package, allowed in ALLOWED.items():
        for path in sorted((SRC / package).rglob("*.py")):
            for imported in imported_fdep_packages(path) - allowed - LEAVES - {package}:
                bad.append(f"{path.relative_to(SRC)} imports fdep.{imported}")
    assert not bad, "\n".join(bad)


def test_leaf_modules_import_only_each_other():
    for leaf in LEAVES - {"__version__"}:
        assert imported_fdep_packages(SRC / f"{leaf}.py") <= LEAVES


def test_rule_table_covers_every_package():
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(ALLOWED)


def test_checker_sees_relative_and_absolute_imports(tmp_path, monkeypatch):
    # the checker itself must resolve every import form, or the rule test above could never fail
    root = tmp_path / "fdep"
    (root / "models" / "networks").mkdir(parents=True)
    probe = root / "models" / "networks" / "x.py"
    probe.write_text("from ...training import a\nfrom ..base import b\nimport fdep.tools.report\n"
                     "from fdep.vfm import c\nfrom ... import metrics\nimport numpy\n")
    monkeypatch.setitem(globals(), "SRC", root)
    assert imported_fdep_packages(probe) == {"training", "models", "tools", "vfm", "metrics"}
