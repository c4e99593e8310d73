"""Output spread: is a network's probability map a map at all, or a constant?

A training run can collapse to a constant output (ALCNet's seed 0 in the authors' protocol,
docs/results.md): every pixel gets the same probability and every score is 0. The spread, the
mean over images of the standard deviation of each probability map, tells such a run from a
weak one without a threshold on any score. fdep test records it in results.json, and seed
summaries mark a seed whose spread is below :data:`COLLAPSED_BELOW` as collapsed.
"""

from __future__ import annotations

import numpy as np

#: a spread below this is a constant map (one target pixel in 10^4 at p = 1 gives a spread of 1e-2)
COLLAPSED_BELOW = 1e-4


def map_spread(prob: np.ndarray) -> float:
    """The standard deviation of one probability map's pixels (float64)."""
    return float(np.asarray(prob, dtype=np.float64).std())


def is_collapsed(spread: float | None) -> bool:
    """True when a recorded output spread says the maps were constant (None: not recorded, not collapsed)."""
    return spread is not None and float(spread) < COLLAPSED_BELOW
