"""The top-level package: short public names resolve lazily to the framework's objects."""

import pytest

import fdep
import fdep.framework


def test_short_public_names_are_the_framework_objects():
    assert fdep.FDEPModel is fdep.framework.FDEPModel
    assert fdep.export_light is fdep.framework.export_light


def test_unknown_top_level_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        fdep.no_such_thing  # noqa: B018
