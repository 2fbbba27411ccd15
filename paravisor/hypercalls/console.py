"""console_io (18): early console output straight to the hypervisor.

PV32 lets every domain write (like a debug build of Xen; a release Xen allows only the
console domain).  Output appears on the domain's console, prefixed with its name.  Each
domain may write CONSOLE_RATE_BYTES per CONSOLE_RATE_PERIOD_NS of virtual time
(paravisor.console.ConsoleBudget); what is over budget is dropped, the write still
returns 0 (as Xen's does when it filters guest output), and the console says "(N bytes
suppressed)" before the domain's next output or when it shuts down.
CONSOLEIO_read reads hypervisor console input, of which paravisor has none: it returns 0
bytes (dom0 only, as in Xen).
"""

from __future__ import annotations

from paravisor.abi import CONSOLEIO_read, CONSOLEIO_write
from paravisor.abi.errno import Errno
from paravisor.hypercalls.common import HypercallError, copy_from, require_privileged

CONSOLEIO_MAX_WRITE = 64 * 1024   # bytes per call; more is -EINVAL rather than a long stall


def do_console_io(hv, vcpu, cmd: int, count: int, buf: int, *_) -> int:
    if cmd == CONSOLEIO_write:
        if count > CONSOLEIO_MAX_WRITE:
            raise HypercallError(Errno.EINVAL, "console write too long")
        data = copy_from(hv, vcpu, buf, count)
        _write_within_budget(hv, vcpu.domain, data)
        return 0
    if cmd == CONSOLEIO_read:
        require_privileged(vcpu)
        return 0
    return -Errno.ENOSYS


def _write_within_budget(hv, dom, data: bytes) -> None:
    """Print what this period's budget allows; count the rest as suppressed."""
    budget = dom.console_io_budget
    granted = budget.take(hv.now, len(data))
    if granted:
        note = budget.suppressed_note()
        if note is not None:
            hv.console_note(dom, note)
        hv.console_write(dom, data[:granted])
    budget.suppressed += len(data) - granted
