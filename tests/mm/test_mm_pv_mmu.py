"""update_va_mapping, mmuext_op (base pointers, flushes, command numbers), foreigndom,
the bootstrap builder, and the invariant checker itself."""

import pytest

from paravisor.abi import (
    DOMID_SELF,
    MMUEXT_INVLPG_ALL,
    MMUEXT_INVLPG_LOCAL,
    MMUEXT_INVLPG_MULTI,
    MMUEXT_NEW_BASEPTR,
    MMUEXT_PIN_L1_TABLE,
    MMUEXT_PIN_L3_TABLE,
    MMUEXT_PIN_L4_TABLE,
    MMUEXT_TLB_FLUSH_ALL,
    MMUEXT_TLB_FLUSH_LOCAL,
    MMUEXT_TLB_FLUSH_MULTI,
    UVMF_ALL,
    UVMF_INVLPG,
    UVMF_NONE,
    UVMF_TLB_FLUSH,
)
from paravisor.abi.errno import Errno
from paravisor.isa.engine import CPUState
from paravisor.isa.table import CR, PAGE_SHIFT, PTE_P, PTE_U, PTE_W, make_pte
from paravisor.mm import (
    BootstrapError,
    InvariantViolation,
    PageType,
    build_bootstrap_tables,
    check_invariants,
    mmu_update,
    mmuext_op,
    new_baseptr,
    table_frames,
    update_va_mapping,
    verify,
)
from paravisor.mm.invariants import snapshot

RW = PTE_P | PTE_W


@pytest.fixture
def space(mm, make_domain):
    """Domain 1: data frames 0-3 mapped rw at va 0..0x3000, L2 = 4, L1 = 5, base set;
    a second vCPU without a base."""
    dom, cpu = make_domain(1, pages=4)
    l2 = build_bootstrap_tables(mm, dom, {i << PAGE_SHIFT: (i, RW) for i in range(4)})
    assert new_baseptr(mm, dom, cpu, l2) == 0
    dom.add_vcpu(CPUState())
    return dom, cpu


# --- update_va_mapping -----------------------------------------------------------------------

def test_update_va_mapping_writes_the_l1_entry_of_the_current_space(mm, space):
    dom, cpu = space
    assert update_va_mapping(mm, dom, cpu, 0x9000, make_pte(2, PTE_P | PTE_U), UVMF_NONE) == 0
    assert mm.memory.read32((5 << PAGE_SHIFT) + 4 * 9) == make_pte(2, PTE_P | PTE_U)
    assert mm.frames[2].count == 3


def test_update_va_mapping_needs_a_base_and_a_present_l2_entry(mm, space):
    dom, _ = space
    before = snapshot(mm)
    assert update_va_mapping(mm, dom, dom.vcpus[1], 0x1000, 0, 0) == -Errno.EINVAL
    assert update_va_mapping(mm, dom, dom.vcpus[0], 0x40_0000, 0, 0) == -Errno.EINVAL
    assert update_va_mapping(mm, dom, dom.vcpus[0], 1 << 32, 0, 0) == -Errno.EINVAL
    assert snapshot(mm) == before


@pytest.mark.parametrize("flags, local, other", [
    (UVMF_NONE, 0, 0), (UVMF_TLB_FLUSH, 1, 0), (UVMF_INVLPG, 1, 0),
    (UVMF_TLB_FLUSH | UVMF_ALL, 1, 1), (UVMF_INVLPG | 0x1000, 1, 1), (3, 0, 0),
])
def test_update_va_mapping_flushes_what_the_flags_ask(mm, space, flags, local, other):
    dom, cpu = space
    epochs = [c.tlb_epoch for c in dom.vcpus]
    assert update_va_mapping(mm, dom, cpu, 0x1000, 0, flags) == 0
    assert [c.tlb_epoch - e for c, e in zip(dom.vcpus, epochs, strict=True)] == [local, other]


# --- mmuext_op -------------------------------------------------------------------------------

def test_new_baseptr_moves_the_base_reference_and_sets_ptbr(mm, space):
    dom, cpu = space
    assert update_va_mapping(mm, dom, cpu, 0x3000, 0, 0) == 0
    epoch = cpu.tlb_epoch
    assert mmuext_op(mm, dom, cpu, [(MMUEXT_NEW_BASEPTR, 3, 0)]) == (0, 1)
    assert cpu.cr[CR.PTBR] == 3 << PAGE_SHIFT and dom.guest_table[0] == 3
    assert cpu.tlb_epoch > epoch
    assert mm.frames[3].type == PageType.L2_TABLE
    assert (mm.frames[4].type, mm.frames[4].type_count) == (PageType.L2_TABLE, 1)  # its pin
    assert mmuext_op(mm, dom, cpu, [(MMUEXT_NEW_BASEPTR, 3, 0)]) == (0, 1)          # again
    assert mm.frames[3].type_count == 1


def test_unpinning_the_current_base_keeps_it_typed(mm, space):
    dom, cpu = space
    assert mmuext_op(mm, dom, cpu, [(4, 4, 0)]) == (0, 1)           # MMUEXT_UNPIN_TABLE
    assert (mm.frames[4].type, mm.frames[4].type_count) == (PageType.L2_TABLE, 1)
    assert mmu_update(mm, dom, [((4 << PAGE_SHIFT) + 8, 0)]) == (0, 1)   # still a table


@pytest.mark.parametrize("cmd", [MMUEXT_PIN_L3_TABLE, MMUEXT_PIN_L4_TABLE])
def test_pinning_levels_pv32_lacks_is_einval(mm, space, cmd):
    dom, cpu = space
    assert mmuext_op(mm, dom, cpu, [(cmd, 3, 0)]) == (-Errno.EINVAL, 0)


@pytest.mark.parametrize("cmd", [12, 13, 15, 99, -1])
def test_unknown_mmuext_commands_are_enosys(mm, space, cmd):
    dom, cpu = space
    assert mmuext_op(mm, dom, cpu, [(MMUEXT_TLB_FLUSH_LOCAL, 0, 0), (cmd, 0, 0)]) == (
        -Errno.ENOSYS, 1)


def test_mmuext_reports_the_failing_index(mm, space):
    dom, cpu = space
    assert update_va_mapping(mm, dom, cpu, 0x3000, 0, 0) == 0
    ops = [(MMUEXT_PIN_L1_TABLE, 3, 0), (MMUEXT_PIN_L1_TABLE, 3, 0), (MMUEXT_PIN_L1_TABLE, 2, 0)]
    assert mmuext_op(mm, dom, cpu, ops) == (-Errno.EINVAL, 1)
    assert mm.frames[3].pinned and not mm.frames[2].pinned


@pytest.mark.parametrize("cmd, local, other", [
    (MMUEXT_TLB_FLUSH_LOCAL, 1, 0), (MMUEXT_INVLPG_LOCAL, 1, 0),
    (MMUEXT_TLB_FLUSH_MULTI, 1, 1), (MMUEXT_INVLPG_MULTI, 1, 1),
    (MMUEXT_TLB_FLUSH_ALL, 1, 1), (MMUEXT_INVLPG_ALL, 1, 1),
])
def test_flush_commands_flush_the_named_vcpus(mm, space, cmd, local, other):
    dom, cpu = space
    epochs = [c.tlb_epoch for c in dom.vcpus]
    assert mmuext_op(mm, dom, cpu, [(cmd, 0x1000, 0)]) == (0, 1)
    assert [c.tlb_epoch - e for c, e in zip(dom.vcpus, epochs, strict=True)] == [local, other]


# --- foreigndom --------------------------------------------------------------------------------

def test_an_unprivileged_domain_cannot_name_another(mm, space, make_domain):
    dom, _ = space
    other, ocpu = make_domain(2, pages=1)
    assert mmu_update(mm, other, [((5 << PAGE_SHIFT), 0)], foreigndom=1) == (-Errno.ESRCH, 0)
    assert mmuext_op(mm, other, ocpu, [(MMUEXT_PIN_L1_TABLE, 3, 0)], foreigndom=1) == (
        -Errno.ESRCH, 0)


def test_a_privileged_domain_acts_as_the_foreign_domain(mm, space, make_domain):
    dom, cpu = space
    dom0, cpu0 = make_domain(0, pages=1, privileged=True)
    assert mmu_update(mm, dom0, [((5 << PAGE_SHIFT) + 40, make_pte(2, PTE_P))],
                      foreigndom=1) == (0, 1)
    # ...but the mapped frame must belong to the foreign domain, not to the caller.
    assert mmu_update(mm, dom0, [((5 << PAGE_SHIFT) + 44, make_pte(6, PTE_P))],
                      foreigndom=1) == (-Errno.EINVAL, 0)
    assert mmuext_op(mm, dom0, cpu0, [(MMUEXT_NEW_BASEPTR, 4, 0)], foreigndom=1) == (
        -Errno.EPERM, 0)
    assert mmu_update(mm, dom0, [(0, 0)], foreigndom=42) == (-Errno.ESRCH, 0)
    assert mmu_update(mm, dom0, [], foreigndom=DOMID_SELF) == (0, 0)


# --- bootstrap ---------------------------------------------------------------------------------

def test_bootstrap_maps_its_tables_read_only_and_pins_the_l2(mm, make_domain):
    dom, cpu = make_domain(1, pages=2)
    l2 = build_bootstrap_tables(mm, dom, {0x1000: (0, RW), 0x80_0000: (1, PTE_P)},
                                table_va=0xC000_0000)
    frames = table_frames(mm, l2)
    assert frames == [2, 3, 4, 5]          # L2, two L1s for the mappings, one for the tables
    assert mm.frames[l2].pinned and mm.frames[l2].type == PageType.L2_TABLE
    for i, mfn in enumerate(frames):
        va = 0xC000_0000 + (i << PAGE_SHIFT)
        l1 = mm.memory.read32((l2 << PAGE_SHIFT) + 4 * (va >> 22)) >> PAGE_SHIFT
        assert mm.memory.read32((l1 << PAGE_SHIFT) + 4 * (va >> 12 & 0x3FF)) == make_pte(
            mfn, PTE_P)
    assert new_baseptr(mm, dom, cpu, l2) == 0


@pytest.mark.parametrize("mappings, table_va, message", [
    ({0x1001: (0, RW)}, None, "page-aligned"),
    ({0x1000: (999, RW)}, None, "does not exist"),
    ({0x1000: (0, RW | 1 << 7)}, None, "reserved"),
    ({0x1000: (0, RW)}, 0x1000, "already mapped"),
    ({0x1000: (0, RW)}, 0xFFFF_F000, "past 4 GiB"),
    ({0x1000: (1, RW)}, None, "refused"),          # frame 1 becomes the L2: mapped writable
])
def test_bootstrap_refuses_what_a_guest_could_not_do(mm, make_domain, mappings, table_va,
                                                      message):
    dom, _ = make_domain(1, pages=1)
    before = snapshot(mm)
    with pytest.raises(BootstrapError, match=message):
        build_bootstrap_tables(mm, dom, mappings, table_va=table_va)
    assert snapshot(mm) == before


def test_bootstrap_out_of_memory_is_a_clear_error(mm, make_domain):
    dom, _ = make_domain(1, max_pages=2, pages=1)
    with pytest.raises(BootstrapError, match="out of memory"):
        build_bootstrap_tables(mm, dom, {0x1000: (0, RW), 0x40_0000: (0, PTE_P)})
    assert dom.pages == {0}


# --- the checker can see violations ---------------------------------------------------------------

def test_the_checker_reports_a_miscounted_frame(mm, space):
    mm.frames[2].count += 1
    assert any("recount" in p for p in check_invariants(mm))
    with pytest.raises(InvariantViolation):
        verify(mm)


def test_the_checker_reports_a_table_mapped_writable_behind_the_mms_back(mm, space):
    mm.memory.write32((5 << PAGE_SHIFT) + 4 * 50, make_pte(4, RW))   # bypasses mod_l1_entry
    problems = check_invariants(mm)
    assert any("writable" in p for p in problems)
    assert any("recount" in p for p in problems)


def test_the_checker_reports_a_foreign_mapping_and_dirty_free_frames(mm, space, make_domain):
    make_domain(2, pages=1)
    mm.memory.write32((5 << PAGE_SHIFT) + 4 * 50, make_pte(6, PTE_P))
    mm.memory.write32(40 << PAGE_SHIFT, 1)
    problems = check_invariants(mm)
    assert any("owned by 2, not by 1" in p for p in problems)
    assert any("free but not zero" in p for p in problems)


def test_debug_mode_raises_at_the_first_operation_after_corruption(mm, space):
    dom, cpu = space
    mm.frames[0].type_count += 1
    with pytest.raises(InvariantViolation):
        mmuext_op(mm, dom, cpu, [(MMUEXT_TLB_FLUSH_LOCAL, 0, 0)])
