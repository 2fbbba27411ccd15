"""Fixtures for the hypercall tests: a small strict host (internal errors raise), an
unprivileged guest and a dom0, each built from a kernel that only waits, with scratch
memory for argument structures (paravisor.testing.guests)."""

import pytest

from paravisor.testing.guests import Guest, api_guest
from paravisor.testing.host import Host

HOST_MIB = 8


@pytest.fixture
def host() -> Host:
    return Host(host_mib=HOST_MIB)


@pytest.fixture
def dom0(host) -> Guest:
    return api_guest(host, name="dom0", privileged=True, domid=0)


@pytest.fixture
def domu(host, dom0) -> Guest:
    return api_guest(host, name="domu")
