"""GNTTABOP_copy: copy bytes between a granted frame and the caller's own frame (or two
granted frames) without mapping either.

Each side is a grant reference (GNTCOPY_source_gref / GNTCOPY_dest_gref: the entry must
name the caller; the destination needs a writable grant) or a gmfn of the caller itself
(domid DOMID_SELF or its own id; a destination gmfn must be writable: not a page table).
Offsets and length must stay inside one page.  Every frame is pinned (grants) or referenced
(gmfns) for exactly the duration of the copy, so nothing is freed or retyped under it; a
grant's GTF_reading/GTF_writing are set during the copy and cleared after, unless another
pin still needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paravisor.abi import DOMID_SELF
from paravisor.abi.consts import Gntst, GnttabMisc
from paravisor.grants.pins import pin_grant, unpin_grant
from paravisor.grants.table import GrantTable
from paravisor.isa.table import PAGE_SHIFT, PAGE_SIZE
from paravisor.mm.external import hold_frame, release_frame

if TYPE_CHECKING:
    from paravisor.domain import Domain
    from paravisor.hypervisor import Hypervisor


@dataclass(frozen=True)
class CopySide:
    """One side of a copy as the guest gave it: a grant reference or its own gmfn."""
    is_gref: bool
    ref_or_gmfn: int
    domid: int
    offset: int


@dataclass
class _Held:
    """What acquiring one side took, to be released after the copy."""
    frame: int
    writable: bool
    table: GrantTable | None = None
    ref: int = 0
    holder: str = ""


def gnttab_copy(hv: Hypervisor, caller: Domain, op: dict[str, Any]) -> int:
    """One gnttab_copy op (as unpacked from GNTTAB_COPY): its GNTST_* status."""
    flags, length = op["flags"], op["len"]
    source = _side(op["source"], bool(flags & GnttabMisc.GNTCOPY_source_gref))
    dest = _side(op["dest"], bool(flags & GnttabMisc.GNTCOPY_dest_gref))
    if flags & ~(GnttabMisc.GNTCOPY_source_gref | GnttabMisc.GNTCOPY_dest_gref):
        return Gntst.GNTST_bad_copy_arg
    if source.offset + length > PAGE_SIZE or dest.offset + length > PAGE_SIZE:
        return Gntst.GNTST_bad_copy_arg
    status, src = _acquire(hv, caller, source, writable=False)
    if status:
        return status
    status, dst = _acquire(hv, caller, dest, writable=True)
    if status:
        _release(hv, src)
        return status
    data = hv.memory.read((src.frame << PAGE_SHIFT) + source.offset, length)
    hv.memory.write((dst.frame << PAGE_SHIFT) + dest.offset, data)
    _release(hv, dst)
    _release(hv, src)
    return Gntst.GNTST_okay


def _side(ptr: dict[str, Any], is_gref: bool) -> CopySide:
    union = ptr["u"]
    return CopySide(is_gref, union["ref"] if is_gref else union["gmfn"], ptr["domid"],
                    ptr["offset"])


def _acquire(hv: Hypervisor, caller: Domain, side: CopySide,
             writable: bool) -> tuple[int, _Held | None]:
    if not side.is_gref:
        if side.domid not in (DOMID_SELF, caller.domid):
            return Gntst.GNTST_permission_denied, None
        holder = f"gnttab_copy d{caller.domid}"
        if not hold_frame(hv.mm, side.ref_or_gmfn, caller.domid, writable, holder):
            return Gntst.GNTST_bad_page, None
        return Gntst.GNTST_okay, _Held(side.ref_or_gmfn, writable, holder=holder)
    table = hv.grants.lookup(side.domid)
    if table is None:
        return Gntst.GNTST_bad_domain, None
    status, act = pin_grant(hv, table, side.ref_or_gmfn, caller.domid, writable)
    if status:
        return status, None
    return Gntst.GNTST_okay, _Held(act.frame, writable, table, side.ref_or_gmfn)


def _release(hv: Hypervisor, held: _Held) -> None:
    if held.table is None:
        release_frame(hv.mm, held.frame, held.writable, held.holder)
        return
    unpin_grant(hv, held.table, held.ref, held.writable)
    hv.grants.forget_if_unused(held.table)
