"""F1: a domU must not turn a page that a dom0 service writes into a page table.

The attack (guest_os/tests/attacks/ring_pin.c): unmap the XenStore (or console) ring,
pin its frame as an L1 table or hook it into the L2, and let xenstored's next reply write
PTEs of the guest's choosing.  A service's mapping holds a WRITABLE type reference
(paravisor.mm.external), so every step is refused; these tests show it from the guest,
and from the host for the reverse order (a table is never mapped writable by a service).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from paravisor.abi.errno import Errno
from paravisor.isa.memory import MachineMemory
from paravisor.mm import MemoryDomain, MemoryManager, PageType, increase_reservation
from paravisor.mm.external import hold_frame, holders_of, release_frame
from paravisor.mm.invariants import check_invariants
from paravisor.mm.pv_mmu import pin_table, unpin_table
from paravisor.services.foreign import ForeignMapError, ForeignPage


def test_a_guest_cannot_make_its_service_rings_page_tables(run_attack, engine):
    result = run_attack("ring_pin", engine)
    assert result.contained("ring_pin"), result.out + result.err
    assert "xenstore ring frame" in result.out and "pinned as L1: -22" in result.out


@pytest.fixture
def host():
    """A machine with dom0 (privileged) and a domU holding a few frames."""
    mm = MemoryManager(MachineMemory(32), debug=True)
    doms = {}
    for domid, privileged in ((0, True), (1, False)):
        doms[domid] = MemoryDomain(domid, 8, privileged=privileged)
        mm.add_domain(doms[domid])
        increase_reservation(mm, doms[domid], 4)
    hv = SimpleNamespace(mm=mm, memory=mm.memory)
    return SimpleNamespace(hv=hv, mm=mm, dom0=doms[0], domu=doms[1],
                           frame=min(doms[1].pages))


def test_pinning_a_frame_a_service_writes_is_refused(host):
    page = ForeignPage(host.hv, host.dom0, host.domu, host.frame, holder="xenstored")
    assert pin_table(host.mm, host.domu, host.frame, PageType.L1_TABLE) == -Errno.EINVAL
    assert pin_table(host.mm, host.domu, host.frame, PageType.L2_TABLE) == -Errno.EINVAL
    page.write32(0, 0x1007)              # a forged PTE: harmless in a data page
    assert host.mm.frames[host.frame].type == PageType.WRITABLE
    assert check_invariants(host.mm) == []
    page.unmap()


def test_once_the_service_unmaps_the_frame_may_become_a_table(host):
    ForeignPage(host.hv, host.dom0, host.domu, host.frame, holder="xenstored").unmap()
    assert pin_table(host.mm, host.domu, host.frame, PageType.L1_TABLE) == 0
    assert unpin_table(host.mm, host.domu, host.frame) == 0
    assert check_invariants(host.mm) == []


def test_a_service_cannot_map_a_page_table_writable(host):
    assert pin_table(host.mm, host.domu, host.frame, PageType.L1_TABLE) == 0
    with pytest.raises(ForeignMapError, match="is a page table: it cannot be mapped writable"):
        ForeignPage(host.hv, host.dom0, host.domu, host.frame, holder="xenstored")
    reader = ForeignPage(host.hv, host.dom0, host.domu, host.frame, writable=False)
    assert reader.read32(0) == 0
    with pytest.raises(ForeignMapError, match="read-only"):
        reader.write32(0, 0x1007)
    reader.unmap()
    assert holders_of(host.mm, host.frame) == []
    assert check_invariants(host.mm) == []


def test_only_a_privileged_domain_maps_and_only_the_targets_frames(host):
    with pytest.raises(ForeignMapError, match="may not map"):
        ForeignPage(host.hv, host.domu, host.dom0, min(host.dom0.pages))
    with pytest.raises(ForeignMapError, match="not a page of domain 1"):
        ForeignPage(host.hv, host.dom0, host.domu, min(host.dom0.pages))
    assert check_invariants(host.mm) == []


def test_the_checker_reports_a_writable_hold_on_a_table(host):
    """The invariant that F1 broke, seen by the checker: a service's writable hold on a
    frame that is a page table (forged here by bypassing hold_frame's type rule)."""
    assert pin_table(host.mm, host.domu, host.frame, PageType.L1_TABLE) == 0
    host.mm.holds[("xenstored d0", host.domu.domid, host.frame, True)] += 1
    host.mm.frames[host.frame].count += 1
    host.mm.frames[host.frame].type_count += 1
    problems = check_invariants(host.mm)
    assert any("xenstored d0 holds frame" in p and "typed l1" in p for p in problems), problems


def test_release_of_a_frame_not_held_is_a_hypervisor_bug(host):
    from paravisor.mm import MMBug
    assert hold_frame(host.mm, host.frame, host.domu.domid, True, "blkback d0")
    with pytest.raises(MMBug, match="does not hold"):
        release_frame(host.mm, host.frame, True, "netback d0")
    release_frame(host.mm, host.frame, True, "blkback d0")
    assert check_invariants(host.mm) == []
