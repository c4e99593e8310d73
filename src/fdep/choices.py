"""The names a setting may take, where the torch-free config and the code that implements them both read them.

``fdep.training.config`` validates a config and builds ``fdep train --help`` without importing torch;
the losses, networks and the FDEP framework implement the same names with torch. Both import the
tuples below, so a name added here is accepted by the config and must be implemented there (and a
name the code drops cannot linger in the config). ``LOSSES`` and ``FUSIONS`` name registries whose
classes need torch (``fdep.losses.build.LOSSES``, ``fdep.framework.samf.FUSIONS``);
tests/training/test_config_choices.py keeps their keys equal to these names.
A leaf module: imports nothing.
"""

from __future__ import annotations

#: the three FDEP variants: the network alone, FDEP without CO-ISD, FDEP with CO-ISD
VARIANTS = ("original", "fdep-main", "fdep")
#: the parts the main and light branches share
SHARES = ("encoder+decoder", "encoder", "decoder")
#: fusions of the VFM prior into the network (SAMF and the ablations' stand-ins)
FUSIONS = ("samf", "concat", "add")
#: the forms of SAMF: sized as the paper's Table 1, or Eq. 1-6 as printed (fdep.framework.samf)
SAMF_FORMS = ("table1", "literal")
#: the training losses
LOSSES = ("eedm", "softiou", "bce")
#: the readings of EEDM: the paper's text, or the authors' released code (fdep.losses.eedm)
EEDM_FORMS = ("text", "released")
#: weight initialisations: each network's paper code, or the authors' PAL copies (fdep.models.init_schemes)
INITS = ("original", "authors")
#: what a network returns: logits, or probabilities after a sigmoid (fdep.models.external)
OUTPUT_FORMS = ("logits", "probability")
