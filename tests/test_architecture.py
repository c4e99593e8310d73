"""The import rules of docs/architecture.md, checked on the source: no package imports upwards."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "fdep"
#: leaf modules, or leaf packages (fileio/) whose modules import only leaves (__version__: the root package's attribute)
LEAVES = {"errors", "fileio", "imageio", "inputrange", "cpu", "progress", "docsections", "choices", "torchload",
          "__version__"}

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


def leaf_files(leaf: str) -> list[Path]:
    """The source files of a leaf: its module, or every module of a leaf package."""
    module = SRC / f"{leaf}.py"
    return [module] if module.exists() else sorted((SRC / leaf).rglob("*.py"))


def leaf_packages() -> list[str]:
    return sorted(leaf for leaf in LEAVES if (SRC / leaf / "__init__.py").exists())


def test_leaf_modules_import_only_each_other():
    for leaf in LEAVES - {"__version__"}:
        assert leaf_files(leaf), f"no source for the leaf {leaf}"
        for path in leaf_files(leaf):
            assert imported_fdep_packages(path) <= LEAVES, path


def test_rule_table_covers_every_package():
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages - set(leaf_packages()) == set(ALLOWED)


def test_checker_sees_relative_and_absolute_imports(tmp_path, monkeypatch):
    # the checker itself must resolve every import form, or the rule test above could never fail
    root = tmp_path / "fdep"
    (root / "models" / "networks").mkdir(parents=True)
    probe = root / "models" / "networks" / "x.py"
    probe.write_text("from ...training import a\nfrom ..base import b\nimport fdep.tools.report\n"
                     "from fdep.vfm import c\nfrom ... import metrics\nimport numpy\n")
    monkeypatch.setitem(globals(), "SRC", root)
    assert imported_fdep_packages(probe) == {"training", "models", "tools", "vfm", "metrics"}


def module_imports(path: Path) -> set[str]:
    """Dotted fdep modules a source file imports (``fdep.models.registry``), function-local imports included:
    an import hidden in a function still ties the two modules together."""
    here = list(path.relative_to(SRC.parent).with_suffix("").parts[:-1])  # the module's package
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("fdep.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                mod = ".".join(base + (node.module.split(".") if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("fdep"):
                found.add(mod)
                found |= {f"{mod}.{a.name}" for a in node.names}  # "from . import weights" names a module
    return found


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_cycles(paths: list[Path]) -> list[list[str]]:
    """Cycles among the modules of one package (a package's __init__ re-exporting is not an edge inward)."""
    names = {_module_name(p): p for p in paths}
    graph = {n: {m for m in module_imports(p) if m in names and m != n and names[m].name != "__init__.py"}
             for n, p in names.items() if p.name != "__init__.py"}
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    return cycles


def test_no_import_circles_inside_a_package():
    bad = []
    for package in [*ALLOWED, *leaf_packages()]:
        for folder in [SRC / package, *[p for p in (SRC / package).rglob("*") if p.is_dir()]]:
            paths = sorted(folder.glob("*.py"))
            bad += [" -> ".join(c) for c in import_cycles(paths)]
    assert not bad, "\n".join(bad)


def test_cycle_checker_sees_a_hidden_circle(tmp_path, monkeypatch):
    root = tmp_path / "fdep" / "models"
    root.mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "registry.py").write_text("def create():\n    from .weights import load\n")
    (root / "weights.py").write_text("from .pretrained import read\n")
    (root / "pretrained.py").write_text("from .registry import create\n")
    (root / "base.py").write_text("import torch\n")
    monkeypatch.setitem(globals(), "SRC", tmp_path / "fdep")
    cycles = import_cycles(sorted(root.glob("*.py")))
    assert cycles == [["fdep.models.pretrained", "fdep.models.registry", "fdep.models.weights",
                       "fdep.models.pretrained"]]
