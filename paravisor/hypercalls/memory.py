"""memory_op (12): a domain's memory reservation (memory.h).

XENMEM_increase_reservation, populate_physmap and decrease_reservation take a
`xen_memory_reservation {extent_start, nr_extents, extent_order, mem_flags, domid}` and
return how many extents were done (Xen's nr_done); the caller learns which extent
stopped the batch from that number.  Extents are single frames: only extent_order 0 is
supported, and a larger order does nothing and returns 0 -- what Xen does for an order
above the domain's max_order.  `mem_flags` (address width, NUMA node) is accepted and
ignored: PV32 has one node and no address-width limits below 4 GiB.

- increase_reservation: up to nr_extents new frames; their mfns are written to
  extent_start[i] unless extent_start is NULL.
- populate_physmap: extent_start[i] holds a guest pfn on entry; a new frame is
  allocated for it, the m2p entry of the frame is set to that pfn (Xen's
  set_gpfn_from_mfn) and extent_start[i] is overwritten with the mfn.
- decrease_reservation: extent_start[i] holds an mfn (a PV "gmfn") to give back.  A
  frame that is still mapped, pinned or a base pointer is refused (mm.reservation).

The p2m: paravisor.mm keeps each domain's frame list (MemoryDomain.p2m, filled in
allocation order) for its own bookkeeping; the guest's own p2m -- the mfn_list the
builder handed over in start_info -- is the guest's to maintain, as in Xen: a balloon
driver writes the mfns it got (or INVALID_P2M_ENTRY for frames it gave back) into it.

Differences from Xen, all to fail loudly rather than silently: where Xen answers a
refused reservation call with 0 extents done, we return -EFAULT for an unreadable
argument or an extent array the guest cannot access in full (checked before anything is
allocated or freed, so nothing changes), -EPERM for a domU naming another domain and
-ESRCH for a domain that does not exist.  Too many extents for one call (more than
MAX_EXTENTS) returns 0, as Xen does when nr_extents cannot be encoded in a continuation.

Continuations, as in Xen.  Every extent is charged to the caller; between extents, a
call whose caller's time is up stops and the vCPU re-executes its hypercall as
memory_op(cmd | (next extent << MEMOP_EXTENT_SHIFT), arg).  The resumed call reads
`arg` again and checks it like a fresh call (domain, order, the rest of the array, which
it copies and proves accessible before changing anything), then does extents
next..nr_extents-1 and returns the total done, counting from extent 0, so the guest sees
what an uninterrupted call returns.  A start extent at or past nr_extents cannot come
from a continuation: -EINVAL.

XENMEM_current_reservation / maximum_reservation: `arg` points at a domid_t; the result
is the page count.  XENMEM_maximum_ram_page: the highest machine frame number.  Every
other command, or one of these with a start extent in `cmd`, is -ENOSYS.
"""

from __future__ import annotations

from paravisor.abi import (
    MEMOP_CMD_MASK,
    MEMOP_EXTENT_SHIFT,
    XEN_MEMORY_RESERVATION,
    Hypercall,
    XENMEM_current_reservation,
    XENMEM_decrease_reservation,
    XENMEM_increase_reservation,
    XENMEM_maximum_ram_page,
    XENMEM_maximum_reservation,
    XENMEM_populate_physmap,
)
from paravisor.abi.errno import Errno
from paravisor.abi.types import U16, U32
from paravisor.hypercalls.common import (
    Batch,
    HypercallError,
    copy_from,
    copy_to,
    create_continuation,
    read_struct,
    target_domain,
)
from paravisor.mm import reservation

MAX_EXTENTS = 1 << 18            # one call's extent array: at most 1 MiB of u32s (and the
                                 # next extent always fits cmd's bits above the shift)
SUPPORTED_EXTENT_ORDER = 0       # extents are single 4 KiB frames


def do_memory_op(hv, vcpu, cmd: int, arg: int, *_) -> object:
    op, start = cmd & MEMOP_CMD_MASK, cmd >> MEMOP_EXTENT_SHIFT
    if op in _RESERVATION_OPS:
        return _reservation_op(hv, vcpu, op, start, arg)
    if start:
        return -Errno.ENOSYS     # only the reservation ops have continuations
    if op in (XENMEM_current_reservation, XENMEM_maximum_reservation):
        domid = U16.decode(copy_from(hv, vcpu, arg, U16.size))
        dom = target_domain(hv, vcpu, domid)
        if op == XENMEM_current_reservation:
            return reservation.current_reservation(dom.mem)
        return reservation.maximum_reservation(dom.mem)
    if op == XENMEM_maximum_ram_page:
        return hv.mm.nframes - 1
    return -Errno.ENOSYS


def _reservation_op(hv, vcpu, op: int, start: int, arg: int) -> object:
    """Parse and check the reservation, then run extents start..nr-1 of the op; returns
    the extents done counting from 0, or a continuation."""
    args = read_struct(hv, vcpu, XEN_MEMORY_RESERVATION, arg)
    dom = target_domain(hv, vcpu, args["domid"])
    nr, array = args["nr_extents"], args["extent_start"]
    if nr > MAX_EXTENTS or args["extent_order"] != SUPPORTED_EXTENT_ORDER:
        return start
    if start >= nr:
        if start:
            raise HypercallError(Errno.EINVAL, "start extent past the end")
        return 0
    if array == 0 and op != XENMEM_increase_reservation:
        return start      # only increase_reservation may leave out the array
    # Copy the rest of the array once and prove it writable before anything changes: a
    # fault after frames were allocated or freed would leave the guest unaware of them.
    count, first = nr - start, array + start * U32.size if array else 0
    raw = copy_from(hv, vcpu, first, count * U32.size) if array else bytes(count * U32.size)
    if array and op != XENMEM_decrease_reservation:
        copy_to(hv, vcpu, first, raw)
    entries = [U32.decode(raw[i:i + U32.size]) for i in range(0, len(raw), U32.size)]
    extents = Batch(hv, vcpu, count, entries.__getitem__)
    done = start + _RESERVATION_OPS[op](hv, vcpu, dom, extents, first, entries)
    if extents.preempted:
        return create_continuation(vcpu, Hypercall.memory_op,
                                   op | (done << MEMOP_EXTENT_SHIFT), arg)
    return done


def _increase(hv, vcpu, dom, extents: Batch, first: int, entries: list[int]) -> int:
    mfns = reservation.alloc_extents(hv.mm, dom.mem, extents)
    if first and mfns:
        copy_to(hv, vcpu, first, _u32s(mfns))
    return len(mfns)


def _populate(hv, vcpu, dom, extents: Batch, first: int, entries: list[int]) -> int:
    mfns = reservation.populate_physmap(hv.mm, dom.mem, extents)
    if mfns:
        copy_to(hv, vcpu, first, _u32s(mfns))
    return len(mfns)


def _decrease(hv, vcpu, dom, extents: Batch, first: int, entries: list[int]) -> int:
    return reservation.decrease_reservation(hv.mm, dom.mem, extents)


def _u32s(values: list[int]) -> bytes:
    return b"".join(U32.encode(v) for v in values)


_RESERVATION_OPS = {
    XENMEM_increase_reservation: _increase,
    XENMEM_populate_physmap: _populate,
    XENMEM_decrease_reservation: _decrease,
}
