"""The hypercall dispatch table: hypercall number -> handler, one module per family.

`hypercall(hv, vcpu)` is called by the hypervisor loop when a vCPU exits on `hcall`:
number in t0, arguments in a0..a5, result to a0 (see common.py for the handler
contract).  Unknown numbers return -ENOSYS, like Xen.  Each call is charged to the caller
(paravisor.hypercalls.cost); a preempted one has rewound the registers to continue later
and returns KEEP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from paravisor.abi import Hypercall
from paravisor.abi.errno import Errno
from paravisor.domain.guest_access import GuestMemoryError
from paravisor.hypercalls import (
    callbacks,
    console,
    domctl,
    evtchn_op,
    grant_table_op,
    memory,
    mmu,
    multicall,
    sched,
    sysctl,
    vcpu,
    version,
)
from paravisor.hypercalls.common import KEEP, HypercallError
from paravisor.hypercalls.cost import HYPERCALL_NS
from paravisor.isa.table import HYPERCALL_ARG_REGS, HYPERCALL_NR_REG, HYPERCALL_RESULT_REG

if TYPE_CHECKING:
    from paravisor.domain import Vcpu
    from paravisor.hypervisor import Hypervisor

Handler = Callable[..., object]

TABLE: dict[int, Handler] = {
    Hypercall.set_trap_table: callbacks.do_set_trap_table,
    Hypercall.stack_switch: callbacks.do_stack_switch,
    Hypercall.set_callbacks: callbacks.do_set_callbacks,
    Hypercall.console_io: console.do_console_io,
    Hypercall.iret: callbacks.do_iret,
    Hypercall.sched_op: sched.do_sched_op,
    Hypercall.callback_op: callbacks.do_callback_op,
    Hypercall.event_channel_op: evtchn_op.do_event_channel_op,
    Hypercall.mmu_update: mmu.do_mmu_update,
    Hypercall.update_va_mapping: mmu.do_update_va_mapping,
    Hypercall.mmuext_op: mmu.do_mmuext_op,
    Hypercall.memory_op: memory.do_memory_op,
    Hypercall.multicall: multicall.do_multicall,
    Hypercall.xen_version: version.do_xen_version,
    Hypercall.vcpu_op: vcpu.do_vcpu_op,
    Hypercall.set_timer_op: vcpu.do_set_timer_op,
    Hypercall.domctl: domctl.do_domctl,
    Hypercall.sysctl: sysctl.do_sysctl,
    Hypercall.grant_table_op: grant_table_op.do_grant_table_op,
}


def hypercall(hv: Hypervisor, vcpu: Vcpu) -> None:
    """Handle the hypercall `vcpu` just made (nothing, if its domain was destroyed while
    it ran: under --realtime a run can end after a teardown that waited for it, and the
    memory the call would touch is gone)."""
    if vcpu.domain.dying:
        return
    regs = vcpu.cpu.regs
    number = regs[HYPERCALL_NR_REG]
    args = tuple(regs[r] for r in HYPERCALL_ARG_REGS)
    result = invoke(hv, vcpu, number, args)
    if result is not KEEP:
        regs[HYPERCALL_RESULT_REG] = int(result) & 0xFFFF_FFFF
    if hv.tracer is not None:
        hv.tracer.hypercall(vcpu, number, args, result)


def invoke(hv: Hypervisor, vcpu: Vcpu, number: int, args: tuple[int, ...]) -> object:
    """Run hypercall `number` with `args`; its a0 value (or KEEP).  Also used by multicall.
    Every call costs the caller HYPERCALL_NS, charged when it returns."""
    handler = TABLE.get(number)
    try:
        if handler is None:
            return -Errno.ENOSYS
        return handler(hv, vcpu, *args)
    except HypercallError as err:
        return -err.errno
    except GuestMemoryError:
        return -Errno.EFAULT
    finally:
        hv.charge(vcpu, HYPERCALL_NS)
