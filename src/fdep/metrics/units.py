"""The one unit and label fdep prints Fa with: the paper's, "Fa (x1e-6)" (value 46.17 = 46.17e-6 of the pixels).

``results.json`` and the Python API keep Fa as a raw ratio; every command, table and report that
prints it uses :data:`FA_LABEL` and :func:`fa_text`, so the unit cannot differ between them.
"""

from __future__ import annotations

#: printed Fa = FA_SCALE x the raw ratio
FA_SCALE = 1e6
FA_UNIT = "x1e-6"
FA_LABEL = f"Fa ({FA_UNIT})"


def fa_text(fa: float | None) -> str:
    """The raw Fa ratio as printed beside :data:`FA_LABEL` (2 decimals; 'n/a' for None)."""
    return "n/a" if fa is None else f"{FA_SCALE * fa:.2f}"
