"""A domain's memory reservation (Xen's XENMEM_* reservation ops and XEN_DOMCTL_max_mem) and
the teardown of a destroyed domain's memory.

Extents are single frames (extent_order 0).  For a PV domain a "gmfn" is an mfn, so
decrease_reservation takes mfns.  A frame leaves a domain only when nothing but its
allocation reference holds it: a frame that is still mapped, pinned, a base pointer or
otherwise in use is refused with -EBUSY (stricter than Xen, which unpins it and lets it live
on until the last mapping goes; a guest must unpin and unmap first).
"""

from __future__ import annotations

from collections.abc import Iterable

from paravisor.abi.errno import Errno
from paravisor.mm.frametable import (
    MemoryDomain,
    MemoryManager,
    alloc_domheap_page,
    put_page,
    set_gpfn_from_mfn,
)
from paravisor.mm.invariants import debug_check
from paravisor.mm.pagetable import put_page_and_type
from paravisor.mm.pv_mmu import drop_baseptr

MAX_PAGES_LIMIT = 0xFFFF_FFFF


def increase_reservation(mm: MemoryManager, dom: MemoryDomain, nr_extents: int) -> list[int]:
    """Allocate up to `nr_extents` frames to `dom`; returns the new mfns in order.  Fewer
    (Xen's nr_done) when the domain reaches max_pages or the host runs out."""
    return alloc_extents(mm, dom, range(max(nr_extents, 0)))


def alloc_extents(mm: MemoryManager, dom: MemoryDomain, extents: Iterable[object]) -> list[int]:
    """increase_reservation with one frame per item of `extents`, which may come lazily
    (the hypercall layer stops handing them out when the caller's time is up)."""
    mfns: list[int] = []
    for _ in extents:
        mfn = alloc_domheap_page(mm, dom)
        if mfn is None:
            break
        mfns.append(mfn)
    debug_check(mm)
    return mfns


def populate_physmap(mm: MemoryManager, dom: MemoryDomain, gpfns: Iterable[int]) -> list[int]:
    """XENMEM_populate_physmap: one new frame for each guest pfn of `gpfns` (which may
    come lazily, as alloc_extents' extents), its m2p entry set to that pfn; returns the
    new mfns in order (fewer, as for increase_reservation, when a frame is refused)."""
    mfns: list[int] = []
    for gpfn in gpfns:
        mfn = alloc_domheap_page(mm, dom)
        if mfn is None:
            break
        set_gpfn_from_mfn(mm, mfn, gpfn)
        mfns.append(mfn)
    debug_check(mm)
    return mfns


def guest_remove_page(mm: MemoryManager, dom: MemoryDomain, mfn: int) -> int:
    """Give frame `mfn` back to the host: 0, -EINVAL if `dom` does not hold it, -EBUSY if
    anything but the allocation reference holds it.  The frame is zeroed and freed."""
    if not mm.valid_mfn(mfn):
        return -Errno.EINVAL
    page = mm.frames[mfn]
    if page.owner != dom.domid or not page.allocated:
        return -Errno.EINVAL
    if page.count != 1 or page.type_count or page.pinned:
        return -Errno.EBUSY
    page.allocated = False
    put_page(mm, mfn)
    return 0


def decrease_reservation(mm: MemoryManager, dom: MemoryDomain, mfns: Iterable[int]) -> int:
    """Remove frames in order, stopping at the first refusal; returns how many were removed
    (Xen's nr_done; the caller learns which one failed from it).  `mfns` may come lazily."""
    done = 0
    for mfn in mfns:
        if guest_remove_page(mm, dom, mfn):
            break
        done += 1
    debug_check(mm)
    return done


def current_reservation(dom: MemoryDomain) -> int:
    """XENMEM_current_reservation: frames the domain holds (tot_pages)."""
    return dom.tot_pages


def maximum_reservation(dom: MemoryDomain) -> int:
    """XENMEM_maximum_reservation: max_pages."""
    return dom.max_pages


def set_max_pages(dom: MemoryDomain, max_pages: int) -> int:
    """XEN_DOMCTL_max_mem, in pages.  As in Xen, the limit may go below tot_pages: nothing is
    taken away, but no further allocation succeeds until the domain is back under it."""
    if not 0 <= max_pages <= MAX_PAGES_LIMIT:
        return -Errno.EINVAL
    dom.max_pages = max_pages
    return 0


def relinquish(mm: MemoryManager, dom: MemoryDomain) -> None:
    """Tear down a destroyed domain's memory: drop its vCPUs' base pointers and its pins
    (which demotes all its tables), stop sharing hypervisor pages with it and drop every
    allocation reference.  Its frames end up free and zeroed; a frame someone else still
    references stays (owned, not allocated) until that reference goes, and the domain stays
    registered in mm.domains until its last frame is freed.  No further allocation succeeds."""
    dom.dying = True
    for vid in range(len(dom.vcpus)):
        drop_baseptr(mm, dom, vid)
    for mfn in sorted(dom.pages):
        page = mm.frames[mfn]
        if page.pinned:
            page.pinned = False
            put_page_and_type(mm, mfn)
    for mfn in sorted(mm.xen_pages):
        mm.frames[mfn].shared_with.pop(dom.domid, None)
    for mfn in sorted(dom.pages):
        page = mm.frames[mfn]
        if page.allocated:
            page.allocated = False
            put_page(mm, mfn)
    if not dom.pages:
        mm.domains.pop(dom.domid, None)
    debug_check(mm)
