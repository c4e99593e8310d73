"""When validation HSE-P says a run has not started learning ("chance level").

HSE-P is the average precision over all pixels. A score that carries no information about
the labels (a constant map, or noise) has an expected average precision equal to the
positive fraction pi (target pixels / all pixels); on SIRST data pi is about 1e-4 to 1e-3.
We call a validation *at chance* when HSE-P < CHANCE_FACTOR * pi. A network that separates
targets from background at all reaches tens or hundreds of times pi, so a factor of 2 leaves
room for noise without hiding a run that learns. Used by the training module (warning) and
by ``fdep report`` (learning curves), so both say the same thing.
"""

from __future__ import annotations

import math

#: HSE-P below this multiple of the positive-pixel fraction counts as chance level
CHANCE_FACTOR = 2.0


def chance_level(pos_fraction: float) -> float:
    """The HSE-P under which a validation counts as chance (CHANCE_FACTOR x the positive fraction)."""
    return CHANCE_FACTOR * float(pos_fraction)


def at_chance(hse_p: float, pos_fraction: float) -> bool:
    """True when ``hse_p`` is at chance level for data whose positive-pixel fraction is ``pos_fraction``.

    False when either is undefined (NaN: no target pixel in the validation data) or pos_fraction <= 0.
    """
    hse_p, pos_fraction = float(hse_p), float(pos_fraction)
    if not (math.isfinite(hse_p) and math.isfinite(pos_fraction)) or pos_fraction <= 0:
        return False
    return hse_p < chance_level(pos_fraction)


def trailing_chance(hse_p: list[float], pos_fraction: list[float]) -> int:
    """How many of the last validations in a row were at chance (0 when the last one was not)."""
    n = 0
    for v, pi in zip(reversed(hse_p), reversed(pos_fraction)):
        if not at_chance(v, pi):
            break
        n += 1
    return n
