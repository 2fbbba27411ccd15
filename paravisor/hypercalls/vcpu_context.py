"""vcpu_guest_context: a vCPU's whole guest-visible state, in and out.

Shared by VCPUOP_initialise (vcpu.py) and XEN_DOMCTL_setvcpucontext/getvcpucontext
(domctl.py).  A context is parsed and checked into an immutable `VcpuContext` first;
only then is it applied, starting with the one step that can still be refused (taking
the base pointer), so a refused context changes nothing.

What a PV32 context carries (abi.VCPU_GUEST_CONTEXT):
- user_regs: r1..r15 (r0 is ignored), pc and the ring (1 or 3, else -EINVAL);
- trap_ctxt[v]: the trap table, indexed by vector; an entry with address 0 is no
  handler; flags as set_trap_table's (DPL 0, 1 or 3, TI_IF);
- ctrlreg[CR.PTBR]: the machine address of the L2 table to run on (page-aligned,
  non-zero, an L2 the domain owns and that validates: else -EINVAL).  The other
  control registers are the hypervisor's: paging is always on for a PV vCPU;
- kernel_sp, event_callback_eip, failsafe_callback_eip;
- flags: VGCF_online brings the vCPU up, else it is left (or put) down, as Xen's
  arch_set_info_guest does; getvcpucontext reports VGCF_online and VGCF_in_kernel.
  vm_assist is not modelled (read as 0, ignored on input).

A vCPU counts as *initialised* (Xen's v->is_initialised) while it holds a base pointer:
PV32 guests always run with paging on, so a vCPU without page tables cannot run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paravisor.abi import (
    NR_TRAP_VECTORS,
    TI_DPL_MASK,
    TI_IF,
    VGC_NR_CTRLREGS,
    VGCF_in_kernel,
    VGCF_online,
)
from paravisor.abi.errno import Errno
from paravisor.domain import TrapHandler, VcpuState
from paravisor.hypercalls.common import HypercallError
from paravisor.isa.table import CR, NUM_REGS, PAGE_MASK, PAGE_SHIFT, STATUS_PG, Ring
from paravisor.mm.pv_mmu import drop_baseptr, new_baseptr

_RINGS = (int(Ring.KERNEL), int(Ring.USER))
_DPLS = (0, 1, 3)


@dataclass(frozen=True)
class VcpuContext:
    """A checked vcpu_guest_context."""
    regs: tuple[int, ...]
    pc: int
    ring: int
    base_mfn: int
    traps: tuple[tuple[int, TrapHandler], ...]
    kernel_sp: int
    event_callback: int
    failsafe_callback: int
    online: bool


def parse_context(ctxt: dict[str, Any]) -> VcpuContext:
    """Check an unpacked vcpu_guest_context; HypercallError(EINVAL) says what is wrong."""
    user = ctxt["user_regs"]
    if user["ring"] not in _RINGS:
        raise HypercallError(Errno.EINVAL, f"context ring {user['ring']}")
    ptbr = ctxt["ctrlreg"][CR.PTBR]
    if ptbr == 0 or ptbr & PAGE_MASK:
        raise HypercallError(Errno.EINVAL, f"context page-table base {ptbr:#x}")
    traps = []
    for vector, entry in enumerate(ctxt["trap_ctxt"]):
        if entry["address"] == 0:
            continue
        dpl = entry["flags"] & TI_DPL_MASK
        if dpl not in _DPLS:
            raise HypercallError(Errno.EINVAL, f"trap {vector}: DPL {dpl}")
        traps.append((vector, TrapHandler(entry["address"], dpl, bool(entry["flags"] & TI_IF))))
    return VcpuContext(regs=(0, *user["regs"][1:]), pc=user["pc"], ring=user["ring"],
                       base_mfn=ptbr >> PAGE_SHIFT, traps=tuple(traps),
                       kernel_sp=ctxt["kernel_sp"], event_callback=ctxt["event_callback_eip"],
                       failsafe_callback=ctxt["failsafe_callback_eip"],
                       online=bool(ctxt["flags"] & VGCF_online))


def is_initialised(vcpu) -> bool:
    return vcpu.domain.mem.guest_table[vcpu.vcpu_id] is not None


def apply_context(hv, vcpu, ctx: VcpuContext) -> None:
    """Load `ctx` into `vcpu` (HypercallError(EINVAL) if its base pointer is refused,
    in which case nothing changed), then bring it up or down as ctx.online says."""
    cpu = vcpu.cpu
    rc = new_baseptr(hv.mm, vcpu.domain.mem, cpu, ctx.base_mfn)
    if rc:
        raise HypercallError(Errno(-rc), f"page-table base {ctx.base_mfn:#x} refused")
    cpu.cr[CR.STATUS] |= STATUS_PG
    cpu.regs[:] = list(ctx.regs)
    cpu.pc, cpu.ring = ctx.pc, ctx.ring
    vcpu.traps = dict(ctx.traps)
    vcpu.kernel_sp = ctx.kernel_sp
    vcpu.event_callback, vcpu.failsafe_callback = ctx.event_callback, ctx.failsafe_callback
    if ctx.online:
        hv.vcpu_up(vcpu)
    else:
        hv.vcpu_down(vcpu)


def reset_vcpu(hv, vcpu) -> None:
    """Xen's vcpu_reset: down, no page tables, no registered entry points, registers
    and timers cleared.  The CPUState object stays (the memory manager knows it)."""
    hv.vcpu_down(vcpu)
    drop_baseptr(hv.mm, vcpu.domain.mem, vcpu.vcpu_id)
    cpu = vcpu.cpu
    cpu.regs[:] = [0] * NUM_REGS
    cpu.pc, cpu.ring = 0, int(Ring.KERNEL)
    vcpu.traps = {}
    vcpu.kernel_sp = vcpu.event_callback = vcpu.failsafe_callback = 0
    vcpu.singleshot_deadline = vcpu.periodic_period = vcpu.periodic_next = 0
    vcpu.poll_ports, vcpu.poll_deadline = (), 0


def context_of(vcpu) -> dict[str, Any]:
    """The vcpu_guest_context of `vcpu`, ready for VCPU_GUEST_CONTEXT.pack."""
    cpu = vcpu.cpu
    flags = VGCF_online if vcpu.state != VcpuState.DOWN else 0
    if cpu.ring == Ring.KERNEL:
        flags |= VGCF_in_kernel
    traps: list[dict[str, int]] = [{} for _ in range(NR_TRAP_VECTORS)]
    for vector, handler in vcpu.traps.items():
        traps[vector] = {"vector": vector, "address": handler.address,
                         "flags": handler.dpl | (TI_IF if handler.mask_events else 0)}
    return {"flags": flags,
            "user_regs": {"regs": list(cpu.regs), "pc": cpu.pc, "ring": cpu.ring},
            "trap_ctxt": traps, "ctrlreg": list(cpu.cr)[:VGC_NR_CTRLREGS],
            "kernel_sp": vcpu.kernel_sp, "event_callback_eip": vcpu.event_callback,
            "failsafe_callback_eip": vcpu.failsafe_callback, "vm_assist": 0}
