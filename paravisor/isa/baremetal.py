"""A bare-metal PV32 machine: ring-0/ring-3 code with no hypervisor underneath.

It delivers traps the architectural way, as a real CPU would (EPC = the trap's pc,
CAUSE = vector, ERRCODE = error code, FADDR = fault address when the trap has one,
STATUS.PRING = old ring, STATUS.PIE = STATUS.IE, IE = 0, ring = 0, pc = TVEC); with
TVEC = 0 there is no handler and the machine stops, reporting the Trap.

Timer: when STATUS.IE is set, TIMECMP is non-zero and the low 32 bits of instret have
reached TIMECMP, the timer interrupt (vector 32) is taken before the next instruction,
with EPC = that instruction.  The machine chooses engine budgets so the engine stops
exactly at TIMECMP, and runs its interpreter with exit_on_control so that a change of
IE or TIMECMP (mtcr, rfe) is seen at the very next instruction boundary.

Firmware: `hcall` (ring 0 or 1) is a tiny firmware call for tests and students:
t0 = 0 writes the low byte of a0 to `output` (a0 = 0 after); t0 = 1 stops the machine
with exit code a0; any other t0 returns a0 = -ENOSYS (-38).
"""

from __future__ import annotations

from enum import Enum

from paravisor.isa.engine import CPUState, Engine, ExitReason, Trap
from paravisor.isa.interpreter import Interpreter
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import (
    CR,
    HYPERCALL_NR_REG,
    HYPERCALL_RESULT_REG,
    STATUS_IE,
    STATUS_PIE,
    STATUS_PRING_MASK,
    STATUS_PRING_SHIFT,
    WORD_MASK,
    Ring,
    Vector,
)

FIRMWARE_PUTCHAR = 0
FIRMWARE_EXIT = 1
ENOSYS = 38


class StopReason(Enum):
    HALT = "halt"           # `halt` retired
    EXIT = "exit"           # firmware exit call; see exit_code
    TRAP = "trap"           # a trap with TVEC = 0; see trap
    LIMIT = "limit"         # max_instructions retired


class BareMetalMachine:
    """Runs `cpu` over `memory` with no hypervisor.  After `run` returns, `output` holds
    the firmware console bytes, `exit_code` the firmware exit code (EXIT) and `trap`
    the unhandled trap (TRAP)."""

    def __init__(self, memory: MachineMemory, cpu: CPUState,
                 engine: Engine | None = None) -> None:
        self.memory, self.cpu = memory, cpu
        # Another engine works too, but timer delivery is exact only if it also stops
        # after mtcr/rfe (as the interpreter does with exit_on_control).
        self.engine = engine if engine is not None else Interpreter(memory, exit_on_control=True)
        self.output = bytearray()
        self.exit_code: int | None = None
        self.trap: Trap | None = None

    def run(self, max_instructions: int) -> StopReason:
        """Run until halt, a firmware exit, an unhandled trap, or `max_instructions`
        retired instructions (interrupt delivery retires nothing)."""
        cpu, left = self.cpu, max_instructions
        while left > 0:
            if self._timer_pending():
                if not self.deliver(Trap(Vector.TIMER, cpu.pc)):
                    return StopReason.TRAP
                continue
            result = self.engine.run(cpu, self._budget(left))
            left -= result.retired
            if result.reason is ExitReason.HALT:
                return StopReason.HALT
            if result.reason is ExitReason.HYPERCALL and not self._firmware_call():
                return StopReason.EXIT
            if result.reason is ExitReason.TRAP and not self.deliver(result.trap):
                return StopReason.TRAP
        return StopReason.LIMIT

    def _timer_pending(self) -> bool:
        cr = self.cpu.cr
        timecmp = cr[CR.TIMECMP]
        return bool(cr[CR.STATUS] & STATUS_IE) and timecmp != 0 and (
            self.cpu.instret & WORD_MASK) >= timecmp

    def _budget(self, left: int) -> int:
        """At most `left`, and no further than TIMECMP while interrupts are on."""
        cr = self.cpu.cr
        timecmp = cr[CR.TIMECMP]
        if cr[CR.STATUS] & STATUS_IE and timecmp != 0:
            return min(left, timecmp - (self.cpu.instret & WORD_MASK))
        return left

    def deliver(self, trap: Trap) -> bool:
        """Enter the trap handler at TVEC; False (and `self.trap` set) if there is none."""
        cpu, cr = self.cpu, self.cpu.cr
        if cr[CR.TVEC] == 0:
            self.trap = trap
            return False
        cr[CR.EPC] = trap.pc
        cr[CR.CAUSE] = int(trap.vector)
        cr[CR.ERRCODE] = trap.error_code
        if trap.fault_addr is not None:
            cr[CR.FADDR] = trap.fault_addr
        status = cr[CR.STATUS] & ~(STATUS_PRING_MASK | STATUS_PIE | STATUS_IE)
        if cr[CR.STATUS] & STATUS_IE:
            status |= STATUS_PIE
        cr[CR.STATUS] = status | (cpu.ring << STATUS_PRING_SHIFT)
        cpu.ring = int(Ring.HYPERVISOR)
        cpu.pc = cr[CR.TVEC]
        return True

    def _firmware_call(self) -> bool:
        """Serve the hcall that just retired; False if the machine must stop."""
        regs = self.cpu.regs
        a0 = regs[HYPERCALL_RESULT_REG]
        number = regs[HYPERCALL_NR_REG]
        if number == FIRMWARE_PUTCHAR:
            self.output.append(a0 & 0xFF)
            regs[HYPERCALL_RESULT_REG] = 0
        elif number == FIRMWARE_EXIT:
            self.exit_code = a0
            return False
        else:
            regs[HYPERCALL_RESULT_REG] = -ENOSYS & WORD_MASK
        return True
