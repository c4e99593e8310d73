"""timm-style model registry: ``register_model``, ``create_model``, ``list_models``."""

from __future__ import annotations

from collections.abc import Callable

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
    return name.lower() in _REGISTRY


def get_model_factory(name: str) -> Callable[..., SIRSTNet]:
    key = name.lower()
    if key not in _REGISTRY:
        raise ModelError(f"unknown model {name!r}; available: {', '.join(list_models()) or '(none)'}")
    return _REGISTRY[key]


def create_model(name: str, in_chans: int = 1, init: str = "original", weights: str | None = None,
                 **kwargs) -> SIRSTNet:
    """Build a registered network by name.

    ``init``: "original" (the initialisation of the network's own paper code) or "authors" (as the
    FDEP authors' PAL copy starts; :mod:`fdep.models.init_schemes`). ``weights``: a published weight
    set's tag (``"nuaa-sirst"``), a folder in the Hub layout or a cached Hub repo id
    (:mod:`fdep.models.weights`); the network comes back with them loaded, in eval mode.
    """
    from .init_schemes import apply_init

    if weights is not None:
        from .weights import load_weights

        get_model_factory(name)  # an unknown name is reported as such first
        return load_weights(name, weights)

    model = get_model_factory(name)(in_chans=in_chans, **kwargs)
    if not model.model_name:
        model.model_name = name.lower()
    return apply_init(model, name, init)
