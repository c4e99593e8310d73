"""training/config.py keeps copies of choice lists whose sources import torch (the CLI parser must not):
each copy equals its source, so a form or scheme added there cannot be refused by the config."""

from __future__ import annotations

import pytest

from fdep import framework, losses
from fdep.models import init_schemes
from fdep.training import config


@pytest.mark.parametrize(("copy", "source"), [
    (config.EEDM_FORMS, losses.EEDM_FORMS),
    (config.INITS, init_schemes.INITS),
    (config.SAMF_FORMS, framework.SAMF_FORMS),
    (config.VARIANTS, framework.VARIANTS),
    (config.SHARES, framework.SHARES),
    (config.FUSIONS, framework.FUSIONS),
    (config.LOSSES, losses.build.LOSSES),
], ids=["eedm_form", "init", "samf_form", "variant", "share", "fusion", "loss"])
def test_config_choices_equal_their_torch_side_source(copy, source):
    assert len(set(copy)) == len(copy) and set(copy) == set(source)  # the same choices (help may order them)
