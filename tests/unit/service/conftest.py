"""The synthetic index of tests.unit.synthetic (no model, no files), built once for the service's unit tests."""

from __future__ import annotations

import pytest

from tests.unit.synthetic import SAMPLE, tiny_engine


@pytest.fixture(scope="session")
def sample_engine():
    return tiny_engine(SAMPLE)
