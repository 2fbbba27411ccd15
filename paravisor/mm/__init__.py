"""The frame table and the validated PV MMU: the isolation core (Xen's arch/x86/mm.c model).

- frametable: PageInfo, MemoryDomain, MemoryManager, the host allocator, general references.
- pagetable: type references, promotion/demotion of L1/L2 tables, mod_l1_entry/mod_l2_entry.
- pv_mmu: mmu_update, update_va_mapping, mmuext_op (pin/unpin, new_baseptr, flushes).
- reservation: increase/decrease_reservation, max_pages, relinquish (domain teardown).
- bootstrap: initial page tables for the domain builder, through the checked path.
- external: references held outside page tables (grant pins, dom0 services' maps) and
  the grant-map records that authorise foreign L1 entries.
- invariants: a from-scratch recount and the isolation invariants (tests, debug mode).
"""

from paravisor.mm.bootstrap import BootstrapError, build_bootstrap_tables, table_frames
from paravisor.mm.external import forget_grant_map, hold_frame, record_grant_map, release_frame
from paravisor.mm.frametable import (
    MemoryDomain,
    MemoryManager,
    MMBug,
    PageInfo,
    PageType,
    alloc_domheap_page,
    alloc_xen_page,
    free_xen_page,
    set_gpfn_from_mfn,
    share_xen_page_with_guest,
)
from paravisor.mm.invariants import InvariantViolation, check_invariants, recount, verify
from paravisor.mm.pv_mmu import (
    mmu_update,
    mmuext_op,
    new_baseptr,
    pin_table,
    unpin_table,
    update_va_mapping,
)
from paravisor.mm.reservation import (
    current_reservation,
    decrease_reservation,
    guest_remove_page,
    increase_reservation,
    maximum_reservation,
    populate_physmap,
    relinquish,
    set_max_pages,
)

__all__ = [
    "BootstrapError", "InvariantViolation", "MMBug", "MemoryDomain", "MemoryManager",
    "PageInfo", "PageType", "alloc_domheap_page", "alloc_xen_page", "build_bootstrap_tables",
    "check_invariants", "current_reservation", "decrease_reservation", "forget_grant_map",
    "free_xen_page", "guest_remove_page", "hold_frame", "increase_reservation",
    "maximum_reservation", "mmu_update", "mmuext_op", "new_baseptr", "pin_table",
    "populate_physmap", "recount", "record_grant_map", "release_frame", "relinquish",
    "set_gpfn_from_mfn", "set_max_pages", "share_xen_page_with_guest", "table_frames",
    "unpin_table", "update_va_mapping", "verify",
]
