"""The model zoo: every network behind one registry.

Layout: ``networks/`` holds the learned networks (one module each), ``blocks/`` the layers and
family blocks they share, ``classical/`` the training-free methods (FKRW, MPCM, NIPPS). Importing
this package registers every network and method.
"""

from .base import Features, SIRSTNet, count_parameters, final_output
from .external import ExternalNetwork, OutputSpec
from .factory import create_model, load_pretrained
from .pretrained import save_pretrained
from .registry import get_model_factory, is_known, is_model, list_models, register_model

# Each network module registers itself on import: one line per network file.
# isort: split
from .networks import (
    acm,  # noqa: F401
    alclnet,  # noqa: F401
    alcnet,  # noqa: F401
    dnanet,  # noqa: F401
    gglnet,  # noqa: F401
    ilnet,  # noqa: F401
    mlclnet,  # noqa: F401
    msdanet,  # noqa: F401
    mtunet,  # noqa: F401
    rpcanet,  # noqa: F401
    sctransnet,  # noqa: F401
    sdsnet,  # noqa: F401
    uiunet,  # noqa: F401
)

# The classical (training-free) methods register themselves on import too.
# isort: split
from . import classical  # noqa: F401

__all__ = [
    "ExternalNetwork",
    "Features",
    "OutputSpec",
    "SIRSTNet",
    "count_parameters",
    "create_model",
    "final_output",
    "get_model_factory",
    "is_known",
    "is_model",
    "list_models",
    "load_pretrained",
    "register_model",
    "save_pretrained",
]
