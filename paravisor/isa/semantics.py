"""PV32 semantics: one `execute_<mnemonic>` factory per row of the ISA table.

Each factory takes the decoded instruction, its virtual pc and the per-CPU execution
environment (`ExecEnv`) and returns a closure specialised to those fields, so the
interpreter pays for decoding once per block instead of once per execution.  Closures
come in three shapes, chosen by the instruction's kind (see `op_shape`):

- BODY (ALU, loads, stores, atomics, fence): `op() -> None`.
- TRANSFER (branches and jumps): `op() -> int`, the next pc.  They never fault: a
  misaligned jalr target faults at the fetch of the new pc.
- SYSTEM (kinds SYSTEM and CONTROL, except fence): `op(cpu) -> int`, the next pc, or
  raises `StopRun` (the run must return) or `GuestFault`.  The interpreter has checked
  the table privilege and synchronised cpu.pc and cpu.instret before it calls one.

Faults are raised as `GuestFault` (nothing of the instruction happened); a store that
invalidated cached state of this CPU raises `Resync` after it completed.  Register
values are kept as unsigned 32-bit ints; r0 is never written (writes to it are
dropped at factory time, but a load to r0 still performs its access).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Protocol

from paravisor.isa.engine import CPUState, ExitReason, Trap
from paravisor.isa.table import (
    CR,
    STATUS_IE,
    STATUS_PIE,
    STATUS_PRING_MASK,
    STATUS_PRING_SHIFT,
    STATUS_RING_MASK,
    STATUS_RING_SHIFT,
    STATUS_WRITABLE,
    WORD_MASK,
    Decoded,
    Instruction,
    Kind,
    Ring,
    Vector,
)

M = WORD_MASK
SIGN = 0x8000_0000
PTBR_MASK = ~0xFFF & WORD_MASK   # PTBR is frame aligned: its low 12 bits read as zero


# --- How an instruction leaves the engine --------------------------------------------

class GuestFault(Exception):
    """A fault: the instruction at `pc` did not retire and changed nothing."""

    def __init__(self, vector: Vector, pc: int, error_code: int = 0,
                 fault_addr: int | None = None) -> None:
        super().__init__(vector.name)
        self.vector, self.pc = vector, pc
        self.error_code, self.fault_addr = error_code, fault_addr

    def trap(self) -> Trap:
        return Trap(self.vector, self.pc, self.error_code, self.fault_addr)


class Resync(Exception):
    """A store retired but changed something this CPU had cached (its code or its page
    tables): the rest of the block must not run from stale state.  Execution goes on
    at `next_pc` (not wrapped: the interpreter counts retired instructions from it)."""

    def __init__(self, next_pc: int) -> None:
        super().__init__(next_pc)
        self.next_pc = next_pc


class StopRun(Exception):
    """A SYSTEM instruction retired and the run returns (hcall, syscall, break, halt)."""

    def __init__(self, reason: ExitReason, next_pc: int, trap: Trap | None = None) -> None:
        super().__init__(reason.value)
        self.reason, self.next_pc, self.trap = reason, next_pc, trap


class ExecEnv(Protocol):
    """What the closures reach: the CPU's registers, memory views and MMU."""
    regs: list[int]
    memory: object      # MachineMemory (typed views u8/s8/u16/s16/u32)
    mmu: object         # paravisor.isa.mmu.Mmu

    def sync_translation(self, cpu: CPUState) -> None: ...


class OpShape(Enum):
    BODY = "body"
    TRANSFER = "transfer"
    SYSTEM = "system"


def op_shape(insn: Instruction) -> OpShape:
    """Which closure shape `execute_<insn.mnemonic>` returns."""
    if insn.kind in (Kind.BRANCH, Kind.JUMP):
        return OpShape.TRANSFER
    if insn.kind in (Kind.SYSTEM, Kind.CONTROL):
        return OpShape.SYSTEM
    return OpShape.BODY


def factory_for(insn: Instruction) -> Callable[[Decoded, int, ExecEnv], Callable]:
    """The `execute_<mnemonic>` factory of `insn`."""
    return globals()["execute_" + insn.mnemonic]


def _nop() -> None:
    """A BODY op with no effect (an ALU op writing r0, fence)."""


# --- ALU: register-register ------------------------------------------------------------

def _binary(d: Decoded, env: ExecEnv, fn: Callable[[int, int], int]) -> Callable[[], None]:
    """rd = fn(rs1, rs2) for a total function (no faults); masked by `fn` itself."""
    regs, rd, a, b = env.regs, d.rd, d.rs1, d.rs2
    if rd == 0:
        return _nop

    def op() -> None:
        regs[rd] = fn(regs[a], regs[b])
    return op


def execute_add(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    regs, rd, a, b = env.regs, d.rd, d.rs1, d.rs2
    if rd == 0:
        return _nop

    def op() -> None:
        regs[rd] = (regs[a] + regs[b]) & M
    return op


def execute_sub(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    regs, rd, a, b = env.regs, d.rd, d.rs1, d.rs2
    if rd == 0:
        return _nop

    def op() -> None:
        regs[rd] = (regs[a] - regs[b]) & M
    return op


def execute_and(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _binary(d, env, lambda x, y: x & y)


def execute_or(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _binary(d, env, lambda x, y: x | y)


def execute_xor(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _binary(d, env, lambda x, y: x ^ y)


def execute_sll(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _binary(d, env, lambda x, y: (x << (y & 31)) & M)


def execute_srl(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _binary(d, env, lambda x, y: x >> (y & 31))


def execute_sra(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    # (x ^ SIGN) - SIGN reinterprets the unsigned word as a signed one.
    return _binary(d, env, lambda x, y: (((x ^ SIGN) - SIGN) >> (y & 31)) & M)


def execute_slt(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    # Flipping the sign bit maps signed order onto unsigned order.
    return _binary(d, env, lambda x, y: int(x ^ SIGN < y ^ SIGN))


def execute_sltu(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _binary(d, env, lambda x, y: int(x < y))


def execute_mul(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _binary(d, env, lambda x, y: (x * y) & M)


def execute_mulh(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _binary(d, env, lambda x, y: (((x ^ SIGN) - SIGN) * ((y ^ SIGN) - SIGN) >> 32) & M)


def execute_mulhu(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _binary(d, env, lambda x, y: (x * y) >> 32)


def _signed_div(x: int, y: int) -> int:
    """Quotient of signed words, truncated toward zero (unmasked)."""
    sx, sy = (x ^ SIGN) - SIGN, (y ^ SIGN) - SIGN
    q = abs(sx) // abs(sy)
    return -q if (sx < 0) != (sy < 0) else q


def _division(d: Decoded, pc: int, env: ExecEnv,
              fn: Callable[[int, int], int]) -> Callable[[], None]:
    """rd = fn(rs1, rs2); #DE (a fault) when rs2 is zero, even if rd is r0."""
    regs, rd, a, b = env.regs, d.rd, d.rs1, d.rs2

    def op() -> None:
        y = regs[b]
        if y == 0:
            raise GuestFault(Vector.DIVIDE_ERROR, pc)
        if rd:
            regs[rd] = fn(regs[a], y) & M
    return op


def execute_div(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    # INT_MIN / -1 = 2**31 before masking, which is INT_MIN again.
    return _division(d, pc, env, _signed_div)


def execute_divu(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _division(d, pc, env, lambda x, y: x // y)


def execute_rem(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    # x - trunc(x / y) * y has the sign of the dividend; INT_MIN % -1 comes out 0.
    return _division(d, pc, env,
                     lambda x, y: ((x ^ SIGN) - SIGN) - _signed_div(x, y) * ((y ^ SIGN) - SIGN))


def execute_remu(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _division(d, pc, env, lambda x, y: x % y)


# --- ALU: register-immediate -------------------------------------------------------------

def _with_imm(d: Decoded, env: ExecEnv, fn: Callable[[int], int]) -> Callable[[], None]:
    """rd = fn(rs1) where `fn` has the immediate baked in."""
    regs, rd, a = env.regs, d.rd, d.rs1
    if rd == 0:
        return _nop

    def op() -> None:
        regs[rd] = fn(regs[a])
    return op


def execute_addi(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    regs, rd, a, imm = env.regs, d.rd, d.rs1, d.imm
    if rd == 0:
        return _nop

    def op() -> None:
        regs[rd] = (regs[a] + imm) & M
    return op


def execute_andi(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    imm = d.imm
    return _with_imm(d, env, lambda x: x & imm)


def execute_ori(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    imm = d.imm
    return _with_imm(d, env, lambda x: x | imm)


def execute_xori(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    imm = d.imm
    return _with_imm(d, env, lambda x: x ^ imm)


def execute_slli(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    sh = d.imm
    return _with_imm(d, env, lambda x: (x << sh) & M)


def execute_srli(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    sh = d.imm
    return _with_imm(d, env, lambda x: x >> sh)


def execute_srai(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    sh = d.imm
    return _with_imm(d, env, lambda x: (((x ^ SIGN) - SIGN) >> sh) & M)


def execute_slti(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    bound = (d.imm & M) ^ SIGN
    return _with_imm(d, env, lambda x: int(x ^ SIGN < bound))


def execute_sltiu(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    bound = d.imm & M    # sign-extended, then compared unsigned
    return _with_imm(d, env, lambda x: int(x < bound))


def _constant(d: Decoded, env: ExecEnv, value: int) -> Callable[[], None]:
    regs, rd = env.regs, d.rd
    if rd == 0:
        return _nop

    def op() -> None:
        regs[rd] = value
    return op


def execute_lui(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _constant(d, env, (d.imm << 12) & M)


def execute_auipc(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _constant(d, env, (pc + (d.imm << 12)) & M)


# --- Loads and stores --------------------------------------------------------------------

def _load(d: Decoded, pc: int, env: ExecEnv, view_name: str, size: int) -> Callable[[], None]:
    """rd = view[maddr]; the view's item type does the sign or zero extension."""
    regs, rd, a, imm = env.regs, d.rd, d.rs1, d.imm
    mmu = env.mmu
    rtlb, translate = mmu.rtlb, mmu.translate_read
    view = getattr(env.memory, view_name)
    shift, amask = size.bit_length() - 1, size - 1

    def op() -> None:
        va = (regs[a] + imm) & M
        if va & amask:
            raise GuestFault(Vector.ALIGNMENT_CHECK, pc, 0, va)
        off = rtlb.get(va >> 12)
        if off is None:
            off = translate(va, pc)
        value = view[(va + off) >> shift] & M
        if rd:
            regs[rd] = value
    return op


def execute_lb(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _load(d, pc, env, "s8", 1)


def execute_lbu(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _load(d, pc, env, "u8", 1)


def execute_lh(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _load(d, pc, env, "s16", 2)


def execute_lhu(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _load(d, pc, env, "u16", 2)


def execute_lw(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _load(d, pc, env, "u32", 4)


def _store(d: Decoded, pc: int, env: ExecEnv, view_name: str, size: int) -> Callable[[], None]:
    """view[maddr] = rs2; the fast path only ever hits frames nobody watches."""
    regs, b, a, imm = env.regs, d.rs2, d.rs1, d.imm
    mmu = env.mmu
    wtlb, slow_store = mmu.wtlb, mmu.store
    view = getattr(env.memory, view_name)
    shift, amask, vmask = size.bit_length() - 1, size - 1, (1 << (8 * size)) - 1

    def op() -> None:
        va = (regs[a] + imm) & M
        if va & amask:
            raise GuestFault(Vector.ALIGNMENT_CHECK, pc, 0, va)
        off = wtlb.get(va >> 12)
        if off is None:
            slow_store(va, size, regs[b] & vmask, pc)
        else:
            view[(va + off) >> shift] = regs[b] & vmask
    return op


def execute_sb(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _store(d, pc, env, "u8", 1)


def execute_sh(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _store(d, pc, env, "u16", 2)


def execute_sw(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _store(d, pc, env, "u32", 4)


# --- Atomics -------------------------------------------------------------------------------

def _atomic(d: Decoded, pc: int, env: ExecEnv,
            update: Callable[[int, int, int], int | None]) -> Callable[[], None]:
    """old = mem32[rs1]; new = update(old, rd, rs2) (None: no store); rd = old.
    Always a write access (translation needs W and sets D), even when nothing is stored."""
    regs, rd, a, b = env.regs, d.rd, d.rs1, d.rs2
    mmu = env.mmu
    wtlb, translate, written = mmu.wtlb, mmu.translate_write, mmu.written
    u32 = env.memory.u32

    def op() -> None:
        va = regs[a]
        if va & 3:
            raise GuestFault(Vector.ALIGNMENT_CHECK, pc, 0, va)
        off = wtlb.get(va >> 12)
        fast = off is not None
        if not fast:
            off = translate(va, pc)
        index = (va + off) >> 2
        old = u32[index]
        new = update(old, regs[rd], regs[b])
        if new is not None:
            u32[index] = new & M   # registers hold unsigned words; mask anyway
        if rd:
            regs[rd] = old
        if new is not None and not fast:
            written(va + off, pc)   # may raise Resync, after the instruction completed
    return op


def execute_cas(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _atomic(d, pc, env, lambda old, expected, new: new if old == expected else None)


def execute_amoadd(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _atomic(d, pc, env, lambda old, _rd, value: (old + value) & M)


def execute_amoswap(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    return _atomic(d, pc, env, lambda old, _rd, value: value)


def execute_fence(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], None]:
    # One vCPU runs at a time and every access is performed in order: nothing to do.
    return _nop


# --- Branches and jumps (TRANSFER: return the next pc) --------------------------------------

def _branch(d: Decoded, pc: int, env: ExecEnv,
            taken: Callable[[int, int], bool]) -> Callable[[], int]:
    regs, a, b = env.regs, d.rs1, d.rs2
    target, fall = (pc + 4 * d.imm) & M, (pc + 4) & M

    def op() -> int:
        return target if taken(regs[a], regs[b]) else fall
    return op


def execute_beq(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], int]:
    regs, a, b = env.regs, d.rs1, d.rs2
    target, fall = (pc + 4 * d.imm) & M, (pc + 4) & M

    def op() -> int:
        return target if regs[a] == regs[b] else fall
    return op


def execute_bne(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], int]:
    regs, a, b = env.regs, d.rs1, d.rs2
    target, fall = (pc + 4 * d.imm) & M, (pc + 4) & M

    def op() -> int:
        return target if regs[a] != regs[b] else fall
    return op


def execute_blt(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], int]:
    return _branch(d, pc, env, lambda x, y: x ^ SIGN < y ^ SIGN)


def execute_bge(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], int]:
    return _branch(d, pc, env, lambda x, y: x ^ SIGN >= y ^ SIGN)


def execute_bltu(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], int]:
    return _branch(d, pc, env, lambda x, y: x < y)


def execute_bgeu(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], int]:
    return _branch(d, pc, env, lambda x, y: x >= y)


def execute_jal(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], int]:
    regs, rd = env.regs, d.rd
    target, link = (pc + 4 * d.imm) & M, (pc + 4) & M

    def op() -> int:
        if rd:
            regs[rd] = link
        return target
    return op


def execute_jalr(d: Decoded, pc: int, env: ExecEnv) -> Callable[[], int]:
    regs, rd, a, imm = env.regs, d.rd, d.rs1, d.imm
    link = (pc + 4) & M

    def op() -> int:
        target = (regs[a] + imm) & M   # read before the link write: rd may be rs1
        if rd:
            regs[rd] = link
        return target
    return op


# --- SYSTEM and CONTROL (called as op(cpu) with cpu.pc and cpu.instret exact) ---------------

def execute_hcall(d: Decoded, pc: int, env: ExecEnv) -> Callable[[CPUState], int]:
    def op(cpu: CPUState) -> int:
        raise StopRun(ExitReason.HYPERCALL, (pc + 4) & M)
    return op


def _trap_after(vector: Vector, pc: int) -> Callable[[CPUState], int]:
    nxt = (pc + 4) & M

    def op(cpu: CPUState) -> int:
        raise StopRun(ExitReason.TRAP, nxt, Trap(vector, nxt))
    return op


def execute_syscall(d: Decoded, pc: int, env: ExecEnv) -> Callable[[CPUState], int]:
    return _trap_after(Vector.SYSCALL, pc)


def execute_break(d: Decoded, pc: int, env: ExecEnv) -> Callable[[CPUState], int]:
    return _trap_after(Vector.BREAKPOINT, pc)


def execute_halt(d: Decoded, pc: int, env: ExecEnv) -> Callable[[CPUState], int]:
    def op(cpu: CPUState) -> int:
        raise StopRun(ExitReason.HALT, (pc + 4) & M)
    return op


def read_cr(cpu: CPUState, cr: CR) -> int:
    """The value `mfcr` reads: STATUS shows the current ring, INSTRET the low 32 bits."""
    if cr == CR.STATUS:
        return (cpu.cr[CR.STATUS] & ~STATUS_RING_MASK) | (cpu.ring << STATUS_RING_SHIFT)
    if cr == CR.INSTRET:
        return cpu.instret & M
    return cpu.cr[cr]


def write_cr(cpu: CPUState, cr: CR, value: int) -> None:
    """What `mtcr` does: STATUS keeps only its writable bits, PTBR its frame bits,
    INSTRET ignores the write."""
    if cr == CR.STATUS:
        cpu.cr[CR.STATUS] = value & STATUS_WRITABLE
    elif cr == CR.PTBR:
        cpu.cr[CR.PTBR] = value & PTBR_MASK
    elif cr != CR.INSTRET:
        cpu.cr[cr] = value & M


def execute_mfcr(d: Decoded, pc: int, env: ExecEnv) -> Callable[[CPUState], int]:
    regs, rd, cr, nxt = env.regs, d.rd, CR(d.imm), (pc + 4) & M

    def op(cpu: CPUState) -> int:
        value = read_cr(cpu, cr)
        if rd:
            regs[rd] = value
        return nxt
    return op


def execute_mtcr(d: Decoded, pc: int, env: ExecEnv) -> Callable[[CPUState], int]:
    regs, a, cr, nxt = env.regs, d.rs1, CR(d.imm), (pc + 4) & M

    def op(cpu: CPUState) -> int:
        write_cr(cpu, cr, regs[a])
        if cr in (CR.STATUS, CR.PTBR):
            env.sync_translation(cpu)
        return nxt
    return op


def execute_tlbflush(d: Decoded, pc: int, env: ExecEnv) -> Callable[[CPUState], int]:
    # Translations are never stale in PV32, so there is nothing to drop.
    nxt = (pc + 4) & M
    return lambda cpu: nxt


def execute_invlpg(d: Decoded, pc: int, env: ExecEnv) -> Callable[[CPUState], int]:
    nxt = (pc + 4) & M
    return lambda cpu: nxt


def execute_rfe(d: Decoded, pc: int, env: ExecEnv) -> Callable[[CPUState], int]:
    def op(cpu: CPUState) -> int:
        status = cpu.cr[CR.STATUS]
        ring = (status & STATUS_PRING_MASK) >> STATUS_PRING_SHIFT
        if ring == 2:   # no ring 2 in PV32: returning there is a protection fault
            raise GuestFault(Vector.GENERAL_PROTECTION, pc)
        ie = STATUS_IE if status & STATUS_PIE else 0
        cpu.cr[CR.STATUS] = (status & ~STATUS_IE) | ie
        cpu.ring = int(Ring(ring))
        env.sync_translation(cpu)
        return cpu.cr[CR.EPC]
    return op

