"""Import the repository's scripts (benchmarks/, docs/generate.py, configs/generate.py) in tests, one way.

A script is not a package module: it is loaded from its file, as a fresh module each time, with its
folder first on ``sys.path`` as ``python PATH`` would put it, so that its sibling imports (benchmarks/
common.py, pal_checkout.py, ...) resolve.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]


def load_script(path: str) -> ModuleType:
    """The script at ``path`` (relative to the repository root, e.g. ``benchmarks/bench_models.py``), executed."""
    file = REPO_ROOT / path
    folder = str(file.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = "script_" + "_".join(Path(path).with_suffix("").parts)
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as importlib's recipe does: dataclasses and pickling look the module up there
    spec.loader.exec_module(module)
    return module
