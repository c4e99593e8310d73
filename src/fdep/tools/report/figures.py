"""Figures as PNG bytes: matplotlib's Agg backend, one resolution for every plot of the report."""

from __future__ import annotations

import io


def new_figure(figsize: tuple[float, float]):
    """A matplotlib Figure drawn off screen (no pyplot state, no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def png_bytes(fig) -> bytes:
    """The figure as PNG (110 dpi, cropped to its content)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()
