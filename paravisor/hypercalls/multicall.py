"""multicall (13): a batch of hypercalls in one entry (xen.h, common/multicall.c).

multicall(entries, count) runs each `multicall_entry {op, result, args[6]}` in order
through dispatch.invoke, exactly as if the guest had made it with `hcall`, and writes
the call's a0 value into that entry's `result`.  A failing call does not stop the batch
(its -errno is its result).  The call itself returns 0, or -EFAULT when the array cannot
be read or a result cannot be written back, and -EINVAL for a count too large to copy.

Each entry is copied out of the guest once, just before it runs: an earlier call of the
batch may legitimately change memory that a later entry reads (its arguments), as in Xen.

Refused inside a batch, with result -EINVAL: `iret` (it would rewrite the very frame
the batch runs in) and `multicall` itself (Xen refuses re-entry) -- the XSA-213 class.

Stopping early.  A call may stop the vCPU: SCHEDOP_block/poll/yield, VCPUOP_down,
its domain shutting down or being paused.  Xen notices such a call by the
preemption check after it and turns the rest of the batch into a continuation; so do
we.  If the domain can no longer run, the rest is dropped (nobody is left to see it).
Otherwise the vCPU's registers are rewound so that, when it next runs, it re-executes
its `hcall` as multicall(&entries[i + 1], count - i - 1): t0, a0, a1 and pc are set and
a0 is not written (KEEP).  This relies on the vCPU having entered through `hcall`, pc
pointing after it, which is how every guest hypercall arrives.
"""

from __future__ import annotations

from paravisor.guest_access import GuestMemoryError
from paravisor.hypercalls.abi import MULTICALL_ENTRY, Hypercall
from paravisor.hypercalls.common import KEEP, HypercallError, read_array, write_field
from paravisor.hypercalls.errno import Errno
from paravisor.isa.table import HYPERCALL_ARG_REGS, HYPERCALL_NR_REG, WORD_MASK

MAX_MULTICALL_ENTRIES = (1 << 20) // MULTICALL_ENTRY.size   # what read_array copies at once
REFUSED_IN_BATCH = frozenset({Hypercall.iret, Hypercall.multicall})
HCALL_SIZE = 4                                            # bytes of the `hcall` instruction


def do_multicall(hv, vcpu, entries: int, count: int, *_) -> object:
    if count > MAX_MULTICALL_ENTRIES:
        raise HypercallError(Errno.EINVAL, "multicall batch too large")
    for i in range(count):
        entry_va = entries + i * MULTICALL_ENTRY.size   # past 4 GiB: -EFAULT, no wrap
        entry = read_array(hv, vcpu, MULTICALL_ENTRY, entry_va, 1)[0]
        result = _run_entry(hv, vcpu, entry)
        try:
            write_field(hv, vcpu, MULTICALL_ENTRY, entry_va, "result", result & WORD_MASK)
        except GuestMemoryError:
            return -Errno.EFAULT
        if _stopped(hv, vcpu):
            return _continue_later(hv, vcpu, entries, i + 1, count)
    return 0


def _run_entry(hv, vcpu, entry: dict) -> int:
    """One call's a0 value (a call answering KEEP leaves `result` as 0)."""
    from paravisor.hypercalls import dispatch  # dispatch imports this module
    op = entry["op"]
    if op in REFUSED_IN_BATCH:
        return -Errno.EINVAL
    result = dispatch.invoke(hv, vcpu, op, tuple(entry["args"]))
    return 0 if result is KEEP else int(result)


def _stopped(hv, vcpu) -> bool:
    """Did the last call stop the vCPU (blocked, down, yielded, domain not running)?"""
    return not vcpu.runnable or hv.yielded


def _continue_later(hv, vcpu, entries: int, done: int, count: int) -> object:
    if done >= count or not vcpu.domain.can_run:
        return 0
    regs = vcpu.cpu.regs
    regs[HYPERCALL_NR_REG] = Hypercall.multicall
    regs[HYPERCALL_ARG_REGS[0]] = entries + done * MULTICALL_ENTRY.size   # was readable
    regs[HYPERCALL_ARG_REGS[1]] = count - done
    vcpu.cpu.pc = (vcpu.cpu.pc - HCALL_SIZE) & WORD_MASK
    return KEEP
