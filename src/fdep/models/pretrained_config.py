"""Checking a weights folder's ``config.json`` before anything is built from it.

A weights folder may come from anywhere (a download, a colleague, the Hugging Face cache), so its
config.json is untrusted input: ``"in_chans": 1000000000`` would allocate gigabytes before failing,
``"kwargs": {"__class__": ...}`` or ``"in_chans": "abc"`` would end in a traceback. Every field is
checked here for type and bounds, and the network's constructor arguments against its signature, and
each problem is one :class:`~fdep.errors.WeightsError` line naming the file and the field.

:func:`check_network_size` then builds the described network on PyTorch's ``meta`` device (shapes only,
no memory) and compares its parameter count with what ``model.safetensors`` holds, from the file's
header: a config describing a network other than the stored one is refused before it is allocated.
"""

from __future__ import annotations

import difflib
import inspect
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import WeightsError

FORMAT = "fdep-pretrained"
#: config.json versions this fdep reads
VERSIONS = (1,)
#: the top-level keys a config.json may have (``extra`` is free-form and never used to build anything)
KEYS = ("format", "version", "model_name", "in_chans", "kwargs", "normalization", "num_parameters", "extra",
        "source", "output", "size_multiple")  # the last three: a network from outside fdep (models/external.py)
REQUIRED = ("format", "model_name")
#: in_chans of a network: infrared images have 1 channel (3 when read as RGB); anything above this is no image
MAX_IN_CHANS = 16
#: a config.json larger than this is not one fdep wrote (the shipped ones are ~3 KB)
MAX_CONFIG_BYTES = 1 << 20
#: bounds on constructor arguments: integers (block counts, widths), other numbers, texts and lists
MAX_KWARG_INT = 1024
MAX_KWARG_NUMBER = 1e6
MAX_KWARG_TEXT = 200
MAX_KWARG_LIST = 64
#: names create_model() takes itself: a constructor argument of that name could not be passed through
RESERVED_KWARGS = frozenset({"name", "in_chans", "init", "weights"})
#: |mean| and std of the recorded normalisation (0-255 scale; 16-bit data would still be far below this)
MAX_NORM = 1e6


def _bad(where: object, field: str, what: str) -> WeightsError:
    return WeightsError(f"{where}: {field}: {what}")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def read_config_json(path: Path) -> dict[str, Any]:
    """The parsed config.json at ``path`` (size-bounded, a JSON object), else one WeightsError line."""
    if not path.is_file():
        raise WeightsError(f"{path} not found: not a folder written by save_pretrained / fdep export")
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise WeightsError(f"{path}: {size} bytes, more than any fdep config.json ({MAX_CONFIG_BYTES} at most)")
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise WeightsError(f"{path}: invalid JSON ({e})") from None
    except (UnicodeDecodeError, RecursionError) as e:  # binary content; nesting deeper than Python's stack
        raise WeightsError(f"{path}: not a JSON config ({type(e).__name__})") from None
    except OSError as e:
        raise WeightsError(f"{path}: cannot read ({e.strerror or e})") from None
    if not isinstance(cfg, dict):
        raise WeightsError(f"{path}: expected a JSON object, got {type(cfg).__name__}")
    return cfg


def validate_config(cfg: dict[str, Any], where: object, factory: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Check every field of a parsed config.json; returns it unchanged, or raises one WeightsError line.

    ``factory``: the registered constructor of ``cfg["model_name"]`` (looked up by the caller), whose
    signature the ``kwargs`` are checked against; None checks the fields without it.
    """
    unknown = [k for k in cfg if k not in KEYS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), KEYS, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise WeightsError(f"{where}: unknown key {_short(unknown[0])}{hint}; a config.json holds "
                           f"{', '.join(KEYS)}")
    if cfg.get("format") != FORMAT:
        raise _bad(where, "format", f"{_short(cfg.get('format'))} is not {FORMAT!r}: not an fdep network config")
    missing = [k for k in REQUIRED if k not in cfg]
    if missing:
        raise _bad(where, missing[0], "missing")
    version = cfg.get("version", 1)
    if not _is_int(version) or version not in VERSIONS:
        raise _bad(where, "version", f"{_short(version)} is not a version this fdep reads "
                   f"({', '.join(map(str, VERSIONS))}; a newer fdep may have written it)")
    name = cfg["model_name"]
    if not isinstance(name, str) or not name or len(name) > 1000:  # a file spec holds a path
        raise _bad(where, "model_name", f"must be a network name, got {_short(name)}")
    in_chans = cfg.get("in_chans", 1)
    if not _is_int(in_chans) or not 1 <= in_chans <= MAX_IN_CHANS:
        raise _bad(where, "in_chans", f"must be an integer from 1 to {MAX_IN_CHANS}, got {_short(in_chans)}")
    _check_normalization(cfg.get("normalization"), where)
    n_params = cfg.get("num_parameters")
    if n_params is not None and (not _is_int(n_params) or n_params < 0):
        raise _bad(where, "num_parameters", f"must be a non-negative integer, got {_short(n_params)}")
    for key in ("extra", "source", "output"):
        value = cfg.get(key)
        if value is not None and not isinstance(value, dict):
            raise _bad(where, key, f"must be an object, got {type(value).__name__}")
    multiple = cfg.get("size_multiple")
    if multiple is not None and (not _is_int(multiple) or not 1 <= multiple <= 4096):
        raise _bad(where, "size_multiple", f"must be an integer from 1 to 4096, got {_short(multiple)}")
    check_kwargs(cfg.get("kwargs"), where, factory)
    return cfg


def _check_normalization(norm: Any, where: object) -> None:
    if norm is None:
        return
    if not isinstance(norm, dict) or set(norm) - {"mean", "std"} or not {"mean", "std"} <= set(norm):
        raise _bad(where, "normalization", f'must be null or {{"mean": M, "std": S}}, got {_short(norm)}')
    mean, std = norm["mean"], norm["std"]
    if not _is_number(mean) or not math.isfinite(mean) or abs(mean) > MAX_NORM:
        raise _bad(where, "normalization.mean", f"must be a finite number, got {_short(mean)}")
    if not _is_number(std) or not math.isfinite(std) or not 0 < std <= MAX_NORM:
        raise _bad(where, "normalization.std", f"must be a finite number > 0, got {_short(std)}")


def _scalar_ok(v: Any) -> bool:
    if v is None or isinstance(v, bool):
        return True
    if _is_int(v):
        return abs(v) <= MAX_KWARG_INT
    if _is_number(v):
        return math.isfinite(v) and abs(v) <= MAX_KWARG_NUMBER
    return isinstance(v, str) and len(v) <= MAX_KWARG_TEXT


def check_kwargs(kwargs: Any, where: object, factory: Callable[..., Any] | None) -> None:
    """The constructor arguments: an object of named arguments the constructor takes, each a bounded JSON
    scalar or a short list of them, of the type of the argument's default where it has one."""
    if kwargs is None:
        return
    if not isinstance(kwargs, dict):
        raise _bad(where, "kwargs", f"must be an object of constructor arguments, got {type(kwargs).__name__}")
    params = _parameters(factory)
    for key, value in kwargs.items():
        field = f"kwargs.{_short(key, 40)}"
        if not isinstance(key, str) or not key.isidentifier() or key.startswith("_") or key in RESERVED_KWARGS:
            raise _bad(where, field, "not a constructor argument name")
        if params is not None and key not in params[0] and not params[1]:
            raise _bad(where, field, f"{getattr(factory, '__name__', 'the network')} takes no such argument "
                       f"(it takes {', '.join(sorted(params[0])) or 'none besides in_chans'})")
        items = value if isinstance(value, list) else [value]
        if len(items) > MAX_KWARG_LIST or not all(_scalar_ok(v) for v in items):
            raise _bad(where, field, f"must be an integer (|n| <= {MAX_KWARG_INT}), a finite number, true/false, "
                       f"a text of at most {MAX_KWARG_TEXT} characters, or a list of at most {MAX_KWARG_LIST} of "
                       f"those; got {_short(value)}")
        default = params[0].get(key, inspect.Parameter.empty) if params is not None else inspect.Parameter.empty
        _check_like_default(value, default, where, field)


def _parameters(factory: Callable[..., Any] | None) -> tuple[dict[str, Any], bool] | None:
    """({argument name: default}, whether it takes **kwargs) of a constructor, or None when unknown."""
    if factory is None:
        return None
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    names = {n: p.default for n, p in sig.parameters.items()
             if n not in RESERVED_KWARGS and n != "self"
             and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names, any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


def _check_like_default(value: Any, default: Any, where: object, field: str) -> None:
    """A value of the default's kind: a bool for a bool, an integer for an int, a number for a float, ..."""
    if default is inspect.Parameter.empty or default is None or value is None:
        return
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = _is_int(value)
    elif isinstance(default, float):
        ok = _is_number(value)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, list)
    else:
        ok = True
    if not ok:
        raise _bad(where, field, f"must be like its default {_short(default)} ({type(default).__name__}), "
                   f"got {_short(value)}")


def stored_parameter_count(weights: Path) -> int:
    """Numbers stored in a safetensors file, read from its header alone (no tensor is loaded)."""
    from safetensors import safe_open

    total = 0
    try:
        with safe_open(str(weights), framework="pt") as f:
            for key in f.keys():  # noqa: SIM118 - safe_open is no dict: keys() is its only listing
                total += math.prod(f.get_slice(key).get_shape())
    except Exception as e:  # noqa: BLE001 - safetensors' errors are not OSErrors; a damaged file is the user's
        raise WeightsError(f"cannot read {weights}: {_short(str(e), 200)}") from None
    return total


def check_network_size(build: Callable[[], Any], weights: Path, where: object) -> None:
    """Build the described network on the ``meta`` device (no memory) and refuse it when its parameters and
    buffers do not add up to the numbers ``weights`` stores. A network that cannot be built on ``meta`` is
    left to the real build (its state-dict check still compares every tensor)."""
    import torch

    try:
        with torch.device("meta"):
            net = build()
        expected = sum(t.numel() for t in net.state_dict().values())
    except Exception:  # noqa: BLE001 - meta cannot run every constructor; the real build checks the same
        return
    stored = stored_parameter_count(weights)
    if expected != stored:
        raise WeightsError(f"{where}: describes a network of {expected:,} stored numbers, but {weights.name} holds "
                           f"{stored:,}: config.json and the weights do not belong together")
