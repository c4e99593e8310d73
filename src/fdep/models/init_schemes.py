"""Weight initialisation schemes: each network's original code, or the authors' (PAL) code.

fdep builds every network with the initialisation of its own paper's code (``init="original"``).
The FDEP authors trained the Table 1 networks from their PAL copies, which differ for some of
them; ``init="authors"`` re-initialises a freshly built network the way PAL's copy starts.
:data:`AUTHORS_INIT` maps a network name to the function that does so; a network absent from it
starts identically under both schemes (docs/models.md lists which is which).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

INITS = ("original", "authors")

#: network name -> function(model) re-initialising it as the authors' PAL copy starts
AUTHORS_INIT: dict[str, Callable[[nn.Module], None]] = {}


def apply_init(model: nn.Module, name: str, init: str = "original") -> nn.Module:
    """Re-initialise ``model`` (network ``name``) per ``init``; "original" leaves it as built."""
    from ..errors import ConfigError

    if init not in INITS:
        raise ConfigError(f"init: {init!r} is not one of {', '.join(INITS)}")
    if init == "authors":
        fn = AUTHORS_INIT.get(name.lower())
        if fn is not None:
            fn(model)
    return model
