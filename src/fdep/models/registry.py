"""The registry of network names (timm's layering: names only; building is :mod:`fdep.models.factory`).

``register_model`` adds a zoo network or classical method; :func:`get_model_factory` finds a name
among them and then among the entry points of installed packages (group ``fdep.models``), so a
package can offer networks without touching fdep::

    [project.entry-points."fdep.models"]
    mynet = "mypkg.nets:MyNet"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ModelError
from .base import SIRSTNet

_REGISTRY: dict[str, Callable[..., SIRSTNet]] = {}
#: the kinds of registered models: trained networks and training-free (classical) methods
KINDS = ("learned", "classical")


def register_model(fn: Callable[..., SIRSTNet] | None = None, *, name: str | None = None):
    """Register a network factory (a class or function taking ``in_chans`` and kwargs).

    Usable bare (``@register_model``; the name is the lower-cased ``__name__``)
    or with an explicit name (``@register_model(name="acm")``).
    """

    def deco(f: Callable[..., SIRSTNet]) -> Callable[..., SIRSTNet]:
        key = (name or f.__name__).lower()
        if key in _REGISTRY and _REGISTRY[key] is not f:
            raise ValueError(f"model name {key!r} registered twice")
        _REGISTRY[key] = f
        if isinstance(f, type):
            f.model_name = key
        return f

    return deco(fn) if fn is not None else deco


def list_models(kind: str | None = None) -> list[str]:
    """Registered model names, sorted; ``kind`` = "learned" or "classical" keeps that kind only."""
    if kind is None:
        return sorted(_REGISTRY)
    if kind not in KINDS:
        raise ModelError(f"unknown model kind {kind!r}; choose from {', '.join(KINDS)}")
    return sorted(k for k, f in _REGISTRY.items() if getattr(f, "kind", "learned") == kind)


def is_model(name: str) -> bool:
    """True for a registered name (entry points are not looked at: see :func:`is_known`)."""
    return name.lower() in _REGISTRY


#: the entry-point group installed packages offer networks in
ENTRY_POINT_GROUP = "fdep.models"


def entry_points() -> dict[str, Any]:
    """Name -> ``importlib.metadata.EntryPoint`` of group ``fdep.models`` (names not registered only)."""
    from importlib.metadata import entry_points as _eps

    return {ep.name.lower(): ep for ep in _eps(group=ENTRY_POINT_GROUP) if ep.name.lower() not in _REGISTRY}


def entry_point_origin(ep: Any) -> str:
    """``mypkg.nets:MyNet (package mypkg 1.0)`` for listing where an entry-point network comes from."""
    dist = getattr(ep, "dist", None)
    where = f" (package {dist.name} {dist.version})" if dist is not None else ""
    return f"{ep.value}{where}"


def is_known(name: str) -> bool:
    """A registered name or an entry point's."""
    return is_model(name) or name.lower() in entry_points()


def get_model_factory(name: str) -> Callable[..., Any]:
    """The factory of a registered name, else of an ``fdep.models`` entry point (loaded on first use)."""
    key = name.lower()
    if key in _REGISTRY:
        return _REGISTRY[key]
    ep = entry_points().get(key)
    if ep is None:
        import difflib

        close = difflib.get_close_matches(key, list_models(), n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ModelError(f"unknown model {name!r}{hint}; available: {', '.join(list_models()) or '(none)'}, "
                         f"an installed package's entry point, or a network of your own as "
                         f"path/to/file.py:Name or package.module:Name")
    try:
        return ep.load()
    except Exception as e:  # noqa: BLE001 - a broken installed package is reported, not raised through
        raise ModelError(f"model {name!r} (entry point {ep.value}) cannot be loaded: {type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''}") from None
