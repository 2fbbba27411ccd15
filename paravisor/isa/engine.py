"""The engine interface (docs/design.md, 'Fixed decisions' 5) and the architectural CPU state.

An engine executes guest code: `engine.run(cpu, budget)` runs `cpu` until it must
leave guest code and returns an `Exit` saying why and exactly how many instructions
retired.  The interpreter (`paravisor.isa.interpreter`) is the executable specification;
the JIT implements the same interface and must agree with it exit for exit.

What the hypervisor may rely on after `run` returns:
- HYPERCALL: `hcall` retired; cpu.pc is the instruction after it; number and
  arguments are in the registers named in `paravisor.isa.table`.
- TRAP: for a fault, nothing of the faulting instruction happened, cpu.pc is its
  address and it did not retire; for a trap (break, syscall), it retired and cpu.pc is
  the next instruction.  `trap.pc` is the pc the guest handler must return to.
- BUDGET: exactly `budget` instructions retired.
- HALT: `halt` retired (ring 0 only); cpu.pc is the next instruction.
- CONTROL: only for an engine built for bare-metal use (`exit_on_control`): an `mtcr`
  or `rfe` retired and cpu.pc is the next instruction, so the caller can deliver a
  timer interrupt that the change made due at exactly the right instruction.
- KICK: only when another host thread asked the run to end early (`request_exit`;
  --realtime's TLB shootdown uses it): `retired` instructions (from 0 to the budget)
  retired, cpu.pc is the next one, and nothing else happened.
The engine never delivers a trap itself: the caller decides (bounce to a PV guest's
trap table, kill the domain, or deliver to TVEC on bare metal).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from paravisor.isa.table import CR, NUM_CRS, NUM_REGS, STATUS_PG, Ring, Vector


class ExitReason(Enum):
    HYPERCALL = "hypercall"
    TRAP = "trap"
    BUDGET = "budget"
    HALT = "halt"
    CONTROL = "control"     # bare metal only: an mtcr or rfe retired (see below)
    KICK = "kick"           # another thread asked the run to end early (see below)


@dataclass(frozen=True)
class Trap:
    vector: Vector
    pc: int                 # where the handler returns to (see module docstring)
    error_code: int = 0     # PF_* bits for #PF, 0 otherwise
    fault_addr: int | None = None   # #PF and #AC: the faulting virtual address

    def describe(self) -> str:
        text = f"{self.vector.name} (vector {int(self.vector)}) at pc {self.pc:#010x}"
        if self.fault_addr is not None:
            text += f", address {self.fault_addr:#010x}"
        if self.vector == Vector.PAGE_FAULT:
            text += f", error code {self.error_code:#x}"
        return text


@dataclass(frozen=True)
class Exit:
    reason: ExitReason
    retired: int
    trap: Trap | None = None


class CPUState:
    """Architectural state of one (virtual) CPU.

    `tlb_epoch` is how code outside the engine (the hypervisor, after changing page
    tables or on a TLB-flush hypercall) asks for cached translations to be dropped:
    it calls `flush_tlb()`, and every engine compares epochs at the start of `run`.
    """

    __slots__ = ("regs", "pc", "ring", "cr", "instret", "tlb_epoch", "engine_state")

    def __init__(self, pc: int = 0, ring: Ring = Ring.KERNEL) -> None:
        self.regs: list[int] = [0] * NUM_REGS
        self.pc = pc
        self.ring = int(ring)
        self.cr: list[int] = [0] * NUM_CRS
        self.instret = 0
        self.tlb_epoch = 0
        self.engine_state: object = None   # private to whichever engine runs this CPU

    def flush_tlb(self) -> None:
        self.tlb_epoch += 1

    @property
    def paging(self) -> bool:
        return bool(self.cr[CR.STATUS] & STATUS_PG)

    def snapshot(self) -> tuple:
        """Everything architectural, for comparing engines."""
        return (tuple(self.regs), self.pc, self.ring, tuple(self.cr), self.instret)


class Engine(Protocol):
    """Everything the hypervisor calls on an engine (one engine per domain).  Only
    `request_exit` and `cancel_exit` may be called while a run is in progress (from
    another host thread, under --realtime); the rest only between runs."""

    def run(self, cpu: CPUState, budget: int) -> Exit:
        """Run `cpu` for at most `budget` (> 0) instructions."""
        ...

    def invalidate_frame(self, mfn: int) -> None:
        """Drop everything cached from machine frame `mfn` (it was freed or reused)."""
        ...

    def forget(self, cpu: CPUState) -> None:
        """Drop everything cached for `cpu` and stop watching memory for it (its vCPU is
        destroyed); a later run starts afresh."""
        ...

    def request_exit(self) -> None:
        """Make every later run return ExitReason.KICK at once, and a run in progress
        return as soon as the engine can (the JIT: at its next return to Python; the
        interpreter: at the end of its budget), until `cancel_exit`."""
        ...

    def cancel_exit(self) -> None:
        """Undo `request_exit`."""
        ...
