"""What every hypercall family shares: errors, guest-memory access, privilege checks,
the cost of copies, preemptible batches and continuations.

A handler has the signature `do_<name>(hv, vcpu, a0, a1, a2, a3, a4, a5) -> int` (the six
argument registers; each handler names the ones it uses and swallows the rest with
`*_`).  It returns the value for a0 (0 or a positive result, or -errno), or `KEEP` when
it must not touch a0 (iret restores the registers itself; a continuation reuses a0 as an
argument).  Raising `HypercallError` returns -errno; a guest pointer the guest itself
could not access raises GuestMemoryError, which the dispatcher turns into -EFAULT.

Handlers copy guest memory through `copy_from`/`copy_to` (or the struct helpers built on
them), which charge the bytes to the caller (paravisor.hypercalls.cost).  A handler that
loops over entries iterates a `Batch`, which charges each entry and stops early
when the caller's time is up; the handler then returns `create_continuation(...)` with
arguments describing the rest (docs/abi.md, "What a hypercall costs").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from paravisor.abi import DOMID_SELF, Struct
from paravisor.abi.errno import Errno
from paravisor.domain.guest_access import GuestMemoryError, copy_from_guest, copy_to_guest
from paravisor.hypercalls.cost import BATCH_ENTRY_NS, copy_ns
from paravisor.isa.table import HYPERCALL_ARG_REGS, HYPERCALL_NR_REG, WORD_MASK

if TYPE_CHECKING:
    from paravisor.domain import Domain, Vcpu
    from paravisor.hypervisor import Hypervisor

KEEP = object()   # a handler's "do not write a0" result
HCALL_SIZE = 4    # bytes of the `hcall` instruction: a continuation rewinds pc by this
MAX_ARRAY_BYTES = 1 << 20     # the most one call's argument array may span
T = TypeVar("T")

__all__ = ["KEEP", "HypercallError", "GuestMemoryError", "copy_from", "copy_to",
           "read_struct", "write_struct", "write_field", "read_array", "Batch",
           "create_continuation", "require_privileged", "target_domain"]


class HypercallError(Exception):
    """Fail the hypercall with -errno."""

    def __init__(self, errno: Errno, why: str = "") -> None:
        super().__init__(why or errno.name)
        self.errno = errno


# --- guest memory ---------------------------------------------------------------------

def copy_from(hv: Hypervisor, vcpu: Vcpu, va: int, length: int) -> bytes:
    """copy_from_guest for `vcpu`'s hypercall, the bytes charged to it."""
    data = copy_from_guest(hv.memory, vcpu.cpu, va, length)
    hv.charge(vcpu, copy_ns(length))
    return data


def copy_to(hv: Hypervisor, vcpu: Vcpu, va: int, data: bytes) -> None:
    """copy_to_guest for `vcpu`'s hypercall, the bytes charged to it."""
    copy_to_guest(hv.memory, vcpu.cpu, va, data)
    hv.charge(vcpu, copy_ns(len(data)))


def read_struct(hv: Hypervisor, vcpu: Vcpu, struct: Struct, va: int) -> dict[str, Any]:
    """Copy a whole argument structure out of the guest, once (no double fetch)."""
    return struct.unpack(copy_from(hv, vcpu, va, struct.size))


def write_struct(hv: Hypervisor, vcpu: Vcpu, struct: Struct, va: int, **values: Any) -> None:
    copy_to(hv, vcpu, va, struct.pack(**values))


def write_field(hv: Hypervisor, vcpu: Vcpu, struct: Struct, va: int, path: str,
                value: Any) -> None:
    """Write one OUT field of a guest structure (the rest of it is left alone)."""
    struct.write(lambda addr, data: copy_to(hv, vcpu, addr, data), va, path, value)


def read_array(hv: Hypervisor, vcpu: Vcpu, struct: Struct, va: int,
               count: int) -> list[dict[str, Any]]:
    """`count` consecutive structures, copied out in one go."""
    if count < 0 or count * struct.size > MAX_ARRAY_BYTES:
        raise HypercallError(Errno.EINVAL, "argument array too large")
    raw = copy_from(hv, vcpu, va, count * struct.size)
    return [struct.unpack(raw[i * struct.size:(i + 1) * struct.size]) for i in range(count)]


# --- long hypercalls -------------------------------------------------------------------

class Batch(Generic[T]):
    """The work items of one batch hypercall, handed out one at a time: item i is
    `fetch(i)` for i in 0..count-1, fetched just before it is used (so a guest array is
    copied an entry at a time, as Xen does: an earlier entry may change a later one).

    Each item is charged BATCH_ENTRY_NS to `vcpu`.  Before every item but the first, it
    asks hv.hypercall_preempt_check and stops if the caller's time is up: `preempted` is
    then True and `taken` items were handed out -- all of them done, since the consumer
    asked for the next one.  The first item always runs, so every call makes progress.
    A fetch that faults (GuestMemoryError) also stops the loop, with `fault` set.
    """

    def __init__(self, hv: Hypervisor, vcpu: Vcpu, count: int,
                 fetch: Callable[[int], T]) -> None:
        self.hv, self.vcpu, self.count, self.fetch = hv, vcpu, count, fetch
        self.taken = 0
        self.preempted = False
        self.fault = False

    @classmethod
    def array(cls, hv: Hypervisor, vcpu: Vcpu, struct: Struct, va: int,
              count: int) -> Batch[dict[str, Any]]:
        """The `count` structures of a guest array at `va`, each copied when its turn comes."""
        return cls(hv, vcpu, count, lambda i: read_struct(hv, vcpu, struct, va + i * struct.size))

    def __iter__(self) -> Iterator[T]:
        for index in range(self.count):
            if index and self.hv.hypercall_preempt_check(self.vcpu):
                self.preempted = True
                return
            try:
                item = self.fetch(index)
            except GuestMemoryError:
                self.fault = True
                return
            self.hv.charge(self.vcpu, BATCH_ENTRY_NS)
            self.taken = index + 1
            yield item


def create_continuation(vcpu: Vcpu, op: int, *args: int) -> object:
    """Make `vcpu` re-execute hypercall `op` with `args` (a0, a1, ...) when it next runs,
    to do the rest of a preempted call (Xen's hypercall_create_continuation); returns KEEP.

    At the top level the registers are rewound: t0 = op, a0.. = args, pc back onto the
    `hcall` (every guest hypercall arrives through `hcall`, pc just after it).  Inside a
    multicall the call's (op, args) are left in vcpu.mc_continuation instead; the batch
    writes them into the guest's entry and continues from that entry.  The resumed call
    checks its arguments as a fresh call does: nothing in a continuation is trusted."""
    args = tuple(a & WORD_MASK for a in args)
    if vcpu.in_multicall:
        vcpu.mc_continuation = (op, args)
        return KEEP
    regs = vcpu.cpu.regs
    regs[HYPERCALL_NR_REG] = op
    for reg, value in zip(HYPERCALL_ARG_REGS, args, strict=False):
        regs[reg] = value
    vcpu.cpu.pc = (vcpu.cpu.pc - HCALL_SIZE) & WORD_MASK
    return KEEP


def require_privileged(vcpu: Vcpu) -> None:
    """dom0-only operations: a domU gets -EPERM."""
    if not vcpu.domain.privileged:
        raise HypercallError(Errno.EPERM, "only dom0 may do this")


def target_domain(hv: Hypervisor, vcpu: Vcpu, domid: int) -> Domain:
    """The domain an operation names: DOMID_SELF or our own id always; another domain
    only for dom0 (else -EPERM); a domain that does not exist: -ESRCH."""
    caller = vcpu.domain
    if domid in (DOMID_SELF, caller.domid):
        return caller
    require_privileged(vcpu)
    dom = hv.lookup(domid)
    if dom is None:
        raise HypercallError(Errno.ESRCH, f"no domain {domid}")
    return dom
