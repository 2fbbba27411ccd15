"""Fixtures for the memory-manager tests: a small machine in debug mode (every PV MMU
operation re-checks all invariants) and a factory for domains with one vCPU."""

import pytest

from paravisor.isa.engine import CPUState
from paravisor.isa.memory import MachineMemory
from paravisor.mm import MemoryDomain, MemoryManager, increase_reservation

NFRAMES = 64


@pytest.fixture
def mm():
    return MemoryManager(MachineMemory(NFRAMES), debug=True)


@pytest.fixture
def make_domain(mm):
    """make_domain(domid, max_pages=16, pages=0, privileged=False) -> (dom, cpu): a
    registered domain holding `pages` fresh frames, with one vCPU."""

    def make(domid, max_pages=16, pages=0, privileged=False):
        dom = MemoryDomain(domid, max_pages, privileged=privileged)
        mm.add_domain(dom)
        cpu = CPUState()
        dom.add_vcpu(cpu)
        assert len(increase_reservation(mm, dom, pages)) == pages
        return dom, cpu

    return make
