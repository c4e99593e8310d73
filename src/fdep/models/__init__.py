"""The model zoo: every network behind one registry.

Importing this package registers every network (one module per network).
"""

# Each network module registers itself on import: one line per network file.
# (isort: keep this block sorted)
from . import (
    acm,  # noqa: F401
    alclnet,  # noqa: F401
    alcnet,  # noqa: F401
    dnanet,  # noqa: F401
    gglnet,  # noqa: F401
    mlclnet,  # noqa: F401
    msdanet,  # noqa: F401
)
from .base import Features, SIRSTNet, count_parameters, final_output
from .registry import create_model, get_model_factory, is_model, list_models, register_model

__all__ = [
    "Features",
    "SIRSTNet",
    "count_parameters",
    "create_model",
    "final_output",
    "get_model_factory",
    "is_model",
    "list_models",
    "register_model",
]
