"""Classical (training-free) methods of the zoo, one module each; importing registers them.

``fkrw`` (facet kernel + random walker), ``mpcm`` (multiscale patch-based contrast)
and ``nipps`` (non-negative infrared patch-image model). They take raw 0-255
gray images and return probabilities (see :mod:`.base`); ``reference`` holds
straightforward loop implementations used to check and benchmark them.
"""

from .base import ClassicalMethod, response_to_probability
from .fkrw import FKRW
from .mpcm import MPCM
from .nipps import NIPPS

__all__ = ["FKRW", "MPCM", "NIPPS", "ClassicalMethod", "response_to_probability"]
