"""Fixtures for the hypercall tests: a small strict host (internal errors raise), an
unprivileged guest and a dom0, each built from a kernel that only waits, with scratch
memory for argument structures (paravisor.testing.guests).

And one check every test here makes without asking: a hypercall that returns an
-errno its signature (paravisor/abi/signatures.py) does not declare fails the test, so
the errors column of docs/abi.md's hypercall table cannot fall behind the handlers.
"""

import pytest

from paravisor.abi import Hypercall, signature
from paravisor.abi.errno import Errno
from paravisor.hypercalls import dispatch
from paravisor.testing.guests import Guest, api_guest
from paravisor.testing.host import Host

HOST_MIB = 8
HYPERCALL_NUMBERS = frozenset(Hypercall)


def declared_errnos(number: int) -> tuple[Errno, ...]:
    """What hypercall `number` may return; a number that is no hypercall only -ENOSYS."""
    return signature(number).errnos if number in HYPERCALL_NUMBERS else (Errno.ENOSYS,)


@pytest.fixture(autouse=True)
def errnos_are_declared(monkeypatch):
    """Wrap dispatch.invoke (every hypercall, multicall's entries included, goes
    through it) with the check that a negative result is a declared errno."""
    invoke = dispatch.invoke

    def checked(hv, vcpu, number, args):
        result = invoke(hv, vcpu, number, args)
        if isinstance(result, int) and result < 0:
            errno = Errno(-result)
            assert errno in declared_errnos(number), (
                f"hypercall {number} returned -{errno.name}; declare it in its signature "
                "(paravisor/abi/signatures.py) or return what is declared")
        return result

    monkeypatch.setattr(dispatch, "invoke", checked)


@pytest.fixture
def host() -> Host:
    return Host(host_mib=HOST_MIB)


@pytest.fixture
def dom0(host) -> Guest:
    return api_guest(host, name="dom0", privileged=True, domid=0)


@pytest.fixture
def domu(host, dom0) -> Guest:
    return api_guest(host, name="domu")
