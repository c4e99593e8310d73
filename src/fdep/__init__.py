"""fdep: single-frame infrared small target (SIRST) detection toolkit.

Implements the FDEP paradigm (frozen vision-foundation-model features fused
into a network's deepest encoder feature by SAMF, trained with CO-ISD), a zoo
of SIRST networks behind one registry, the HSE evaluation suite and a
Lightning-based training engine.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``fdep.FDEPModel`` / ``fdep.export_light`` / ``fdep.load_predictor``: short public names, imported on
    first use so that ``import fdep`` (and so the CLI's start-up) stays free of torch."""
    if name in ("FDEPModel", "export_light"):
        from . import framework

        return getattr(framework, name)
    if name == "load_predictor":  # from an image to targets: docs/tools.md, "Python: image to targets"
        from .tools.inference import load_predictor

        return load_predictor
    raise AttributeError(f"module 'fdep' has no attribute {name!r}")
