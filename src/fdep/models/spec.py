"""Networks named from outside fdep: ``package.module:Name`` and ``path/to/file.py:Name``.

A *spec* names an ``nn.Module`` class or a factory function returning one:

- ``package.module:Name``: imported with :func:`importlib.import_module` (the package must be installed
  or on ``PYTHONPATH``);
- ``path/to/file.py:Name``: the file is executed as a module of its own (its folder need not be on
  ``sys.path``; it is put there while the file runs and after, so the file's own ``import sibling``
  lines work). ``Name`` may be dotted (``Outer.Inner``).

:func:`resolve_spec` returns the callable and a :class:`SpecSource` recording where it came from;
for a file the source holds the file's absolute path and sha256, so a checkpoint can tell later
that the file changed (:func:`check_source`). Every failure is one :class:`ModelError` line.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError
from .weights import sha256_of as sha256_of_file


@dataclass(frozen=True)
class SpecSource:
    """Where a network named by a spec comes from (recorded in checkpoints and exported folders)."""

    spec: str  #: as the user wrote it
    kind: str  #: "file" | "module" | "entry-point" | "registry"
    path: str | None = None  #: absolute path of the file (kind "file")
    sha256: str | None = None  #: of that file when the network was built

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def is_spec(name: str) -> bool:
    """True when ``name`` is ``module:Name`` or ``file.py:Name`` rather than a registered name."""
    return ":" in str(name)  # registered and entry-point names never hold one


def split_spec(spec: str) -> tuple[str, str, bool]:
    """(module or file part, attribute name, whether it is a file) of a spec (ModelError when malformed)."""
    where, sep, attr = str(spec).rpartition(":")
    if not sep or not where or not attr:
        raise ModelError(f"{spec!r}: a network spec is package.module:Name or path/to/file.py:Name")
    is_file = where.endswith(".py") or "/" in where or "\\" in where
    if not is_file and not all(p.isidentifier() for p in where.split(".")):
        raise ModelError(f"{spec!r}: {where!r} is neither an importable module name nor a .py file")
    if not all(p.isidentifier() for p in attr.split(".")):
        raise ModelError(f"{spec!r}: {attr!r} is not a Python name")
    return where, attr, is_file


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__


def _load_file(path: Path, spec: str):
    """Execute a .py file as a module named after its path and hash (one module per file version)."""
    if not path.is_file():
        raise ModelError(f"{path}: network file not found (model {spec!r})")
    digest = sha256_of_file(path)
    name = f"fdep_user_{''.join(c if c.isalnum() else '_' for c in path.stem)}_{digest[:12]}"
    if name in sys.modules:
        return sys.modules[name], digest
    folder = str(path.parent)
    sys.path.insert(0, folder)
    try:
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except BaseException as e:  # noqa: BLE001 - the user's file: its error is reported on one line
            del sys.modules[name]
            if isinstance(e, KeyboardInterrupt):
                raise
            raise ModelError(f"{path}: importing the network file failed: {_first_line(e)}") from None
    finally:
        sys.path.remove(folder)
    if folder not in sys.path:  # its lazy `import sibling` lines keep working
        sys.path.append(folder)
    return module, digest


def _load_module(where: str, spec: str):
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as e:
        raise ModelError(f"cannot import module {e.name or where!r} for model {spec!r}: install the package that "
                         f"provides it or put its folder on PYTHONPATH") from None
    except BaseException as e:  # noqa: BLE001 - the user's code
        if isinstance(e, KeyboardInterrupt):
            raise
        raise ModelError(f"importing {where!r} for model {spec!r} failed: {_first_line(e)}") from None


def _attribute(module, attr: str, where: str, spec: str):
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            import difflib

            names = [n for n in dir(obj) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ModelError(f"{where}: has no {attr!r} (model {spec!r}){hint}")
        obj = getattr(obj, part)
    return obj


def check_factory(obj: Any, spec: str) -> None:
    """ModelError unless ``obj`` is an nn.Module class or a plain callable (a factory)."""
    from torch import nn

    if isinstance(obj, type):
        if not issubclass(obj, nn.Module):
            raise ModelError(f"{spec!r}: {obj.__name__} is a class but not a torch.nn.Module")
        return
    if isinstance(obj, nn.Module):
        raise ModelError(f"{spec!r}: is an nn.Module instance; name its class or a function that builds it")
    if not callable(obj):
        raise ModelError(f"{spec!r}: is a {type(obj).__name__}, not an nn.Module class or a factory function")


def resolve_spec(spec: str) -> tuple[Any, SpecSource]:
    """The class/factory a spec names and where it comes from (ModelError on one line otherwise)."""
    where, attr, is_file = split_spec(spec)
    if is_file:
        path = Path(where).expanduser().resolve()
        module, digest = _load_file(path, spec)
        obj = _attribute(module, attr, str(path), spec)
        source = SpecSource(spec=spec, kind="file", path=str(path), sha256=digest)
    else:
        module = _load_module(where, spec)
        obj = _attribute(module, attr, where, spec)
        source = SpecSource(spec=spec, kind="module")
    check_factory(obj, spec)
    return obj, source


def check_source(recorded: dict | None, where: str = "checkpoint") -> str | None:
    """The spec to rebuild a recorded network from, after checking its file is the one trained with.

    ``recorded``: a :meth:`SpecSource.to_dict`. A file spec whose recorded path is gone is looked up
    as written (relative to the working folder); a file whose sha256 differs is refused in one line.
    Returns the spec to use (a file spec is rewritten to the recorded absolute path), or None for none.
    """
    if not isinstance(recorded, dict) or recorded.get("kind") != "file":
        return recorded.get("spec") if isinstance(recorded, dict) else None
    spec = recorded["spec"]
    where_part, attr, _ = split_spec(spec)
    candidates = [Path(recorded["path"]), Path(where_part).expanduser()]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise ModelError(f"{where}: the network file {recorded['path']} it was trained with is gone; put it back "
                         f"there (or run from the folder where {where_part} resolves)")
    digest = sha256_of_file(path)
    if recorded.get("sha256") and digest != recorded["sha256"]:
        raise ModelError(f"{where}: the network file {path} changed since training (sha256 {digest[:12]}..., "
                         f"trained with {recorded['sha256'][:12]}...); restore the file as it was, or train again")
    return f"{path.resolve()}:{attr}"


def accepts(factory: Any, name: str) -> bool:
    """Whether ``factory`` names a keyword argument ``name`` (``**kwargs`` alone does not count: it may pass
    everything on to a class that does not take it)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params)
