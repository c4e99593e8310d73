"""Which optional extra a command needs, and the one line that says so when it is missing.

``pip install fdep`` (the core) runs ``evaluate`` and ``data``; the other commands import packages
of an extra (pyproject.toml's ``[project.optional-dependencies]``, kept equal to ``EXTRAS`` here by
tests/test_cli_extras.py). Where the CLI dispatches a command it checks the command's own extras
before any work (:func:`command_extras_missing`: ``quickstart`` would otherwise train for minutes
before it needs matplotlib), and turns a ``ModuleNotFoundError`` of an extra's package raised later
(an ONNX model in ``test``, the Slurm launcher of ``sweep``) into the same line
(:func:`missing_extra_message`) instead of a traceback.
"""

from __future__ import annotations

import importlib.util
import sys

#: the import names each extra adds, and the extras it includes (``vfm`` pulls ``train`` in, ...)
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("torch", "lightning", "torchmetrics", "tensorboard", "safetensors"),
    "vfm": ("transformers", "huggingface_hub"),
    "export": ("onnx", "onnxscript", "onnxruntime"),
    "report": ("matplotlib",),
    "cluster": ("submitit",),
}
INCLUDES: dict[str, tuple[str, ...]] = {"vfm": ("train",), "export": ("train",), "cluster": ("train",)}

#: extras a command always needs (others, e.g. ``export`` for an ONNX model in ``test``, come from the import
#: that failed); a command not listed runs on the core install
COMMAND_EXTRAS: dict[str, tuple[str, ...]] = {
    "quickstart": ("vfm", "report"),
    "train": ("train",),
    "test": ("train",),
    "predict": ("train",),
    "export": ("export",),
    "benchmark": ("train",),
    "report": ("report",),
    "sweep": ("train", "report"),
    "models": ("train",),
    "vfm": ("vfm",),
}

#: import name -> the extra that installs it
EXTRA_OF: dict[str, str] = {module: extra for extra, modules in EXTRAS.items() for module in modules}


def modules_of(extra: str) -> tuple[str, ...]:
    """Every import name ``extra`` installs, those of the extras it includes too."""
    return EXTRAS[extra] + tuple(m for inner in INCLUDES.get(extra, ()) for m in modules_of(inner))


def is_installed(module: str) -> bool:
    """Whether ``module`` can be imported (found without importing it)."""
    if sys.modules.get(module) is not None:  # already imported (or a stand-in a caller put there)
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is missing, or a module whose spec is unset
        return False


def _covers(extra: str, other: str) -> bool:
    return extra == other or any(_covers(inner, other) for inner in INCLUDES.get(extra, ()))


def _incomplete(extras: tuple[str, ...]) -> list[str]:
    return [e for e in extras if not all(map(is_installed, modules_of(e)))]


def _line(module: str, extras: list[str]) -> str:
    return f"{module} is not installed; this command needs: pip install 'fdep[{','.join(extras)}]'"


def command_extras_missing(command: str) -> str | None:
    """The one line naming the extras ``command`` always needs that are not installed; None when all are."""
    needed = _incomplete(COMMAND_EXTRAS.get(command, ()))
    if not needed:
        return None
    module = next(m for e in needed for m in modules_of(e) if not is_installed(m))
    return _line(module, needed)


def extras_to_install(command: str, module: str) -> list[str]:
    """The extras to name for ``command`` whose import of ``module`` failed: the command's own extras that are
    not complete here, and the extra of ``module`` unless one of those includes it."""
    needed = _incomplete(COMMAND_EXTRAS.get(command, ()))
    extra = EXTRA_OF[module]
    if not any(_covers(e, extra) for e in needed):
        needed.append(extra)
    return needed


def missing_extra_message(command: str, error: ModuleNotFoundError) -> str | None:
    """The one line for an ``error`` raised because an extra's package is not installed; None for any other
    missing module (a bug, which keeps its traceback) and for a package that is installed but broken inside."""
    module = (error.name or "").partition(".")[0]
    if module not in EXTRA_OF or is_installed(module):
        return None
    return _line(module, extras_to_install(command, module))


def extras_epilog() -> str:
    """What ``fdep --help`` says about extras, from ``COMMAND_EXTRAS``."""
    by_extras: dict[str, list[str]] = {}
    for command, extras in COMMAND_EXTRAS.items():
        by_extras.setdefault(",".join(extras), []).append(command)
    needs = "; ".join(f"{', '.join(cmds)}: fdep[{extras}]" for extras, cmds in by_extras.items())
    return (f"The core install (pip install fdep) runs evaluate and data. Extras: {needs}; "
            f"everything: fdep[all].")
