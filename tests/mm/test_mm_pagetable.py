"""Type references, promotion/demotion, pins and checked entry updates (pagetable.py and
the pin/unpin half of mmuext_op).  Frame numbers are predictable: the allocator hands out
the lowest free frame first."""

import pytest

from paravisor.abi import (
    MMU_MACHPHYS_UPDATE,
    MMUEXT_PIN_L1_TABLE,
    MMUEXT_PIN_L2_TABLE,
    MMUEXT_UNPIN_TABLE,
)
from paravisor.abi.errno import Errno
from paravisor.isa.table import PAGE_SHIFT, PTE_A, PTE_D, PTE_P, PTE_U, PTE_W, make_pte
from paravisor.mm import PageType, mmu_update, mmuext_op
from paravisor.mm.invariants import snapshot

RW = PTE_P | PTE_W
RO = PTE_P


def pte_ptr(table, index):
    """mmu_update's ptr for entry `index` of frame `table` (MMU_NORMAL_PT_UPDATE)."""
    return (table << PAGE_SHIFT) + 4 * index


def pin(mm, dom, cpu, mfn, level=1):
    cmd = MMUEXT_PIN_L1_TABLE if level == 1 else MMUEXT_PIN_L2_TABLE
    return mmuext_op(mm, dom, cpu, [(cmd, mfn, 0)])


def unpin(mm, dom, cpu, mfn):
    return mmuext_op(mm, dom, cpu, [(MMUEXT_UNPIN_TABLE, mfn, 0)])


def counts(mm, mfn):
    page = mm.frames[mfn]
    return page.type, page.type_count, page.count


@pytest.fixture
def d1(make_domain):
    return make_domain(1, pages=8)


def test_pinning_an_empty_frame_makes_it_a_validated_table(mm, d1):
    dom, cpu = d1
    assert pin(mm, dom, cpu, 0) == (0, 1)
    page = mm.frames[0]
    assert (page.type, page.type_count, page.count, page.pinned, page.validated) == (
        PageType.L1_TABLE, 1, 2, True, True)


def test_pins_do_not_nest(mm, d1):
    dom, cpu = d1
    assert pin(mm, dom, cpu, 0) == (0, 1)
    before = snapshot(mm)
    assert pin(mm, dom, cpu, 0) == (-Errno.EINVAL, 0)
    assert pin(mm, dom, cpu, 0, level=2) == (-Errno.EINVAL, 0)
    assert snapshot(mm) == before


def test_unpin_of_an_unpinned_or_foreign_frame_is_refused(mm, d1, make_domain):
    dom, cpu = d1
    other, ocpu = make_domain(2, pages=1)
    assert pin(mm, other, ocpu, 8) == (0, 1)
    before = snapshot(mm)
    assert unpin(mm, dom, cpu, 0) == (-Errno.EINVAL, 0)
    assert unpin(mm, dom, cpu, 8) == (-Errno.EINVAL, 0)
    assert unpin(mm, dom, cpu, mm.nframes + 5) == (-Errno.EINVAL, 0)
    assert snapshot(mm) == before


def test_promotion_takes_the_entries_references_and_demotion_drops_them(mm, d1):
    dom, cpu = d1
    mm.memory.write32(0, make_pte(1, RW))           # frame 0, entry 0 -> frame 1, writable
    mm.memory.write32(4, make_pte(2, RO))           # entry 1 -> frame 2, read-only
    assert pin(mm, dom, cpu, 0) == (0, 1)
    assert counts(mm, 1) == (PageType.WRITABLE, 1, 2)
    assert counts(mm, 2) == (PageType.NONE, 0, 2)
    assert unpin(mm, dom, cpu, 0) == (0, 1)
    assert counts(mm, 0) == (PageType.NONE, 0, 1)
    assert counts(mm, 1) == (PageType.NONE, 0, 1)
    assert counts(mm, 2) == (PageType.NONE, 0, 1)


def test_non_present_entries_may_hold_anything(mm, d1):
    dom, cpu = d1
    mm.memory.write32(0, 0xFFFF_FFFE)               # P clear, every other bit set
    assert pin(mm, dom, cpu, 0) == (0, 1)
    assert pin(mm, dom, cpu, 1, level=2) == (0, 1)
    assert mmu_update(mm, dom, [(pte_ptr(1, 3), 0xFFFF_FFFE)]) == (0, 1)


def test_a_refused_promotion_is_undone_entirely(mm, d1):
    dom, cpu = d1
    for index in range(5):                          # five good entries first...
        mm.memory.write32(4 * index, make_pte(1 + index % 3, RW))
    mm.memory.write32(4 * 700, make_pte(60, RO))    # ...then a frame dom does not own
    before = snapshot(mm)
    assert pin(mm, dom, cpu, 0) == (-Errno.EINVAL, 0)
    assert snapshot(mm) == before


def test_a_refused_l2_promotion_demotes_the_l1s_it_promoted(mm, d1):
    dom, cpu = d1
    mm.memory.write32(1 << PAGE_SHIFT, make_pte(2, RW))     # L1 frame 1 maps frame 2 rw
    mm.memory.write32(0, make_pte(1, RW))                   # L2 frame 0: entry 0 -> L1 1
    mm.memory.write32(4, make_pte(2, RW))                   # entry 1 -> frame 2 as an L1: no
    before = snapshot(mm)
    assert pin(mm, dom, cpu, 0, level=2) == (-Errno.EINVAL, 0)
    assert snapshot(mm) == before


def test_a_frame_mapped_writable_cannot_become_a_table(mm, d1):
    dom, cpu = d1
    assert pin(mm, dom, cpu, 0) == (0, 1)
    assert mmu_update(mm, dom, [(pte_ptr(0, 0), make_pte(1, RW))]) == (0, 1)
    before = snapshot(mm)
    assert pin(mm, dom, cpu, 1) == (-Errno.EINVAL, 0)
    assert pin(mm, dom, cpu, 1, level=2) == (-Errno.EINVAL, 0)
    assert snapshot(mm) == before


def test_a_table_may_be_mapped_read_only_even_by_itself(mm, d1):
    dom, cpu = d1
    mm.memory.write32(0, make_pte(0, RO | PTE_U))
    assert pin(mm, dom, cpu, 0) == (0, 1)
    assert counts(mm, 0) == (PageType.L1_TABLE, 1, 3)   # allocation, pin, its own entry
    assert pin(mm, dom, cpu, 1, level=2) == (0, 1)
    assert mmu_update(mm, dom, [(pte_ptr(0, 1), make_pte(1, RO))]) == (0, 1)


def test_an_l2_entry_promotes_its_l1_and_keeps_it_typed(mm, d1):
    dom, cpu = d1
    assert pin(mm, dom, cpu, 0, level=2) == (0, 1)
    assert mmu_update(mm, dom, [(pte_ptr(0, 5), make_pte(1, RW))]) == (0, 1)
    assert counts(mm, 1) == (PageType.L1_TABLE, 1, 2)
    assert pin(mm, dom, cpu, 1) == (0, 1)
    assert unpin(mm, dom, cpu, 1) == (0, 1)          # still used by the L2: stays typed
    assert counts(mm, 1) == (PageType.L1_TABLE, 1, 2)
    assert unpin(mm, dom, cpu, 0) == (0, 1)          # the L2 goes, and the L1 with it
    assert counts(mm, 1) == (PageType.NONE, 0, 1)


def test_replacing_an_entry_drops_the_old_entrys_references(mm, d1):
    dom, cpu = d1
    assert pin(mm, dom, cpu, 0) == (0, 1)
    assert mmu_update(mm, dom, [(pte_ptr(0, 9), make_pte(1, RW))]) == (0, 1)
    assert mmu_update(mm, dom, [(pte_ptr(0, 9), make_pte(2, RO))]) == (0, 1)
    assert counts(mm, 1) == (PageType.NONE, 0, 1)
    assert counts(mm, 2) == (PageType.NONE, 0, 2)
    assert mmu_update(mm, dom, [(pte_ptr(0, 9), 0)]) == (0, 1)
    assert counts(mm, 2) == (PageType.NONE, 0, 1)


def test_accessed_and_dirty_changes_keep_the_references(mm, d1):
    dom, cpu = d1
    assert pin(mm, dom, cpu, 0) == (0, 1)
    assert mmu_update(mm, dom, [(pte_ptr(0, 1), make_pte(1, RW))]) == (0, 1)
    before = counts(mm, 1)
    assert mmu_update(mm, dom, [(pte_ptr(0, 1), make_pte(1, RW | PTE_A | PTE_D))]) == (0, 1)
    assert counts(mm, 1) == before
    assert mm.memory.read32(4) == make_pte(1, RW | PTE_A | PTE_D)


@pytest.mark.parametrize("bad_ptr", [
    pytest.param(pte_ptr(3, 0), id="not-a-table"),
    pytest.param(pte_ptr(64, 0), id="outside-memory"),
    pytest.param(1 << 32, id="not-a-word"),
])
def test_mmu_update_only_writes_validated_tables(mm, d1, bad_ptr):
    dom, cpu = d1
    assert pin(mm, dom, cpu, 0) == (0, 1)
    before = snapshot(mm)
    assert mmu_update(mm, dom, [(bad_ptr, make_pte(1, RO))]) == (-Errno.EINVAL, 0)
    assert snapshot(mm) == before


def test_mmu_update_reports_the_failing_index_after_applying_earlier_ones(mm, d1):
    dom, cpu = d1
    assert pin(mm, dom, cpu, 0) == (0, 1)
    requests = [(pte_ptr(0, 0), make_pte(1, RO)), (pte_ptr(0, 1), make_pte(2, RO)),
                (pte_ptr(0, 2), make_pte(0, RW)), (pte_ptr(0, 3), make_pte(3, RO))]
    assert mmu_update(mm, dom, requests) == (-Errno.EINVAL, 2)
    assert [mm.memory.read32(4 * i) for i in range(4)] == [make_pte(1, RO), make_pte(2, RO), 0, 0]


@pytest.mark.parametrize("cmd", [2, 3])
def test_unknown_mmu_update_commands_are_enosys(mm, d1, cmd):
    dom, _ = d1
    assert mmu_update(mm, dom, [(pte_ptr(0, 0) | cmd, 0)]) == (-Errno.ENOSYS, 0)


def test_machphys_update_sets_m2p_only_for_own_frames(mm, d1, make_domain):
    dom, _ = d1
    make_domain(2, pages=1)
    assert mmu_update(mm, dom, [((3 << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, 77)]) == (0, 1)
    assert mm.m2p[3] == 77
    before = snapshot(mm)
    assert mmu_update(mm, dom, [((8 << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, 5)]) == (
        -Errno.EINVAL, 0)
    assert snapshot(mm) == before


def test_an_entry_naming_a_frame_outside_memory_is_refused(mm, d1):
    dom, cpu = d1
    assert pin(mm, dom, cpu, 0) == (0, 1)
    assert pin(mm, dom, cpu, 1, level=2) == (0, 1)
    before = snapshot(mm)
    assert mmu_update(mm, dom, [(pte_ptr(0, 0), make_pte(0xFFFFF, RO))]) == (-Errno.EINVAL, 0)
    assert mmu_update(mm, dom, [(pte_ptr(1, 0), make_pte(500, RO))]) == (-Errno.EINVAL, 0)
    assert snapshot(mm) == before
