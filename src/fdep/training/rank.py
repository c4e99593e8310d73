"""Which process of a multi-process run this is, read from Lightning's public rank.

In a DDP run every rank executes ``fdep train``; only global rank 0 checks and creates the run directory,
writes config.yaml and exports (:mod:`fdep.training.train`).
"""

from __future__ import annotations


def global_rank() -> int:
    """This process's rank (0 when not launched by a DDP launcher or torchrun): Lightning's public
    ``rank_zero_only.rank``, read from the launcher's environment when Lightning is imported."""
    from lightning.pytorch.utilities import rank_zero_only

    return int(getattr(rank_zero_only, "rank", 0))


def is_launched_child() -> bool:
    """True in processes started by Lightning's DDP launcher or torchrun other than rank 0."""
    return global_rank() != 0
