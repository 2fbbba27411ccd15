"""One `lower_<mnemonic>` per row of the ISA table: emit its LLVM IR.

Each function takes the `RegionEmitter` (positioned at the instruction, `em.pc`) and the
decoded instruction, and mirrors `execute_<mnemonic>` in paravisor.isa.semantics: the
interpreter is the specification.  Whatever the interpreter would do slowly or
exceptionally (a TLB miss, misalignment, division by zero, SYSTEM and CONTROL
instructions) is left to it with `em.require` / `em.step_here`, so faults are precise by
construction.  Branches and jumps end the block with `em.branch` / `em.goto*`.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from paravisor.isa.table import INSTRUCTIONS, WORD_MASK, Decoded, Privilege
from paravisor.jit.emitter import I32, I64, RegionEmitter, const32
from paravisor.jit.softmmu import EXIT_BREAK, EXIT_HCALL, EXIT_SYSCALL

Lowering = Callable[[RegionEmitter, Decoded], None]
M = WORD_MASK


def lowering_for(mnemonic: str) -> Lowering:
    """The `lower_<mnemonic>` function (KeyError if the table row has none)."""
    fn = globals().get("lower_" + mnemonic)
    if fn is None:
        raise KeyError(mnemonic)
    return fn


def _binary(em: RegionEmitter, d: Decoded,
            fn: Callable[[ir.IRBuilder, ir.Value, ir.Value], ir.Value]) -> None:
    if d.rd:
        em.set_reg(d.rd, fn(em.b, em.reg(d.rs1), em.reg(d.rs2)))


def _flag(b: ir.IRBuilder, cond: ir.Value) -> ir.Value:
    return b.zext(cond, I32)


# --- ALU: register-register ------------------------------------------------------------

def lower_add(em: RegionEmitter, d: Decoded) -> None:
    _binary(em, d, lambda b, x, y: b.add(x, y))


def lower_sub(em: RegionEmitter, d: Decoded) -> None:
    _binary(em, d, lambda b, x, y: b.sub(x, y))


def lower_and(em: RegionEmitter, d: Decoded) -> None:
    _binary(em, d, lambda b, x, y: b.and_(x, y))


def lower_or(em: RegionEmitter, d: Decoded) -> None:
    _binary(em, d, lambda b, x, y: b.or_(x, y))


def lower_xor(em: RegionEmitter, d: Decoded) -> None:
    _binary(em, d, lambda b, x, y: b.xor(x, y))


# LLVM shifts by >= 32 are poison: the ISA uses the low five bits, so mask first.
def lower_sll(em: RegionEmitter, d: Decoded) -> None:
    _binary(em, d, lambda b, x, y: b.shl(x, b.and_(y, const32(31))))


def lower_srl(em: RegionEmitter, d: Decoded) -> None:
    _binary(em, d, lambda b, x, y: b.lshr(x, b.and_(y, const32(31))))


def lower_sra(em: RegionEmitter, d: Decoded) -> None:
    _binary(em, d, lambda b, x, y: b.ashr(x, b.and_(y, const32(31))))


def lower_slt(em: RegionEmitter, d: Decoded) -> None:
    _binary(em, d, lambda b, x, y: _flag(b, b.icmp_signed("<", x, y)))


def lower_sltu(em: RegionEmitter, d: Decoded) -> None:
    _binary(em, d, lambda b, x, y: _flag(b, b.icmp_unsigned("<", x, y)))


def lower_mul(em: RegionEmitter, d: Decoded) -> None:
    _binary(em, d, lambda b, x, y: b.mul(x, y))


def _high_product(b: ir.IRBuilder, x: ir.Value, y: ir.Value, signed: bool) -> ir.Value:
    widen = b.sext if signed else b.zext
    product = b.mul(widen(x, I64), widen(y, I64))
    return b.trunc(b.lshr(product, ir.Constant(I64, 32)), I32)


def lower_mulh(em: RegionEmitter, d: Decoded) -> None:
    _binary(em, d, lambda b, x, y: _high_product(b, x, y, signed=True))


def lower_mulhu(em: RegionEmitter, d: Decoded) -> None:
    _binary(em, d, lambda b, x, y: _high_product(b, x, y, signed=False))


def _division(em: RegionEmitter, d: Decoded, signed: bool, remainder: bool) -> None:
    """#DE (left to the interpreter) when rs2 is zero, even if rd is r0.  INT_MIN / -1
    overflows in LLVM (and traps on x86), so -1 is divided as 1: the quotient is then
    negated (INT_MIN stays INT_MIN) and the remainder is 0, as the ISA says."""
    b = em.b
    x, y = em.reg(d.rs1), em.reg(d.rs2)
    em.require(b.icmp_unsigned("!=", y, const32(0)))
    if not d.rd:
        return
    if not signed:
        em.set_reg(d.rd, b.urem(x, y) if remainder else b.udiv(x, y))
        return
    minus_one = b.icmp_unsigned("==", y, const32(-1))
    safe = b.select(minus_one, const32(1), y)
    if remainder:
        em.set_reg(d.rd, b.srem(x, safe))
    else:
        em.set_reg(d.rd, b.select(minus_one, b.sub(const32(0), x), b.sdiv(x, safe)))


def lower_div(em: RegionEmitter, d: Decoded) -> None:
    _division(em, d, signed=True, remainder=False)


def lower_divu(em: RegionEmitter, d: Decoded) -> None:
    _division(em, d, signed=False, remainder=False)


def lower_rem(em: RegionEmitter, d: Decoded) -> None:
    _division(em, d, signed=True, remainder=True)


def lower_remu(em: RegionEmitter, d: Decoded) -> None:
    _division(em, d, signed=False, remainder=True)


# --- ALU: register-immediate -----------------------------------------------------------

def _with_imm(em: RegionEmitter, d: Decoded,
              fn: Callable[[ir.IRBuilder, ir.Value, ir.Constant], ir.Value]) -> None:
    if d.rd:
        em.set_reg(d.rd, fn(em.b, em.reg(d.rs1), const32(d.imm)))


def lower_addi(em: RegionEmitter, d: Decoded) -> None:
    _with_imm(em, d, lambda b, x, k: b.add(x, k))


def lower_andi(em: RegionEmitter, d: Decoded) -> None:
    _with_imm(em, d, lambda b, x, k: b.and_(x, k))


def lower_ori(em: RegionEmitter, d: Decoded) -> None:
    _with_imm(em, d, lambda b, x, k: b.or_(x, k))


def lower_xori(em: RegionEmitter, d: Decoded) -> None:
    _with_imm(em, d, lambda b, x, k: b.xor(x, k))


def lower_slli(em: RegionEmitter, d: Decoded) -> None:
    _with_imm(em, d, lambda b, x, k: b.shl(x, k))


def lower_srli(em: RegionEmitter, d: Decoded) -> None:
    _with_imm(em, d, lambda b, x, k: b.lshr(x, k))


def lower_srai(em: RegionEmitter, d: Decoded) -> None:
    _with_imm(em, d, lambda b, x, k: b.ashr(x, k))


def lower_slti(em: RegionEmitter, d: Decoded) -> None:
    _with_imm(em, d, lambda b, x, k: _flag(b, b.icmp_signed("<", x, k)))


def lower_sltiu(em: RegionEmitter, d: Decoded) -> None:
    # const32 already holds sext(imm) as an unsigned word.
    _with_imm(em, d, lambda b, x, k: _flag(b, b.icmp_unsigned("<", x, k)))


def lower_lui(em: RegionEmitter, d: Decoded) -> None:
    em.set_reg(d.rd, const32(d.imm << 12))


def lower_auipc(em: RegionEmitter, d: Decoded) -> None:
    em.set_reg(d.rd, const32(em.pc + (d.imm << 12)))


# --- Loads and stores --------------------------------------------------------------------

def _load(em: RegionEmitter, d: Decoded, size: int, signed: bool) -> None:
    va = em.b.add(em.reg(d.rs1), const32(d.imm))
    value = em.load_guest(va, size, signed)   # performed even when rd is r0
    em.set_reg(d.rd, value)


def lower_lb(em: RegionEmitter, d: Decoded) -> None:
    _load(em, d, 1, signed=True)


def lower_lbu(em: RegionEmitter, d: Decoded) -> None:
    _load(em, d, 1, signed=False)


def lower_lh(em: RegionEmitter, d: Decoded) -> None:
    _load(em, d, 2, signed=True)


def lower_lhu(em: RegionEmitter, d: Decoded) -> None:
    _load(em, d, 2, signed=False)


def lower_lw(em: RegionEmitter, d: Decoded) -> None:
    _load(em, d, 4, signed=False)


def _store(em: RegionEmitter, d: Decoded, size: int) -> None:
    va = em.b.add(em.reg(d.rs1), const32(d.imm))
    em.store_guest(va, size, em.reg(d.rs2))


def lower_sb(em: RegionEmitter, d: Decoded) -> None:
    _store(em, d, 1)


def lower_sh(em: RegionEmitter, d: Decoded) -> None:
    _store(em, d, 2)


def lower_sw(em: RegionEmitter, d: Decoded) -> None:
    _store(em, d, 4)


# --- Atomics -------------------------------------------------------------------------------

def _atomic(em: RegionEmitter, d: Decoded,
            update: Callable[[ir.IRBuilder, ir.Value, ir.Value, ir.Value], ir.Value]) -> None:
    """old = mem32[rs1]; mem32[rs1] = update(old, rd, rs2); rd = old.  Always a write
    access, so it needs a write TLB entry (an unwatched frame): storing `old` back
    when cas fails is then indistinguishable from not storing."""
    b = em.b
    expected, value = em.reg(d.rd), em.reg(d.rs2)
    ptr = em.host_pointer(em.reg(d.rs1), 4, write=True)
    old = b.load(ptr, typ=I32, align=1)
    b.store(update(b, old, expected, value), ptr, align=1)
    em.set_reg(d.rd, old)


def lower_cas(em: RegionEmitter, d: Decoded) -> None:
    _atomic(em, d, lambda b, old, exp, new: b.select(b.icmp_unsigned("==", old, exp), new, old))


def lower_amoadd(em: RegionEmitter, d: Decoded) -> None:
    _atomic(em, d, lambda b, old, _exp, value: b.add(old, value))


def lower_amoswap(em: RegionEmitter, d: Decoded) -> None:
    _atomic(em, d, lambda b, old, _exp, value: value)


def lower_fence(em: RegionEmitter, d: Decoded) -> None:
    # Deterministic mode: one vCPU runs at a time, accesses in program order, nothing to
    # order.  Under --realtime other domains and dom0's services do run at the same time,
    # and neither this nor the plain load/store of _atomic orders or locks anything
    # against them (docs/design.md, section 8).
    return


# --- Branches and jumps (block terminators) -----------------------------------------------

def _branch(em: RegionEmitter, d: Decoded, op: str, signed: bool) -> None:
    compare = em.b.icmp_signed if signed else em.b.icmp_unsigned
    taken = compare(op, em.reg(d.rs1), em.reg(d.rs2))
    em.branch(taken, (em.pc + 4 * d.imm) & M, (em.pc + 4) & M)


def lower_beq(em: RegionEmitter, d: Decoded) -> None:
    _branch(em, d, "==", signed=False)


def lower_bne(em: RegionEmitter, d: Decoded) -> None:
    _branch(em, d, "!=", signed=False)


def lower_blt(em: RegionEmitter, d: Decoded) -> None:
    _branch(em, d, "<", signed=True)


def lower_bge(em: RegionEmitter, d: Decoded) -> None:
    _branch(em, d, ">=", signed=True)


def lower_bltu(em: RegionEmitter, d: Decoded) -> None:
    _branch(em, d, "<", signed=False)


def lower_bgeu(em: RegionEmitter, d: Decoded) -> None:
    _branch(em, d, ">=", signed=False)


def lower_jal(em: RegionEmitter, d: Decoded) -> None:
    em.set_reg(d.rd, const32(em.pc + 4))
    em.goto((em.pc + 4 * d.imm) & M)


def lower_jalr(em: RegionEmitter, d: Decoded) -> None:
    target = em.b.add(em.reg(d.rs1), const32(d.imm))   # before the link: rd may be rs1
    em.set_reg(d.rd, const32(em.pc + 4))
    em.goto_dynamic(target)   # a misaligned target misses the jump cache: #AC in Python


# --- SYSTEM and CONTROL ---------------------------------------------------------------------
# hcall, syscall and break leave native code directly (the commonest exits); every other
# one needs the ring, exact instret or changes translation, so the interpreter runs it
# (it also raises #GP for a privileged instruction in ring 1 or 3).

def lower_hcall(em: RegionEmitter, d: Decoded) -> None:
    em.require(em.b.icmp_unsigned("<=", em.ring(), const32(int(Privilege.KERNEL))))
    em.retire_and_exit(EXIT_HCALL)


def lower_syscall(em: RegionEmitter, d: Decoded) -> None:
    em.retire_and_exit(EXIT_SYSCALL)


def lower_break(em: RegionEmitter, d: Decoded) -> None:
    em.retire_and_exit(EXIT_BREAK)


def _leave_to_interpreter(em: RegionEmitter, d: Decoded) -> None:
    em.step_here()


lower_halt = lower_rfe = lower_mfcr = lower_mtcr = _leave_to_interpreter
lower_tlbflush = lower_invlpg = _leave_to_interpreter

MISSING = [insn.mnemonic for insn in INSTRUCTIONS if "lower_" + insn.mnemonic not in globals()]
if MISSING:   # a new table row needs its lowering before the JIT can load
    raise ImportError(f"no lowering for: {', '.join(MISSING)}")
