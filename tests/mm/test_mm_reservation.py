"""The frame table's allocator and reservation ops: ownership, limits, zeroing, teardown."""

import pytest

from paravisor.abi import MMUEXT_PIN_L1_TABLE
from paravisor.abi.errno import Errno
from paravisor.isa.table import CR, PAGE_SHIFT, PAGE_SIZE, PTE_P, PTE_W
from paravisor.mm import (
    BootstrapError,
    MemoryDomain,
    MMBug,
    PageType,
    alloc_xen_page,
    build_bootstrap_tables,
    check_invariants,
    current_reservation,
    decrease_reservation,
    free_xen_page,
    guest_remove_page,
    increase_reservation,
    maximum_reservation,
    mmu_update,
    mmuext_op,
    new_baseptr,
    populate_physmap,
    relinquish,
    set_gpfn_from_mfn,
    set_max_pages,
    share_xen_page_with_guest,
)
from paravisor.mm.consts import INVALID_M2P_ENTRY, INVALID_MFN
from paravisor.mm.external import forget_grant_map, hold_frame, record_grant_map, release_frame
from paravisor.mm.invariants import snapshot


def test_allocation_is_lowest_first_and_deterministic(mm, make_domain):
    dom, _ = make_domain(1, max_pages=8)
    assert increase_reservation(mm, dom, 3) == [0, 1, 2]
    other, _ = make_domain(2, max_pages=8)
    assert increase_reservation(mm, other, 2) == [3, 4]
    assert decrease_reservation(mm, dom, [1]) == 1
    assert increase_reservation(mm, other, 1) == [1]


def test_allocated_frames_belong_to_the_domain_with_one_reference(mm, make_domain):
    dom, _ = make_domain(1, pages=3)
    assert dom.pages == {0, 1, 2} and dom.p2m == [0, 1, 2]
    for pfn, mfn in enumerate(dom.p2m):
        page = mm.frames[mfn]
        assert (page.owner, page.allocated, page.count, page.type) == (1, True, 1, PageType.NONE)
        assert mm.m2p[mfn] == pfn


def test_increase_stops_at_max_pages(mm, make_domain):
    dom, _ = make_domain(1, max_pages=4, pages=1)
    assert len(increase_reservation(mm, dom, 10)) == 3
    assert current_reservation(dom) == 4 and maximum_reservation(dom) == 4
    assert increase_reservation(mm, dom, 1) == []


def test_increase_stops_when_the_host_runs_out(mm, make_domain):
    dom, _ = make_domain(1, max_pages=1000)
    assert len(increase_reservation(mm, dom, 1000)) == mm.nframes
    assert mm.free_pages == 0
    assert increase_reservation(mm, dom, 1) == []


def test_frames_are_zeroed_on_free_and_no_data_leaks_to_the_next_owner(mm, make_domain):
    dom, _ = make_domain(1, pages=2)
    secret = bytes(range(256)) * (PAGE_SIZE // 256)
    for mfn in dom.pages:
        mm.memory.write(mfn << PAGE_SHIFT, secret)
    assert decrease_reservation(mm, dom, sorted(dom.pages)) == 2
    assert mm.memory.read_frame(0) == bytes(PAGE_SIZE)
    other, _ = make_domain(2, pages=2)
    for mfn in other.pages:
        assert mm.memory.read_frame(mfn) == bytes(PAGE_SIZE)


def test_allocation_zeroes_even_a_frame_written_while_free(mm, make_domain):
    mm.memory.write32(0, 0xDEADBEEF)   # e.g. a stray hypervisor write
    dom, _ = make_domain(1, pages=1)
    assert mm.memory.read32(0) == 0 and dom.pages == {0}


def test_decrease_leaves_a_p2m_hole_that_the_next_allocation_fills(mm, make_domain):
    dom, _ = make_domain(1, pages=3)
    assert decrease_reservation(mm, dom, [1]) == 1
    assert dom.p2m == [0, INVALID_MFN, 2] and mm.m2p[1] == INVALID_M2P_ENTRY
    assert increase_reservation(mm, dom, 1) == [1]
    assert dom.p2m == [0, 1, 2] and mm.m2p[1] == 1


def test_decrease_refuses_a_frame_of_another_domain(mm, make_domain):
    dom, _ = make_domain(1, pages=1)
    other, _ = make_domain(2, pages=1)
    before = snapshot(mm)
    assert guest_remove_page(mm, dom, 1) == -Errno.EINVAL
    assert guest_remove_page(mm, dom, mm.nframes) == -Errno.EINVAL
    assert guest_remove_page(mm, dom, 40) == -Errno.EINVAL   # a free frame
    assert snapshot(mm) == before


def test_decrease_stops_at_the_first_refusal(mm, make_domain):
    dom, _ = make_domain(1, pages=3)
    make_domain(2, pages=1)
    assert decrease_reservation(mm, dom, [0, 3, 1]) == 1
    assert dom.pages == {1, 2}


def test_freeing_a_frame_in_use_is_refused_with_ebusy(mm, make_domain):
    dom, cpu = make_domain(1, pages=2)
    data = 1
    l2 = build_bootstrap_tables(mm, dom, {0x1000: (data, PTE_P | PTE_W)})
    assert new_baseptr(mm, dom, cpu, l2) == 0
    l1 = [m for m in dom.pages if mm.frames[m].type == PageType.L1_TABLE][0]
    before = snapshot(mm)
    for mfn in (data, l1, l2):       # mapped, a table in use, pinned and the base
        assert guest_remove_page(mm, dom, mfn) == -Errno.EBUSY
    assert snapshot(mm) == before


def test_a_pinned_unused_table_is_busy_too(mm, make_domain):
    dom, cpu = make_domain(1, pages=1)
    assert mmuext_op(mm, dom, cpu, [(MMUEXT_PIN_L1_TABLE, 0, 0)]) == (0, 1)
    assert guest_remove_page(mm, dom, 0) == -Errno.EBUSY


def test_max_pages_may_go_below_tot_pages_and_then_blocks_allocation(mm, make_domain):
    dom, _ = make_domain(1, max_pages=8, pages=4)
    assert set_max_pages(dom, 2) == 0
    assert current_reservation(dom) == 4
    assert increase_reservation(mm, dom, 1) == []
    assert decrease_reservation(mm, dom, [0, 1, 2]) == 3
    assert increase_reservation(mm, dom, 5) == [0]


def test_max_pages_rejects_nonsense(mm, make_domain):
    dom, _ = make_domain(1, max_pages=8)
    assert set_max_pages(dom, -1) == -Errno.EINVAL
    assert set_max_pages(dom, 1 << 32) == -Errno.EINVAL
    assert maximum_reservation(dom) == 8


def test_relinquish_frees_everything_and_zeroes_it(mm, make_domain):
    dom, cpu = make_domain(1, pages=3)
    mm.memory.write32(2 << PAGE_SHIFT, 0x12345678)
    l2 = build_bootstrap_tables(mm, dom, {0x400000: (2, PTE_P | PTE_W)}, table_va=0x800000)
    assert new_baseptr(mm, dom, cpu, l2) == 0
    relinquish(mm, dom)
    assert mm.free_pages == mm.nframes and 1 not in mm.domains
    assert bytes(mm.memory.data) == bytes(mm.memory.size)
    assert cpu.cr[CR.PTBR] == 0 and dom.guest_table == [None]
    assert increase_reservation(mm, dom, 1) == []       # a dying domain gets nothing
    assert check_invariants(mm) == []


def test_relinquish_leaves_other_domains_alone(mm, make_domain):
    dom, _ = make_domain(1, pages=2)
    other, ocpu = make_domain(2, pages=2)
    l2 = build_bootstrap_tables(mm, other, {0: (2, PTE_P | PTE_W)})
    assert new_baseptr(mm, other, ocpu, l2) == 0
    before = [(p.owner, p.count, p.type_count) for p in mm.frames if p.owner == 2]
    relinquish(mm, dom)
    assert [(p.owner, p.count, p.type_count) for p in mm.frames if p.owner == 2] == before


def test_xen_pages_are_shared_per_domain_and_freed_only_when_unmapped(mm, make_domain):
    dom, cpu = make_domain(1, pages=1)
    shared = alloc_xen_page(mm)
    share_xen_page_with_guest(mm, shared, 1, writable=True)
    l2 = build_bootstrap_tables(mm, dom, {0x2000: (shared, PTE_P | PTE_W)})
    assert mm.frames[shared].count == 2 and mm.frames[shared].type_count == 2
    assert not free_xen_page(mm, shared)
    assert new_baseptr(mm, dom, cpu, l2) == 0
    relinquish(mm, dom)
    assert mm.frames[shared].shared_with == {} and mm.frames[shared].count == 1
    assert free_xen_page(mm, shared) and mm.is_free(shared)


@pytest.mark.parametrize("domid", [-1, 0x7FF0, 0x7FF2])
def test_memory_domain_rejects_reserved_domids(domid):
    with pytest.raises(ValueError):
        MemoryDomain(domid, 1)


def test_a_refused_bootstrap_gives_its_frames_back(mm, make_domain):
    dom, _ = make_domain(1, max_pages=4, pages=1)
    before = snapshot(mm)
    with pytest.raises(BootstrapError, match="refused"):
        build_bootstrap_tables(mm, dom, {0x1000: (30, PTE_P)})   # frame 30 is not dom's
    assert snapshot(mm) == before


def test_a_frame_still_referenced_outlives_its_destroyed_domain(mm, make_domain):
    # An outside reference (a dom0 service's foreign mapping, or a grant pin) keeps
    # one frame of a destroyed domain alive; the domain stays registered but dying until
    # that reference goes.  Such references are held through mm.external for the recount.
    dom, _ = make_domain(1, pages=2)
    dom0, _ = make_domain(0, pages=1, privileged=True)
    assert hold_frame(mm, 1, 1, writable=False, holder="test")
    relinquish(mm, dom)
    assert mm.domains[1] is dom and dom.dying and dom.pages == {1} and mm.is_free(0)
    assert mmu_update(mm, dom0, [(0, 0)], foreigndom=1) == (-Errno.ESRCH, 0)
    assert check_invariants(mm) == []
    release_frame(mm, 1, writable=False, holder="test")
    assert 1 not in mm.domains and mm.is_free(1)
    assert check_invariants(mm) == []


def test_the_m2p_has_one_writer_and_populate_physmap_uses_it(mm, make_domain):
    dom, _ = make_domain(1, max_pages=4, pages=1)
    mfns = populate_physmap(mm, dom, iter([7, 9, 11, 13]))
    assert len(mfns) == 3                                 # max_pages stops the fourth
    assert [mm.m2p[mfn] for mfn in mfns] == [7, 9, 11]
    set_gpfn_from_mfn(mm, mfns[0], 42)
    assert mm.m2p[mfns[0]] == 42
    assert decrease_reservation(mm, dom, mfns[:1]) == 1
    assert mm.m2p[mfns[0]] == INVALID_M2P_ENTRY


def test_grant_map_records_are_counted_and_a_second_forget_is_a_bug(mm):
    record_grant_map(mm, 2, 5, writable=True)
    record_grant_map(mm, 2, 5, writable=True)
    assert mm.grant_maps == {(2, 5, True): 2}
    forget_grant_map(mm, 2, 5, writable=True)
    forget_grant_map(mm, 2, 5, writable=True)
    assert not mm.grant_maps
    with pytest.raises(MMBug, match="does not hold"):
        forget_grant_map(mm, 2, 5, writable=True)
    assert not mm.grant_maps
