"""Grant mappings: map_grant_ref / unmap_grant_ref, the dom0-service mapping API, and
release_mapping (unmap, and the teardown of a destroyed mapper: registry.py).

A mapping is a pin (paravisor.grants.pins) recorded in the mapper's maptrack under a
handle, plus a grant-map record in mm (mm.external.record_grant_map), the authority that
lets the mapper's L1 hold a foreign entry.  A host mapping also holds that L1 entry,
installed by mm.pagetable.mod_l1_entry_grant at a recorded (table, index) and removed by
mm.pagetable.destroy_grant_host_mapping; a service mapping holds no entry: dom0's Python
backends read and write the frame through a GrantMapping handle.  Nothing here reads or
writes a page table or a count itself (docs/design.md, 'Conventions' 18), and nothing
flushes: the entry writes flush the TLBs that walked the table (PV32's coherent TLB).

Handles are single-use (the XSA-224 lesson): each map returns a fresh number, unmapping it
retires it, so a second unmap of the same handle gets GNTST_bad_handle and cannot drop a
reference twice.  host_addr is validated (page-aligned, covered by an L1 of the caller's
current address space) before anything is taken or written (the XSA-227 lesson); there is
no GNTMAP_contains_pte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from paravisor.abi.consts import Gntmap, Gntst
from paravisor.errors import UserError
from paravisor.grants.pins import pin_grant, unpin_grant
from paravisor.grants.table import GrantTable
from paravisor.isa.table import PAGE_MASK, PAGE_SHIFT, PTE_A, PTE_D, PTE_P, PTE_U, PTE_W
from paravisor.mm.external import HostMapping, Refusal, forget_grant_map, record_grant_map
from paravisor.mm.pagetable import destroy_grant_host_mapping, l1_slot, mod_l1_entry_grant

if TYPE_CHECKING:
    from paravisor.domain import Domain, Vcpu
    from paravisor.hypervisor import Hypervisor


@dataclass
class Mapping:
    """One maptrack entry.  `table` is the granter's table object itself (not its domid,
    which a later domain may reuse); `pte` is (L1 table mfn, index) for a host mapping,
    None for a service mapping; `va` the host_addr it was mapped at."""
    mapper: int
    granter: int
    table: GrantTable
    ref: int
    frame: int
    writable: bool
    pte: tuple[int, int] | None = None
    va: int = 0


class GrantError(UserError):
    """A dom0 service's grant operation failed; `status` is the GNTST_* code."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(f"{why} ({Gntst(status).name})")
        self.status = status


def _establish(hv: Hypervisor, mapper: Domain, granter: int, ref: int,
               writable: bool) -> tuple[int, Mapping | None]:
    """Pin and record the authority for a new mapping (not yet in the maptrack)."""
    tables = hv.grants
    table = tables.lookup(granter)
    if table is None:
        return Gntst.GNTST_bad_domain, None
    if len(tables.maptrack_of(mapper.domid)) >= tables.maptrack_limit(mapper):
        return Gntst.GNTST_no_space, None
    status, act = pin_grant(hv, table, ref, mapper.domid, writable)
    if status:
        return status, None
    record_grant_map(hv.mm, mapper.domid, act.frame, writable)
    return Gntst.GNTST_okay, Mapping(mapper.domid, granter, table, ref, act.frame, writable)


def _teardown(hv: Hypervisor, mapping: Mapping) -> None:
    """Undo _establish: drop the authority and the pin."""
    forget_grant_map(hv.mm, mapping.mapper, mapping.frame, mapping.writable)
    unpin_grant(hv, mapping.table, mapping.ref, mapping.writable)
    hv.grants.forget_if_unused(mapping.table)


def _host_l1(hv: Hypervisor, vcpu: Vcpu, va: int) -> tuple[int, int] | None:
    """(L1 table mfn, index) mapping page-aligned `va` in the vCPU's current address
    space, or None."""
    if va & PAGE_MASK or not 0 <= va <= 0xFFFF_FFFF:
        return None
    return l1_slot(hv.mm, vcpu.domain.mem, vcpu.cpu, va)


def map_grant_ref(hv: Hypervisor, vcpu: Vcpu, host_addr: int, flags: int, ref: int,
                  dom: int) -> tuple[int, int]:
    """GNTTABOP_map_grant_ref for one op: (GNTST_* status, handle).  Only GNTMAP_host_map
    mappings (GNTMAP_readonly, GNTMAP_application_map honoured); on failure nothing
    changed."""
    if not flags & (Gntmap.GNTMAP_host_map | Gntmap.GNTMAP_device_map):
        return Gntst.GNTST_bad_gntref, 0
    if flags & (Gntmap.GNTMAP_contains_pte | Gntmap.GNTMAP_device_map):
        return Gntst.GNTST_general_error, 0      # no PTE-address maps, no device maps
    where = _host_l1(hv, vcpu, host_addr)
    if where is None:
        return Gntst.GNTST_bad_virt_addr, 0
    writable = not flags & Gntmap.GNTMAP_readonly
    status, mapping = _establish(hv, vcpu.domain, dom, ref, writable)
    if status:
        return status, 0
    pte = (mapping.frame << PAGE_SHIFT) | PTE_P | PTE_A | (PTE_W | PTE_D if writable else 0)
    if flags & Gntmap.GNTMAP_application_map:
        pte |= PTE_U
    if mod_l1_entry_grant(hv.mm, where[0], where[1], pte):
        _teardown(hv, mapping)
        return Gntst.GNTST_general_error, 0
    mapping.pte, mapping.va = where, host_addr
    return Gntst.GNTST_okay, hv.grants.track(mapping)


def unmap_grant_ref(hv: Hypervisor, vcpu: Vcpu, host_addr: int, handle: int) -> int:
    """GNTTABOP_unmap_grant_ref for one op: the GNTST_* status.  Afterwards the mapping's
    L1 entry (if it still maps the frame) is cleared and the handle is retired."""
    mapping = hv.grants.mapping_of(vcpu.domid, handle)
    if mapping is None or mapping.pte is None:
        return Gntst.GNTST_bad_handle
    if host_addr != mapping.va:
        return Gntst.GNTST_general_error
    release_mapping(hv, handle, mapping)
    return Gntst.GNTST_okay


def release_mapping(hv: Hypervisor, handle: int, mapping: Mapping) -> None:
    """Remove a tracked mapping: its L1 entry if the table is still a validated L1 whose
    entry maps the frame (else the guest already replaced it, or the table was demoted and
    its entries hold nothing), then its authority and pin."""
    del hv.grants.maptrack_of(mapping.mapper)[handle]
    if mapping.pte is not None:
        destroy_grant_host_mapping(hv.mm, *mapping.pte, mapping.mapper, mapping.frame)
    _teardown(hv, mapping)


_GNTST_OF = {Refusal.UNMAPPED: Gntst.GNTST_bad_handle,
             Refusal.READ_ONLY: Gntst.GNTST_permission_denied,
             Refusal.OUTSIDE: Gntst.GNTST_bad_copy_arg}


class GrantMapping(HostMapping):
    """A dom0 service's mapping of a granted page: no page tables, a maptrack entry and a
    pin (like ForeignPage's hold).  Read-only mappings refuse writes; after `unmap()`
    every access raises GrantError."""

    def __init__(self, hv: Hypervisor, mapper: Domain, granter: int, ref: int,
                 readonly: bool = False) -> None:
        status, mapping = _establish(hv, mapper, granter, ref, not readonly)
        if status:
            raise GrantError(status, f"cannot map grant {ref} of domain {granter}")
        super().__init__(hv.memory, mapping.frame, mapping.writable)
        self.hv, self.mapping = hv, mapping
        self.handle = hv.grants.track(mapping)
        self.mapped = True

    @property
    def live(self) -> bool:
        """Mapped, and the handle still names this mapping (a destroyed mapper's
        mappings are released by the registry)."""
        return self.mapped and self.hv.grants.mapping_of(self.mapping.mapper,
                                                         self.handle) is self.mapping

    def refusal(self, why: Refusal) -> Exception:
        return GrantError(_GNTST_OF[why], why.value)

    def unmap(self) -> None:
        """Release the mapping (idempotent: the handle is released once)."""
        if self.live:
            release_mapping(self.hv, self.handle, self.mapping)
        self.mapped = False


def map_grant(hv: Hypervisor, mapper: Domain, granter: int, ref: int,
              readonly: bool = False) -> GrantMapping:
    """The dom0-service API: map grant `ref` of domain `granter` for `mapper` (the domain
    the backend runs in; the entry must name it).  Raises GrantError on refusal."""
    return GrantMapping(hv, mapper, granter, ref, readonly)
