"""Each hypercall's signature: its arguments, the errnos it may return, whether it exists.

This is the ABI's declaration of every hypercall, the counterpart of the prototypes
in Xen's public headers and of the table in docs/abi.md section 5, which is generated
from it (with guest_os/include/hypercalls.h, by `python -m paravisor.abi.headers`).
The numbers are `Hypercall`'s; nothing here repeats one.

- `args`: the argument registers a0, a1, ... in order, each a name and the C type of
  the wrapper's parameter.  A 64-bit value takes two, low word first
  (`set_timer_op(timeout_lo, timeout_hi)`).  The handler in paravisor/hypercalls/ takes
  the same number of named parameters (tests/hypercalls checks it).
- `errnos`: every -errno the call itself can return in a0, besides 0 and its positive
  results.  Per-entry codes written into guest memory (GNTST_* in a grant op's
  `status`, a multicall entry's `result`) are not the call's own.
- `status`: IMPLEMENTED calls have a handler in the dispatch table
  (paravisor/hypercalls/dispatch.py); NOT_IMPLEMENTED ones have a fixed number and
  layout but no handler and return -ENOSYS.  Hypercalls declared nowhere here
  (set_gdt, the compat numbers, ...) get `undeclared(call)`: not implemented, six
  untyped words.

The calling convention every signature follows (docs/abi.md section 2, docs/isa.md
section 6): number in t0, arguments in a0..a5, result in a0; a0..a5 are clobbered
(a continued call rewrites its arguments, docs/abi.md section 5.9); t0 and every
other register are preserved, except by `iret`, which loads a saved context.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from paravisor.abi.consts import Hypercall
from paravisor.abi.errno import Errno
from paravisor.abi.structs import MMU_UPDATE, MMUEXT_OP, TRAP_INFO
from paravisor.abi.types import Struct
from paravisor.isa.table import HYPERCALL_ARG_REGS

# Registers `hcall` may change: the result in a0, and a1..a5 when a long call is
# continued (paravisor/hypercalls/common.py, create_continuation).
HYPERCALL_CLOBBERED_REGS = HYPERCALL_ARG_REGS


class Status(Enum):
    """Whether a hypercall has a handler (the value is the docs' status column)."""
    IMPLEMENTED = "implemented"
    NOT_IMPLEMENTED = "not implemented"


@dataclass(frozen=True)
class Arg:
    """One argument register: the parameter's name and its C type."""
    name: str
    c_type: str

    @property
    def c_param(self) -> str:
        """`const struct trap_info *traps`, `unsigned count`."""
        return self.c_type + ("" if self.c_type.endswith("*") else " ") + self.name


@dataclass(frozen=True)
class HypercallSignature:
    """One hypercall as the ABI declares it (see the module docstring)."""
    call: Hypercall
    args: tuple[Arg, ...]
    status: Status
    errnos: tuple[Errno, ...]
    note: str = ""               # a remark for the docs' table (Markdown)
    c_wrapper: bool = True       # False for iret, which is not a C call

    def __post_init__(self) -> None:
        if len(self.args) > len(HYPERCALL_ARG_REGS):
            raise ValueError(f"{self.call.name}: more arguments than registers")
        if len({a.name for a in self.args}) != len(self.args):
            raise ValueError(f"{self.call.name}: two arguments share a name")
        object.__setattr__(self, "errnos", tuple(sorted(set(self.errnos))))

    @property
    def arity(self) -> int:
        """How many argument registers the call reads."""
        return len(self.args)

    @property
    def implemented(self) -> bool:
        return self.status is Status.IMPLEMENTED

    @property
    def c_params(self) -> str:
        """The wrapper's parameter list (`void` for none)."""
        return ", ".join(a.c_param for a in self.args) or "void"


def _ptr(struct: Struct, const: bool = False) -> str:
    """The C type of a pointer to one of the ABI's structures."""
    return f"{'const ' if const else ''}struct {struct.name} *"


def _args(*pairs: tuple[str, str]) -> tuple[Arg, ...]:
    return tuple(Arg(name, c_type) for name, c_type in pairs)


ULONG, UINT, INT, PTR = "unsigned long", "unsigned", "int", "void *"
IMPLEMENTED, NOT_IMPLEMENTED = Status.IMPLEMENTED, Status.NOT_IMPLEMENTED
GENERIC_ARGS = _args(*((f"a{i}", ULONG) for i in range(len(HYPERCALL_ARG_REGS))))


def _sig(call: Hypercall, args: tuple[Arg, ...], errnos: tuple[Errno, ...] = (),
         note: str = "", status: Status = IMPLEMENTED,
         c_wrapper: bool = True) -> HypercallSignature:
    return HypercallSignature(call, args, status, errnos, note, c_wrapper)


# Short names for the table below only: H.x is Hypercall.x, E.X is Errno.X.
H, E = Hypercall, Errno
_PAGE_TABLE_BATCH = (E.EINVAL, E.EFAULT, E.ESRCH, E.ENOSYS)

_DECLARED = (
    _sig(H.set_trap_table, _args(("traps", _ptr(TRAP_INFO, const=True))), (E.EINVAL, E.EFAULT),
         "ends at `address == 0`; NULL clears the table"),
    _sig(H.mmu_update, _args(("reqs", _ptr(MMU_UPDATE, const=True)), ("count", UINT),
                             ("success_count", "unsigned *"), ("foreigndom", "domid_t")),
         _PAGE_TABLE_BATCH, "§5.1"),
    _sig(H.stack_switch, _args(("kernel_sp", ULONG)), (),
         "the stack a trap from ring 3 switches to"),
    _sig(H.set_callbacks, _args(("event_address", ULONG), ("failsafe_address", ULONG))),
    _sig(H.memory_op, _args(("cmd", UINT), ("arg", PTR)),
         (E.EPERM, E.ESRCH, E.EINVAL, E.EFAULT, E.ENOSYS), "§5.6"),
    _sig(H.multicall, _args(("calls", PTR), ("count", UINT)), (E.EINVAL, E.EFAULT),
         "`calls`: `multicall_entry[count]`; §5.7"),
    _sig(H.update_va_mapping, _args(("va", ULONG), ("pte", ULONG), ("flags", ULONG)),
         (E.EINVAL,), "`flags`: UVMF_*; §5.1"),
    _sig(H.set_timer_op, _args(("timeout_lo", ULONG), ("timeout_hi", ULONG)), (),
         "absolute ns, low word first; 0 cancels; §5.3"),
    _sig(H.xen_version, _args(("cmd", INT), ("arg", PTR)),
         (E.EPERM, E.EINVAL, E.EFAULT, E.ENODATA, E.ENOSYS), "§5.7"),
    _sig(H.console_io, _args(("cmd", INT), ("count", INT), ("buffer", "const char *")),
         (E.EPERM, E.EINVAL, E.EFAULT, E.ENOSYS), "§5.7"),
    _sig(H.grant_table_op, _args(("cmd", UINT), ("uops", PTR), ("count", UINT)),
         (E.ESRCH, E.EINVAL, E.EFAULT, E.ENOSYS), "per-op results in `status`; §5.5"),
    _sig(H.vm_assist, _args(("cmd", UINT), ("type", UINT)), (E.ENOSYS,),
         status=NOT_IMPLEMENTED),
    _sig(H.update_va_mapping_otherdomain,
         _args(("va", ULONG), ("pte", ULONG), ("flags", ULONG), ("domid", "domid_t")),
         (E.ENOSYS,), status=NOT_IMPLEMENTED),
    _sig(H.iret, (), (), "none: sp points at the iret part of a `bounce_frame`; a bad "
         "frame crashes the domain; §5.8", c_wrapper=False),
    _sig(H.vcpu_op, _args(("cmd", INT), ("vcpuid", UINT), ("arg", PTR)),
         (E.ENOENT, E.EINVAL, E.EFAULT, E.EEXIST, E.ETIME, E.ENOSYS), "§5.3"),
    _sig(H.mmuext_op, _args(("ops", _ptr(MMUEXT_OP, const=True)), ("count", UINT),
                            ("success_count", "unsigned *"), ("foreigndom", "domid_t")),
         (*_PAGE_TABLE_BATCH, E.EPERM), "§5.1"),
    _sig(H.sched_op, _args(("cmd", INT), ("arg", PTR)),
         (E.EPERM, E.ESRCH, E.EINVAL, E.EFAULT, E.ENOSYS), "§5.2"),
    _sig(H.callback_op, _args(("cmd", INT), ("arg", "const void *")),
         (E.EINVAL, E.EFAULT, E.ENOSYS), "§5.7"),
    _sig(H.event_channel_op, _args(("cmd", INT), ("arg", PTR)),
         (E.EPERM, E.ENOENT, E.ESRCH, E.EEXIST, E.EINVAL, E.EFAULT, E.ENOSPC, E.ENOSYS),
         "§5.4"),
    _sig(H.sysctl, _args(("op", PTR)),
         (E.EPERM, E.EACCES, E.EFAULT, E.EOPNOTSUPP, E.ENOSYS),
         "`op`: `xen_sysctl`; dom0 only; §5.7"),
    _sig(H.domctl, _args(("op", PTR)),
         (E.EPERM, E.ESRCH, E.ENOMEM, E.EACCES, E.EFAULT, E.EBUSY, E.EEXIST, E.EINVAL,
          E.ENODATA, E.ENOSYS), "`op`: `xen_domctl`; dom0 only; §5.7"),
)

# Every hypercall this ABI declares, in number order.
SIGNATURES: dict[Hypercall, HypercallSignature] = {
    s.call: s for s in sorted(_DECLARED, key=lambda s: s.call)}


def undeclared(call: Hypercall) -> HypercallSignature:
    """The signature of a hypercall the ABI leaves out: not implemented, six words."""
    return HypercallSignature(call, GENERIC_ARGS, NOT_IMPLEMENTED, (E.ENOSYS,))


def signature(call: int) -> HypercallSignature:
    """The declared signature of hypercall `call` (a Hypercall number), or
    undeclared(call).  ValueError if `call` is no hypercall number."""
    call = Hypercall(call)
    return SIGNATURES.get(call) or undeclared(call)
