"""The PV MMU hypercalls: mmu_update (1), update_va_mapping (14) and mmuext_op (26).

Thin by design: each request is copied out of the guest once, just before it is applied
(an earlier request may remap the array a later one lives in, as in Xen), the checked
work is paravisor.mm.pv_mmu's, and the progress count goes back to the guest.  A request
that cannot be read stops the batch with -EFAULT, the ones before it done.

`success_count` (Xen's `pdone`): when the pointer is non-zero, the number of requests
that took effect is written there whether the batch succeeded or not, as in Xen.  The
pointer is probed for writing *before* anything is applied, so a bad pointer fails the
call with -EFAULT and changes nothing.  (If the batch itself unmaps that page, the late
write is dropped, as Xen drops a failed copy_to_guest of pdone.)

Continuations.  Every request is charged to the caller and, between requests, a batch
whose caller's time is up stops and becomes a continuation, as in Xen: the vCPU
re-executes its hypercall with `reqs` advanced past the requests done and `count` the
number left, OR'ed with MMU_UPDATE_PREEMPTED (bit 31); the requests done so far are
already added into *success_count.  A call whose count carries that bit reads
*success_count back as its starting value and otherwise runs exactly as a fresh call:
every request, the foreign domain and the pointers are checked again, so a guest that
sets the bit itself gains nothing but a wrong count of its own.  The bit with nothing
left to do, or a count whose array would exceed 1 MiB, is -EINVAL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from paravisor.abi import (
    MMU_UPDATE,
    MMU_UPDATE_PREEMPTED,
    MMUEXT_OP,
    Hypercall,
    Struct,
)
from paravisor.abi.errno import Errno
from paravisor.domain.guest_access import GuestMemoryError
from paravisor.hypercalls.common import (
    MAX_ARRAY_BYTES,
    Batch,
    HypercallError,
    copy_from,
    copy_to,
    create_continuation,
)
from paravisor.isa.table import WORD_MASK
from paravisor.mm import pv_mmu

_U32 = 4

Apply = Callable[[Iterable[dict]], tuple[int, int]]   # requests -> pv_mmu's (rc, done)


def _probe_writable(hv, vcpu, va: int) -> int:
    """The u32 at `va`, after proving the guest could store one there (GuestMemoryError
    -> -EFAULT otherwise).  Writes back the bytes already there, so nothing changes."""
    current = copy_from(hv, vcpu, va, _U32)
    copy_to(hv, vcpu, va, current)
    return int.from_bytes(current, "little")


def _report_done(hv, vcpu, success_count: int, done: int) -> None:
    if not success_count:
        return
    try:
        copy_to(hv, vcpu, success_count, (done & WORD_MASK).to_bytes(_U32, "little"))
    except GuestMemoryError:
        pass   # the batch unmapped it; Xen ignores this failure too


def _run_batch(hv, vcpu, op: Hypercall, struct: Struct, reqs: int, count: int,
               success_count: int, foreigndom: int, apply: Apply) -> object:
    """The part mmu_update and mmuext_op share: count and continuation checks, the
    success count, the preemptible batch and its continuation."""
    resumed = bool(count & MMU_UPDATE_PREEMPTED)
    count &= ~MMU_UPDATE_PREEMPTED
    if count * struct.size > MAX_ARRAY_BYTES or (resumed and count == 0):
        raise HypercallError(Errno.EINVAL, "bad request count")
    reported = _probe_writable(hv, vcpu, success_count) if success_count else 0
    done_before = reported if resumed else 0     # what earlier parts of the call added
    batch = Batch.array(hv, vcpu, struct, reqs, count)
    rc, done = apply(batch)
    if rc == 0 and batch.fault:
        rc = -Errno.EFAULT
    _report_done(hv, vcpu, success_count, done_before + done)
    if rc == 0 and batch.preempted:
        return create_continuation(vcpu, op, reqs + done * struct.size,
                                   (count - done) | MMU_UPDATE_PREEMPTED, success_count,
                                   foreigndom)
    return rc


def do_mmu_update(hv, vcpu, reqs: int, count: int, success_count: int, foreigndom: int,
                  *_) -> object:
    """mmu_update(reqs, count, success_count, foreigndom): apply `count` (ptr, val)
    requests in order; 0, or the -errno of the first refused one (or a continuation)."""
    def apply(batch: Iterable[dict]) -> tuple[int, int]:
        return pv_mmu.mmu_update(hv.mm, vcpu.domain.mem,
                                 ((r["ptr"], r["val"]) for r in batch), foreigndom)
    return _run_batch(hv, vcpu, Hypercall.mmu_update, MMU_UPDATE, reqs, count,
                      success_count, foreigndom, apply)


def do_update_va_mapping(hv, vcpu, va: int, pte: int, flags: int, *_) -> int:
    """update_va_mapping(va, pte, flags): the 32-bit PTE travels in one register."""
    return pv_mmu.update_va_mapping(hv.mm, vcpu.domain.mem, vcpu.cpu, va, pte, flags)


def do_mmuext_op(hv, vcpu, ops: int, count: int, success_count: int, foreigndom: int,
                 *_) -> object:
    """mmuext_op(ops, count, success_count, foreigndom): pins, unpins, base pointers and
    flushes, in order; 0, or the -errno of the first refused one (or a continuation)."""
    def apply(batch: Iterable[dict]) -> tuple[int, int]:
        return pv_mmu.mmuext_op(hv.mm, vcpu.domain.mem, vcpu.cpu,
                                ((r["cmd"], r["arg1"], r["arg2"]) for r in batch),
                                foreigndom)
    return _run_batch(hv, vcpu, Hypercall.mmuext_op, MMUEXT_OP, ops, count, success_count,
                      foreigndom, apply)
