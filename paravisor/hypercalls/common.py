"""What every hypercall family shares: errors, guest-memory access, privilege checks.

A handler has the signature `do_<name>(hv, vcpu, a0, a1, a2, a3, a4, a5) -> int` (the six
argument registers; each handler names the ones it uses and swallows the rest with
`*_`).  It returns the value for a0 (0 or a positive result, or -errno), or `KEEP` when
it must not touch a0 (iret restores the registers itself).  Raising `HypercallError`
returns -errno; a guest pointer the guest itself could not access raises
GuestMemoryError, which the dispatcher turns into -EFAULT.

Handlers copy guest memory through `copy_from`/`copy_to` (or the struct helpers built on
them), which charge the bytes to the caller (paravisor.hypercalls.cost).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paravisor.guest_access import GuestMemoryError, copy_from_guest, copy_to_guest
from paravisor.hypercalls.abi import DOMID_SELF, Struct
from paravisor.hypercalls.cost import copy_ns
from paravisor.hypercalls.errno import Errno

if TYPE_CHECKING:
    from paravisor.domain import Domain, Vcpu
    from paravisor.hypervisor import Hypervisor

KEEP = object()   # a handler's "do not write a0" result

__all__ = ["KEEP", "HypercallError", "GuestMemoryError", "copy_from", "copy_to",
           "read_struct", "write_struct", "write_field", "read_array", "require_privileged",
           "target_domain"]


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
    if count < 0 or count * struct.size > 1 << 20:
        raise HypercallError(Errno.EINVAL, "argument array too large")
    raw = copy_from(hv, vcpu, va, count * struct.size)
    return [struct.unpack(raw[i * struct.size:(i + 1) * struct.size]) for i in range(count)]


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
