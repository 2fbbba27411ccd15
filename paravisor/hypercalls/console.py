"""console_io (18): early console output straight to the hypervisor.

PV32 lets every domain write (like a debug build of Xen; a release Xen allows only the
console domain).  Output appears on the domain's console, prefixed with its name.
CONSOLEIO_read reads hypervisor console input, of which paravisor has none: it returns 0
bytes (dom0 only, as in Xen).
"""

from __future__ import annotations

from paravisor.guest_access import copy_from_guest
from paravisor.hypercalls.abi import CONSOLEIO_read, CONSOLEIO_write
from paravisor.hypercalls.common import HypercallError, require_privileged
from paravisor.hypercalls.errno import Errno

CONSOLEIO_MAX_WRITE = 64 * 1024   # bytes per call; more is -EINVAL rather than a long stall


def do_console_io(hv, vcpu, cmd: int, count: int, buf: int, *_) -> int:
    if cmd == CONSOLEIO_write:
        if count > CONSOLEIO_MAX_WRITE:
            raise HypercallError(Errno.EINVAL, "console write too long")
        data = copy_from_guest(hv.memory, vcpu.cpu, buf, count)
        hv.console_write(vcpu.domain, data)
        return 0
    if cmd == CONSOLEIO_read:
        require_privileged(vcpu)
        return 0
    return -Errno.ENOSYS
