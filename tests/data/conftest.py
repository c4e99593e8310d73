"""Fixtures for the data tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .builders import write_dataset


@pytest.fixture
def toy(tmp_path) -> Path:
    return write_dataset(tmp_path)
