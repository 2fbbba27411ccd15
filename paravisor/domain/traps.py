"""Traps and upcalls: how the hypervisor enters a PV guest's own handlers.

A guest exception (page fault, #GP from a privileged instruction, #UD, #DE, break,
syscall from ring 3) and an event upcall both reach the guest the same way, as in Xen's
create_bounce_frame: the hypervisor pushes a *bounce frame* on the guest's kernel stack
and jumps to the handler the guest registered (set_trap_table for exceptions,
set_callbacks for events).  The frame, from the new sp upwards (abi.BOUNCE_FRAME):

    0  vector       the trap vector, or BOUNCE_VECTOR_EVENT for an upcall
    4  error_code   #PF error code bits, else 0
    8  fault_addr   #PF/#AC address (also in vcpu_info.arch.cr2 for #PF), else 0
   12  pad
   16  t0  \
   20  pc   |  the iret frame: HYPERVISOR_iret, called with sp pointing here,
   24  flags|  restores t0 (which carried the hypercall number), pc, the ring and
   28  sp  /   the event mask, and sp
A handler saves what it uses, pops the first 16 bytes and calls iret.  If the
interrupted code ran in ring 3, the frame goes on the kernel stack the guest named with
stack_switch; in ring 1 it goes below the interrupted sp.

Containment: a fault with no registered handler, or a fault while writing the frame
(unmapped or read-only kernel stack: Xen's "double fault"), crashes that domain alone,
with a register dump on its console.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paravisor.abi import (
    BOUNCE_FRAME,
    BOUNCE_VECTOR_EVENT,
    IRET_FLAG_EVENTS_MASKED,
    IRET_FLAG_RING_SHIFT,
)
from paravisor.domain.guest_access import GuestMemoryError, copy_from_guest, copy_to_guest
from paravisor.isa.disasm import disassemble
from paravisor.isa.engine import Trap
from paravisor.isa.table import (
    CR,
    REG_NAMES,
    WORD_MASK,
    Ring,
    Vector,
    decode,
)

if TYPE_CHECKING:
    from paravisor.domain import Vcpu
    from paravisor.hypervisor import Hypervisor

_IRET_OFFSET = BOUNCE_FRAME.offset("t0")


class BounceError(Exception):
    """The bounce could not be made; the message says why (the domain is crashed)."""


def bounce_trap(hv: Hypervisor, vcpu: Vcpu, trap: Trap) -> None:
    """Deliver `trap` to the guest's registered handler, or crash the domain (nothing,
    if the domain was destroyed while it ran: see dispatch.hypercall)."""
    if vcpu.domain.dying:
        return
    vector = int(trap.vector)
    handler = vcpu.traps.get(vector)
    from_ring = vcpu.cpu.ring
    if handler is None or handler.address == 0:
        raise BounceError(f"unhandled {describe_trap(hv, vcpu, trap)} (no handler registered)")
    if vector in (Vector.SYSCALL, Vector.BREAKPOINT) and from_ring > handler.dpl:
        # Like x86's software interrupts through a gate with DPL < CPL: #GP instead.
        gp = Trap(Vector.GENERAL_PROTECTION, trap.pc - 4, 0, None)
        return bounce_trap(hv, vcpu, gp)
    if trap.vector == Vector.PAGE_FAULT:
        hv.write_vcpu_info(vcpu, "arch.cr2", trap.fault_addr or 0)
    _push_frame(hv, vcpu, vector, trap.error_code, trap.fault_addr or 0, trap.pc,
                handler.address, mask_events=handler.mask_events)


def bounce_event(hv: Hypervisor, vcpu: Vcpu) -> None:
    """Make an event upcall: enter the event callback with events masked."""
    if not vcpu.event_callback:
        raise BounceError("an event upcall is due but no event callback is registered")
    _push_frame(hv, vcpu, BOUNCE_VECTOR_EVENT, 0, 0, vcpu.cpu.pc, vcpu.event_callback,
                mask_events=True)


def _push_frame(hv: Hypervisor, vcpu: Vcpu, vector: int, error_code: int, fault_addr: int,
                resume_pc: int, handler: int, mask_events: bool) -> None:
    cpu = vcpu.cpu
    was_masked = hv.events.upcall_masked(vcpu)
    if cpu.ring == Ring.USER:
        if not vcpu.kernel_sp:
            raise BounceError("trap from ring 3 but no kernel stack (stack_switch) registered")
        stack = vcpu.kernel_sp
    else:
        stack = cpu.regs[2]
    frame_va = (stack - BOUNCE_FRAME.size) & WORD_MASK
    flags = (IRET_FLAG_EVENTS_MASKED if was_masked else 0) | (cpu.ring << IRET_FLAG_RING_SHIFT)
    frame = BOUNCE_FRAME.pack(vector=vector, error_code=error_code, fault_addr=fault_addr,
                              t0=cpu.regs[9], pc=resume_pc, flags=flags, sp=cpu.regs[2])
    kernel_view = _as_kernel(cpu)
    try:
        copy_to_guest(hv.memory, kernel_view, frame_va, frame)
    except GuestMemoryError as err:
        raise BounceError(f"fault while bouncing to the guest ({err}): "
                          f"kernel stack at {stack:#010x} is not writable") from None
    cpu.ring = int(Ring.KERNEL)
    cpu.regs[2] = frame_va
    cpu.pc = handler
    if mask_events:
        hv.events.set_upcall_mask(vcpu, True)


def do_iret(hv: Hypervisor, vcpu: Vcpu) -> None:
    """HYPERVISOR_iret: return from a bounce, using the iret frame at sp."""
    cpu = vcpu.cpu
    frame_va = (cpu.regs[2] - _IRET_OFFSET) & WORD_MASK
    try:
        raw = copy_from_guest(hv.memory, cpu, frame_va, BOUNCE_FRAME.size)
    except GuestMemoryError as err:
        raise BounceError(f"iret with an unreadable frame ({err})") from None
    frame = BOUNCE_FRAME.unpack(raw)
    ring = (frame["flags"] >> IRET_FLAG_RING_SHIFT) & 3
    if ring not in (Ring.KERNEL, Ring.USER):
        raise BounceError(f"iret to ring {ring}: only rings 1 and 3 are allowed")
    cpu.regs[9] = frame["t0"]
    cpu.pc = frame["pc"]
    cpu.regs[2] = frame["sp"]
    cpu.ring = ring
    hv.events.set_upcall_mask(vcpu, bool(frame["flags"] & IRET_FLAG_EVENTS_MASKED))


def _as_kernel(cpu):
    """A view of `cpu` with ring-1 rights, for writing the frame on the kernel stack."""
    if cpu.ring != Ring.USER:
        return cpu
    from paravisor.isa.engine import CPUState
    view = CPUState(pc=cpu.pc, ring=Ring.KERNEL)
    view.cr = cpu.cr
    return view


# --- telling people what happened ----------------------------------------------------------

def describe_trap(hv: Hypervisor, vcpu: Vcpu, trap: Trap) -> str:
    """`#GP (vector 13) at pc 0x... (mtcr ptbr, a0)`, with the culprit disassembled."""
    text = trap.describe()
    word = _fetch_word(hv, vcpu, trap.pc)
    if word is not None and decode(word) is not None:
        text += f" executing `{disassemble(word, trap.pc)}` in ring {vcpu.cpu.ring}"
    return text


def _fetch_word(hv: Hypervisor, vcpu: Vcpu, pc: int) -> int | None:
    try:
        return int.from_bytes(copy_from_guest(hv.memory, vcpu.cpu, pc, 4), "little")
    except GuestMemoryError:
        return None


def register_dump(vcpu: Vcpu) -> str:
    """Registers four to a line with ABI names, then pc, ring and control state."""
    cpu = vcpu.cpu
    lines = []
    for row in range(0, 16, 4):
        lines.append("  ".join(f"{REG_NAMES[i]:>4}={cpu.regs[i]:08x}"
                               for i in range(row, row + 4)))
    lines.append(f"  pc={cpu.pc:08x} ring={cpu.ring} ptbr={cpu.cr[CR.PTBR]:08x} "
                 f"retired={cpu.instret}")
    return "\n".join(lines)
