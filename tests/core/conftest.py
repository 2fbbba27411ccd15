"""Fixtures for the hypervisor-core tests."""

import pytest

from paravisor.testing.host import Host


@pytest.fixture
def host() -> Host:
    return Host()
