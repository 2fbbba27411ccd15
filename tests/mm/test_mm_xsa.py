"""The isolation rules as the attacks they stop, named after the Xen advisories whose class
they rule out.  Every refusal must leave the whole memory state unchanged.

Layout used throughout (lowest-free-first allocation): domain 1 owns data frames 0-3; its
bootstrap tables are L2 = frame 4 and L1 = frame 5 (mapping va 0..0x3000 to frames 0-3
writable, and the two table frames read-only at TABLES_VA); domain 2 owns frame 6.
"""

import pytest

from paravisor.abi import MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L2_TABLE, MMUEXT_UNPIN_TABLE
from paravisor.abi.errno import Errno
from paravisor.isa.table import PAGE_SHIFT, PTE_A, PTE_D, PTE_P, PTE_U, PTE_W, make_pte
from paravisor.mm import (
    alloc_xen_page,
    build_bootstrap_tables,
    guest_remove_page,
    mmu_update,
    mmuext_op,
    new_baseptr,
    share_xen_page_with_guest,
    update_va_mapping,
)
from paravisor.mm.invariants import snapshot

RW = PTE_P | PTE_W
RO = PTE_P
TABLES_VA = 0x0010_0000
L2, L1, FOREIGN = 4, 5, 6


def ptr(table, index):
    return (table << PAGE_SHIFT) + 4 * index


@pytest.fixture
def space(mm, make_domain):
    dom, cpu = make_domain(1, pages=4)
    l2 = build_bootstrap_tables(mm, dom, {i << PAGE_SHIFT: (i, RW | PTE_U) for i in range(4)},
                                table_va=TABLES_VA)
    assert (l2, mm.memory.read32(ptr(L2, 0)) >> PAGE_SHIFT) == (L2, L1)
    assert new_baseptr(mm, dom, cpu, l2) == 0
    make_domain(2, pages=1)
    assert mm.frames[FOREIGN].owner == 2
    return dom, cpu


def refused(mm, operation, errno=Errno.EINVAL):
    """Run `operation`; assert it returned -errno (alone or as rc of (rc, done)) and that
    nothing at all changed."""
    before = snapshot(mm)
    result = operation()
    rc = result[0] if isinstance(result, tuple) else result
    assert rc == -errno
    assert snapshot(mm) == before


# --- a page table is never writable -------------------------------------------------------

@pytest.mark.parametrize("table", [L1, L2])
def test_writable_mapping_of_a_table_refused_by_mmu_update(mm, space, table):
    dom, _ = space
    refused(mm, lambda: mmu_update(mm, dom, [(ptr(L1, 20), make_pte(table, RW))]))


@pytest.mark.parametrize("table", [L1, L2])
def test_writable_mapping_of_a_table_refused_by_update_va_mapping(mm, space, table):
    dom, cpu = space
    refused(mm, lambda: update_va_mapping(mm, dom, cpu, 0x5000, make_pte(table, RW), 0))


def test_writable_mapping_of_a_table_refused_when_revalidating_a_new_l1(mm, space):
    dom, cpu = space
    # Frame 3 is writable data: the guest fills it with an entry mapping its L2 writable,
    # unmaps it, then offers it as an L1 through the L2 -- promotion must find the entry.
    mm.memory.write32(ptr(3, 0), make_pte(L2, RW))
    assert update_va_mapping(mm, dom, cpu, 0x3000, 0, 0) == 0
    refused(mm, lambda: mmu_update(mm, dom, [(ptr(L2, 9), make_pte(3, RW))]))
    refused(mm, lambda: mmuext_op(mm, dom, cpu, [(MMUEXT_PIN_L1_TABLE, 3, 0)]))


def test_a_writable_data_page_cannot_become_a_table(mm, space):
    dom, cpu = space
    refused(mm, lambda: mmuext_op(mm, dom, cpu, [(MMUEXT_PIN_L1_TABLE, 0, 0)]))
    refused(mm, lambda: mmu_update(mm, dom, [(ptr(L2, 9), make_pte(0, RW))]))
    refused(mm, lambda: new_baseptr(mm, dom, cpu, 0))


# --- XSA-182: no fast path for writability -----------------------------------------------

def test_xsa182_flipping_w_on_an_entry_that_maps_a_table_refused(mm, space):
    dom, cpu = space
    entry = ptr(L1, TABLES_VA >> PAGE_SHIFT & 0x3FF)   # the read-only mapping of the L2
    assert mm.memory.read32(entry) == make_pte(L2, RO)
    refused(mm, lambda: mmu_update(mm, dom, [(entry, make_pte(L2, RW))]))
    refused(mm, lambda: mmu_update(mm, dom, [(entry, make_pte(L2, RW | PTE_A | PTE_D))]))
    refused(mm, lambda: update_va_mapping(mm, dom, cpu, TABLES_VA, make_pte(L2, RW), 0))


def test_xsa182_the_whitelist_is_only_accessed_and_dirty(mm, space):
    dom, _ = space
    entry = ptr(L1, TABLES_VA >> PAGE_SHIFT & 0x3FF)
    assert mmu_update(mm, dom, [(entry, make_pte(L2, RO | PTE_A | PTE_D))]) == (0, 1)
    refused(mm, lambda: mmu_update(mm, dom, [(entry, make_pte(L2, RO | PTE_A | 1 << 7))]))


# --- XSA-240: no linear page tables --------------------------------------------------------

@pytest.mark.parametrize("flags", [RO, RW])
def test_xsa240_an_l2_entry_naming_its_own_l2_refused(mm, space, flags):
    dom, _ = space
    refused(mm, lambda: mmu_update(mm, dom, [(ptr(L2, 100), make_pte(L2, flags))]))


def test_xsa240_an_l2_entry_naming_another_l2_refused(mm, space):
    dom, cpu = space
    assert mmuext_op(mm, dom, cpu, [(MMUEXT_PIN_L2_TABLE, 3, 0)]) == (-Errno.EINVAL, 0)
    assert update_va_mapping(mm, dom, cpu, 0x3000, 0, 0) == 0      # unmap frame 3 first
    assert mmuext_op(mm, dom, cpu, [(MMUEXT_PIN_L2_TABLE, 3, 0)]) == (0, 1)
    refused(mm, lambda: mmu_update(mm, dom, [(ptr(L2, 100), make_pte(3, RO))]))


def test_xsa240_a_self_referencing_l2_cannot_be_validated(mm, space):
    dom, cpu = space
    assert update_va_mapping(mm, dom, cpu, 0x3000, 0, 0) == 0
    mm.memory.write32(ptr(3, 7), make_pte(3, RO))
    refused(mm, lambda: mmuext_op(mm, dom, cpu, [(MMUEXT_PIN_L2_TABLE, 3, 0)]))
    refused(mm, lambda: new_baseptr(mm, dom, cpu, 3))


# --- XSA-148: no superpages, no reserved bits ------------------------------------------------

@pytest.mark.parametrize("bit", [3, 4, 7, 8, 9, 10, 11])
@pytest.mark.parametrize("table", [L1, L2])
def test_xsa148_reserved_and_superpage_bits_refused(mm, space, bit, table):
    dom, _ = space
    target = 2 if table == L1 else L1
    refused(mm, lambda: mmu_update(mm, dom, [(ptr(table, 200), make_pte(target, RO | 1 << bit))]))


@pytest.mark.parametrize("bit", [3, 7])
def test_xsa148_reserved_bits_refused_in_promotion(mm, space, bit):
    dom, cpu = space
    assert update_va_mapping(mm, dom, cpu, 0x3000, 0, 0) == 0
    mm.memory.write32(ptr(3, 0), make_pte(2, RO | 1 << bit))
    refused(mm, lambda: mmuext_op(mm, dom, cpu, [(MMUEXT_PIN_L1_TABLE, 3, 0)]))


# --- other domains' memory -------------------------------------------------------------------

@pytest.mark.parametrize("flags", [RO, RW])
def test_mapping_another_domains_frame_refused(mm, space, flags):
    dom, cpu = space
    refused(mm, lambda: mmu_update(mm, dom, [(ptr(L1, 30), make_pte(FOREIGN, flags))]))
    refused(mm, lambda: update_va_mapping(mm, dom, cpu, 0x7000, make_pte(FOREIGN, flags), 0))
    refused(mm, lambda: mmu_update(mm, dom, [(ptr(L2, 30), make_pte(FOREIGN, flags))]))


def test_writing_another_domains_table_refused(mm, space, make_domain):
    other, ocpu = make_domain(3, pages=1)
    # Even entries that would map the table owner's own frames, or unmap them.
    refused(mm, lambda: mmu_update(mm, other, [(ptr(L1, 30), make_pte(2, RO))]))
    refused(mm, lambda: mmu_update(mm, other, [(ptr(L1, 0), 0)]))
    refused(mm, lambda: mmu_update(mm, other, [(ptr(L2, 0), 0)]))
    refused(mm, lambda: mmuext_op(mm, other, ocpu, [(MMUEXT_UNPIN_TABLE, L2, 0)]))
    refused(mm, lambda: new_baseptr(mm, other, ocpu, L2))


def test_a_read_only_shared_hypervisor_page_cannot_be_mapped_writable(mm, space):
    dom, cpu = space
    shared = alloc_xen_page(mm)
    share_xen_page_with_guest(mm, shared, dom.domid, writable=False)
    refused(mm, lambda: update_va_mapping(mm, dom, cpu, 0x8000, make_pte(shared, RW), 0))
    assert update_va_mapping(mm, dom, cpu, 0x8000, make_pte(shared, RO), 0) == 0
    refused(mm, lambda: mmuext_op(mm, dom, cpu, [(MMUEXT_PIN_L1_TABLE, shared, 0)]))


def test_an_unshared_hypervisor_page_cannot_be_mapped(mm, space):
    dom, cpu = space
    shared = alloc_xen_page(mm)
    share_xen_page_with_guest(mm, shared, 2, writable=True)
    refused(mm, lambda: update_va_mapping(mm, dom, cpu, 0x8000, make_pte(shared, RO), 0))


# --- freeing --------------------------------------------------------------------------------

@pytest.mark.parametrize("mfn", [0, L1, L2])
def test_freeing_a_frame_in_use_refused(mm, space, mfn):
    dom, _ = space
    refused(mm, lambda: guest_remove_page(mm, dom, mfn), Errno.EBUSY)
