"""Initial page tables for the domain builder, built through the guests' own checked path.

The builder writes the tables into ordinary frames of the new domain, exactly as a guest
would through a writable mapping, and then pins the L2 with pv_mmu.pin_table, which validates
every entry by the same rules as a guest's hypercalls: the builder cannot create anything a
guest could not (no writable mapping of a table, no frame of another domain, no reserved bit).
"""

from __future__ import annotations

from collections.abc import Mapping

from paravisor.errors import UserError
from paravisor.isa.table import (
    PAGE_MASK,
    PAGE_SIZE,
    PTE_P,
    PTE_U,
    PTE_W,
    l1_index,
    l2_index,
    make_pte,
    pte_frame,
)
from paravisor.mm.consts import PTE_ALLOWED_FLAGS
from paravisor.mm.frametable import MemoryDomain, MemoryManager, PageType, alloc_domheap_page
from paravisor.mm.pagetable import entry_maddr, read_table
from paravisor.mm.pv_mmu import pin_table
from paravisor.mm.reservation import guest_remove_page

# L2 entries allow everything; each L1 entry decides its page's permissions.
BOOTSTRAP_L2_FLAGS = PTE_P | PTE_W | PTE_U
# The tables' own mappings (table_va) are read-only kernel mappings.
BOOTSTRAP_TABLE_FLAGS = PTE_P


class BootstrapError(UserError):
    """The initial address space asked for cannot be built (bad mapping, no memory)."""


def build_bootstrap_tables(mm: MemoryManager, dom: MemoryDomain,
                           mappings: Mapping[int, tuple[int, int]],
                           table_va: int | None = None) -> int:
    """Build and pin an L2 table mapping each page-aligned `va` to `(mfn, flags)`; returns
    the L2's mfn (make it a vCPU's base with pv_mmu.new_baseptr).  Table frames come from
    `dom`'s reservation: the L2 first, then one L1 per 4 MiB region used (the regions of
    `mappings` in address order, then any that the tables' own mapping needs).  With
    `table_va`, those frames are also mapped read-only, in that order, from `table_va` up.
    Raises BootstrapError (and gives back every frame it took) if anything is refused."""
    _check_mappings(mm, mappings, table_va)
    tables: list[int] = []
    try:
        l1_of, all_mappings = _allocate_tables(mm, dom, mappings, table_va, tables)
        l2 = tables[0]
        for index, l1 in sorted(l1_of.items()):
            mm.memory.write32(entry_maddr(l2, index), make_pte(l1, BOOTSTRAP_L2_FLAGS))
        for va, (mfn, flags) in sorted(all_mappings.items()):
            mm.memory.write32(entry_maddr(l1_of[l2_index(va)], l1_index(va)),
                              make_pte(mfn, flags))
        rc = pin_table(mm, dom, l2, PageType.L2_TABLE)
        if rc:
            raise BootstrapError(
                f"domain {dom.domid}: initial page tables refused (errno {-rc}): a mapping "
                "names a frame the domain does not own or maps a page-table frame writable")
    except BootstrapError:
        for mfn in tables:
            guest_remove_page(mm, dom, mfn)
        raise
    return l2


def table_frames(mm: MemoryManager, l2_mfn: int) -> list[int]:
    """The L2 frame followed by the L1 frames its present entries name, in address order
    (what start_info's nr_pt_frames counts)."""
    l1s = [pte_frame(pte) for pte in read_table(mm, l2_mfn) if pte & PTE_P]
    return [l2_mfn, *l1s]


def _check_mappings(mm: MemoryManager, mappings: Mapping[int, tuple[int, int]],
                    table_va: int | None) -> None:
    for va, (mfn, flags) in mappings.items():
        if not 0 <= va <= 0xFFFF_FFFF or va & PAGE_MASK:
            raise BootstrapError(f"mapping at {va:#x}: not a page-aligned 32-bit address")
        if not mm.valid_mfn(mfn):
            raise BootstrapError(f"mapping at {va:#010x}: frame {mfn:#x} does not exist")
        if flags & ~PTE_ALLOWED_FLAGS:
            raise BootstrapError(f"mapping at {va:#010x}: flags {flags:#x} include reserved "
                                 f"bits (allowed: {PTE_ALLOWED_FLAGS:#x})")
    if table_va is not None and (not 0 <= table_va <= 0xFFFF_FFFF or table_va & PAGE_MASK):
        raise BootstrapError(f"table_va {table_va:#x}: not a page-aligned 32-bit address")


def _allocate_tables(mm: MemoryManager, dom: MemoryDomain,
                     mappings: Mapping[int, tuple[int, int]], table_va: int | None,
                     tables: list[int]) -> tuple[dict[int, int], dict[int, tuple[int, int]]]:
    """Allocate the L2 and enough L1s into `tables` (so the caller can give them back);
    returns {l2 index: L1 mfn} and the mappings including the tables' own."""
    all_mappings = dict(mappings)
    l1_of: dict[int, int] = {}
    _allocate_into(mm, dom, tables)
    while True:
        if table_va is not None:
            for i, mfn in enumerate(tables):
                va = table_va + i * PAGE_SIZE
                if va > 0xFFFF_FFFF:
                    raise BootstrapError(f"table_va {table_va:#x}: tables run past 4 GiB")
                if va in mappings:
                    raise BootstrapError(f"table_va: page {va:#010x} is already mapped")
                all_mappings[va] = (mfn, BOOTSTRAP_TABLE_FLAGS)
        missing = sorted({l2_index(va) for va in all_mappings} - l1_of.keys())
        if not missing:
            return l1_of, all_mappings
        for index in missing:   # new L1s may need mapping themselves: go round again
            l1_of[index] = _allocate_into(mm, dom, tables)


def _allocate_into(mm: MemoryManager, dom: MemoryDomain, tables: list[int]) -> int:
    mfn = alloc_domheap_page(mm, dom)
    if mfn is None:
        raise BootstrapError(f"domain {dom.domid}: out of memory for its page tables "
                             f"(max_pages {dom.max_pages}, host free {mm.free_pages})")
    tables.append(mfn)
    return mfn
