"""The PV MMU hypercalls: mmu_update (1), update_va_mapping (14) and mmuext_op (26).

Thin by design: the request array is copied out of the guest once (so a batch cannot
change under our feet while it is applied), the checked work is paravisor.mm.pv_mmu's,
and the progress count goes back to the guest.

`success_count` (Xen's `pdone`): when the pointer is non-zero, the number of requests
that took effect is written there whether the batch succeeded or not, as in Xen.  The
pointer is probed for writing *before* anything is applied, so a bad pointer fails the
call with -EFAULT and changes nothing.  (If the batch itself unmaps that page, the late
write is dropped, as Xen drops a failed copy_to_guest of pdone.)

Batches run to completion: there are no continuations.  A count so large that the array
could not be copied at once (more than common.read_array's 1 MiB) is -EINVAL, and so is
a count with Xen's MMU_UPDATE_PREEMPTED bit (bit 31) set, which only Xen itself writes.
"""

from __future__ import annotations

from paravisor.guest_access import GuestMemoryError
from paravisor.hypercalls.abi import MMU_UPDATE, MMUEXT_OP
from paravisor.hypercalls.common import copy_from, copy_to, read_array
from paravisor.mm import pv_mmu

_U32 = 4


def _probe_writable(hv, vcpu, va: int) -> None:
    """Raise GuestMemoryError (-> -EFAULT) unless the guest could store a u32 at `va`.
    Writes back the bytes already there, so nothing changes."""
    current = copy_from(hv, vcpu, va, _U32)
    copy_to(hv, vcpu, va, current)


def _report_done(hv, vcpu, success_count: int, done: int) -> None:
    if not success_count:
        return
    try:
        copy_to(hv, vcpu, success_count, done.to_bytes(_U32, "little"))
    except GuestMemoryError:
        pass   # the batch unmapped it; Xen ignores this failure too


def do_mmu_update(hv, vcpu, reqs: int, count: int, success_count: int, foreigndom: int,
                  *_) -> int:
    """mmu_update(reqs, count, success_count, foreigndom): apply `count` (ptr, val)
    requests in order; 0, or the -errno of the first refused one."""
    requests = read_array(hv, vcpu, MMU_UPDATE, reqs, count)
    if success_count:
        _probe_writable(hv, vcpu, success_count)
    rc, done = pv_mmu.mmu_update(hv.mm, vcpu.domain.mem,
                                 [(r["ptr"], r["val"]) for r in requests], foreigndom)
    _report_done(hv, vcpu, success_count, done)
    return rc


def do_update_va_mapping(hv, vcpu, va: int, pte: int, flags: int, *_) -> int:
    """update_va_mapping(va, pte, flags): the 32-bit PTE travels in one register."""
    return pv_mmu.update_va_mapping(hv.mm, vcpu.domain.mem, vcpu.cpu, va, pte, flags)


def do_mmuext_op(hv, vcpu, ops: int, count: int, success_count: int, foreigndom: int,
                 *_) -> int:
    """mmuext_op(ops, count, success_count, foreigndom): pins, unpins, base pointers and
    flushes, in order; 0, or the -errno of the first refused one."""
    requests = read_array(hv, vcpu, MMUEXT_OP, ops, count)
    if success_count:
        _probe_writable(hv, vcpu, success_count)
    rc, done = pv_mmu.mmuext_op(hv.mm, vcpu.domain.mem, vcpu.cpu,
                                [(r["cmd"], r["arg1"], r["arg2"]) for r in requests],
                                foreigndom)
    _report_done(hv, vcpu, success_count, done)
    return rc
