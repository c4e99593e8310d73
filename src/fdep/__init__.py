"""fdep: single-frame infrared small target (SIRST) detection toolkit.

Implements the FDEP paradigm (frozen vision-foundation-model features fused
into a network's deepest encoder feature by SAMF, trained with CO-ISD), a zoo
of SIRST networks behind one registry, the HSE evaluation suite and a
Lightning-based training engine.
"""

__version__ = "0.1.0"
