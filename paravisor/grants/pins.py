"""Pinning a grant: validate the entry, take the frame references, set GTF_reading/writing.

A pin is what every use of a grant holds while it lasts: a map holds one until it is
unmapped, a copy only for the copy.  Each pin holds the frame through mm's hold_frame
(a general reference and, if writable, a WRITABLE type reference, registered in mm.holds
as "grant d<granter>#<ref>" so the invariant recount sees them).  So a granted frame cannot be
freed (decrease_reservation gets -EBUSY) while pinned, nor become a page table while
pinned writable.  GTF_writing is cleared when the last writable pin goes and GTF_reading
when the last pin goes (the CVE-2017-12855 lesson: never earlier).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paravisor.abi.consts import Gntst, Gtf
from paravisor.grants.table import ActiveEntry, GrantTable, cas_flags, read_entry
from paravisor.mm.external import hold_frame, release_frame

if TYPE_CHECKING:
    from paravisor.hypervisor import Hypervisor

_FLAGS_RETRIES = 4   # CAS attempts before giving up on a guest that keeps changing flags


def _holder(table: GrantTable, ref: int) -> str:
    return f"grant d{table.domid}#{ref}"


def pin_grant(hv: Hypervisor, table: GrantTable, ref: int, mapper: int,
              writable: bool) -> tuple[int, ActiveEntry | None]:
    """Pin entry `ref` of `table` for domain `mapper`: (GNTST_okay, its active entry) or
    (GNTST_* error, None) with nothing changed."""
    if not table.valid_ref(ref):
        return Gntst.GNTST_bad_gntref, None
    maddr = table.entry_maddr(ref)
    for _ in range(_FLAGS_RETRIES):
        entry = read_entry(hv.memory, maddr)          # copied once; checks use the copy
        if (entry.flags & Gtf.GTF_type_mask) != Gtf.GTF_permit_access or entry.domid != mapper:
            return Gntst.GNTST_general_error, None
        if writable and entry.flags & Gtf.GTF_readonly:
            return Gntst.GNTST_general_error, None
        act = table.active.get(ref)
        if act is not None and act.domid != mapper:
            return Gntst.GNTST_general_error, None
        frame = act.frame if act is not None else entry.frame
        if not hold_frame(hv.mm, frame, table.domid, writable, _holder(table, ref)):
            return Gntst.GNTST_general_error, None
        new_flags = entry.flags | Gtf.GTF_reading | (Gtf.GTF_writing if writable else 0)
        if cas_flags(hv.memory, maddr, entry.flags, new_flags):
            break
        release_frame(hv.mm, frame, writable, _holder(table, ref))   # flags changed: re-read
    else:
        return Gntst.GNTST_general_error, None
    if act is None:
        act = table.active[ref] = ActiveEntry(mapper, frame)
    if writable:
        act.writers += 1
    else:
        act.readers += 1
    return Gntst.GNTST_okay, act


def unpin_grant(hv: Hypervisor, table: GrantTable, ref: int, writable: bool) -> None:
    """Drop one pin taken by pin_grant; clear GTF_writing / GTF_reading when the last pin
    of that kind goes (not in a dead table: its frames are gone)."""
    act = table.active[ref]
    if writable:
        act.writers -= 1
    else:
        act.readers -= 1
    clear = 0
    if not act.writers:
        clear |= Gtf.GTF_writing
    if not act.pinned:
        clear |= Gtf.GTF_reading
        del table.active[ref]
    if clear and not table.dead:
        _clear_flags(hv, table.entry_maddr(ref), clear)
    release_frame(hv.mm, act.frame, writable, _holder(table, ref))


def _clear_flags(hv: Hypervisor, maddr: int, bits: int) -> None:
    # Only the hypervisor writes these bits, so a CAS against the current value suffices.
    flags = read_entry(hv.memory, maddr).flags
    cas_flags(hv.memory, maddr, flags, flags & ~bits)
