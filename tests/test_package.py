"""The top-level package: short public names resolve lazily to the framework's objects; its citation and
changelog follow its version."""

import re

import pytest
import yaml

import fdep
import fdep.framework

from .conftest import REPO_ROOT


def test_short_public_names_are_the_framework_objects():
    assert fdep.FDEPModel is fdep.framework.FDEPModel
    assert fdep.export_light is fdep.framework.export_light


def test_unknown_top_level_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        fdep.no_such_thing  # noqa: B018


def test_citation_and_changelog_follow_the_version():
    version = re.search(r'^version = "([^"]+)"$', (REPO_ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert fdep.__version__ == version
    cff = yaml.safe_load((REPO_ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["version"] == version
    assert any("Foundation-Driven Efficient Paradigm" in ref["title"] for ref in cff["references"])  # the paper
    first = re.search(r"^## \[([^\]]+)\]", (REPO_ROOT / "CHANGELOG.md").read_text(), re.M).group(1)
    assert first in ("Unreleased", version)  # the newest section is the coming release or this version
