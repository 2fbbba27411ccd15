"""multicall (13): a batch of hypercalls in one entry (xen.h, common/multicall.c).

multicall(entries, count) runs each `multicall_entry {op, result, args[6]}` in order
through dispatch.invoke, exactly as if the guest had made it with `hcall`, and writes
the call's a0 value into that entry's `result`.  A failing call does not stop the batch
(its -errno is its result).  The call itself returns 0, or -EFAULT when an entry cannot
be read or a result cannot be written back, and -EINVAL for a count over
MAX_MULTICALL_ENTRIES.

Each entry is copied out of the guest once, just before it runs: an earlier call of the
batch may legitimately change memory that a later entry reads (its arguments), as in Xen.

Refused inside a batch, with result -EINVAL: `iret` (it would rewrite the very frame
the batch runs in) and `multicall` itself (Xen refuses re-entry) -- the XSA-213 class.

Continuations.  The rest of the batch is left for later, the vCPU's registers rewound so
that it re-executes its `hcall` as multicall(&entries[i], count - i) when it next runs
(common.create_continuation), in three cases:

- a call stopped the vCPU (SCHEDOP_block/poll/yield, VCPUOP_down, its domain paused):
  the batch continues at the next entry, i + 1;
- the caller's time is up (hv.hypercall_preempt_check, asked between entries): it
  continues at the next entry not yet run;
- a call was itself preempted (a long mmu_update, say): the call's continuation (op and
  arguments) is written over its entry in guest memory and the batch continues at that
  entry, as Xen does.  `result` of that entry is written when the call completes; the
  guest must rely on `result` only, never on op/args after the call.

If the domain can no longer run, the rest is dropped (nobody is left to see it).  A
resumed multicall is an ordinary one: its entries are read and checked as on first use.
"""

from __future__ import annotations

from paravisor.abi import MULTICALL_ENTRY, Hypercall
from paravisor.abi.errno import Errno
from paravisor.domain.guest_access import GuestMemoryError
from paravisor.hypercalls.common import (
    KEEP,
    MAX_ARRAY_BYTES,
    Batch,
    HypercallError,
    create_continuation,
    write_field,
    write_struct,
)
from paravisor.isa.table import WORD_MASK

MAX_MULTICALL_ENTRIES = MAX_ARRAY_BYTES // MULTICALL_ENTRY.size
REFUSED_IN_BATCH = frozenset({Hypercall.iret, Hypercall.multicall})


def do_multicall(hv, vcpu, entries: int, count: int, *_) -> object:
    if count > MAX_MULTICALL_ENTRIES:
        raise HypercallError(Errno.EINVAL, "multicall batch too large")
    batch = Batch.array(hv, vcpu, MULTICALL_ENTRY, entries, count)
    for index, entry in enumerate(batch):
        entry_va = entries + index * MULTICALL_ENTRY.size   # past 4 GiB: -EFAULT, no wrap
        result, continuation = _run_entry(hv, vcpu, entry)
        try:
            if continuation is not None:
                _write_continuation(hv, vcpu, entry_va, entry, continuation)
                return _continue_later(hv, vcpu, entries, index, count)
            write_field(hv, vcpu, MULTICALL_ENTRY, entry_va, "result", result & WORD_MASK)
        except GuestMemoryError:
            return -Errno.EFAULT
        if _stopped(hv, vcpu):
            return _continue_later(hv, vcpu, entries, index + 1, count)
    if batch.fault:
        return -Errno.EFAULT
    if batch.preempted:
        return _continue_later(hv, vcpu, entries, batch.taken, count)
    return 0


def _run_entry(hv, vcpu, entry: dict) -> tuple[int, tuple[int, tuple[int, ...]] | None]:
    """One call: its a0 value (a call answering KEEP leaves `result` as 0), and its
    continuation (op, args) if it was preempted."""
    from paravisor.hypercalls import dispatch  # dispatch imports this module
    op = entry["op"]
    if op in REFUSED_IN_BATCH:
        return -Errno.EINVAL, None
    vcpu.in_multicall, vcpu.mc_continuation = True, None
    try:
        result = dispatch.invoke(hv, vcpu, op, tuple(entry["args"]))
    finally:
        vcpu.in_multicall = False
    continuation, vcpu.mc_continuation = vcpu.mc_continuation, None
    return (0 if result is KEEP else int(result)), continuation


def _write_continuation(hv, vcpu, entry_va: int, entry: dict,
                        continuation: tuple[int, tuple[int, ...]]) -> None:
    """Write a preempted call's continuation over its entry (`result` left alone)."""
    op, args = continuation
    new_args = list(args) + list(entry["args"][len(args):])
    write_struct(hv, vcpu, MULTICALL_ENTRY, entry_va, op=op, result=entry["result"],
                 args=new_args)


def _stopped(hv, vcpu) -> bool:
    """Did the last call stop the vCPU (blocked, down, yielded, domain not running)?"""
    return not vcpu.runnable or hv.yielded


def _continue_later(hv, vcpu, entries: int, done: int, count: int) -> object:
    if done >= count or not vcpu.domain.can_run:
        return 0
    return create_continuation(vcpu, Hypercall.multicall,
                               entries + done * MULTICALL_ENTRY.size, count - done)
