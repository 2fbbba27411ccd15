"""Instructions and pseudo-instructions: operand templates, expansions, encoding.

Real instructions come straight from the ISA table (their operand template is the
table's `syntax`).  Each pseudo-instruction is an operand template plus an expansion
into real instructions; every expansion has a fixed size except `li`, whose size the
first pass chooses from the constant (docs/toolchain.md lists every expansion).

`encode_immediate` decides, per immediate kind, whether a value is encoded now or
left to the linker as a relocation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from paravisor.isa.table import BY_MNEMONIC, IMM_RANGES, INSTRUCTIONS, Imm, Instruction
from paravisor.toolchain.asm.expr import Value
from paravisor.toolchain.asm.lexer import AsmError
from paravisor.toolchain.elf import (
    R_PV32_BRANCH16,
    R_PV32_HI20,
    R_PV32_JUMP20,
    R_PV32_LO12,
)

ZERO, RA, SP = 0, 1, 2


@dataclass(frozen=True)
class Emit:
    """One real instruction to encode: register fields and the immediate (if any)."""
    mnemonic: str
    regs: dict[str, int]
    imm: Value | None = None


# An operand value: a register number, a Value, or (Value, register) for imm(rs1).
OperandValue = int | Value | tuple[Value, int]
Expansion = Callable[[list[OperandValue], int], list[Emit]]


@dataclass(frozen=True)
class Pseudo:
    template: tuple[str, ...]
    expand: Expansion
    words: int        # size in words (li: the largest; the first pass may choose 1)


def real_template(insn: Instruction) -> tuple[str, ...]:
    return tuple(p.strip() for p in insn.syntax.split(",")) if insn.syntax else ()


def real_emit(insn: Instruction, values: list[OperandValue]) -> Emit:
    """The Emit for a real instruction from its operands in template order."""
    regs: dict[str, int] = {}
    imm: Value | None = None
    for kind, value in zip(real_template(insn), values, strict=True):
        if kind in ("rd", "rs1", "rs2"):
            regs[kind] = value   # type: ignore[assignment]
        elif kind in ("imm", "target", "cr"):
            imm = value          # type: ignore[assignment]
        elif kind == "imm(rs1)":
            imm, regs["rs1"] = value   # type: ignore[misc]
        else:   # "(rs1)"
            regs["rs1"] = value  # type: ignore[assignment]
    return Emit(insn.mnemonic, regs, imm)


def _v(n: int) -> Value:
    return Value(n)


def _swap_branch(real: str) -> Expansion:
    return lambda ops, _w: [Emit(real, {"rs1": ops[1], "rs2": ops[0]}, ops[2])]  # type: ignore[dict-item,list-item]


def _zero_branch(real: str) -> Expansion:
    return lambda ops, _w: [Emit(real, {"rs1": ops[0], "rs2": ZERO}, ops[1])]  # type: ignore[dict-item,list-item]


def _jal(link: int) -> Expansion:
    return lambda ops, _w: [Emit("jal", {"rd": link}, ops[0])]  # type: ignore[list-item]


def _li(ops: list[OperandValue], words: int) -> list[Emit]:
    rd, value = ops[0], ops[1]
    assert isinstance(rd, int) and isinstance(value, Value)
    if value.unknown:
        return [Emit("addi", {"rd": rd, "rs1": ZERO}, _v(0))] * words
    n = li_constant(value)
    u = n & 0xFFFF_FFFF
    if words == 1 and -0x8000 <= n <= 0x7FFF:
        return [Emit("addi", {"rd": rd, "rs1": ZERO}, _v(n))]
    if words == 1 and u & 0xFFF == 0:
        return [Emit("lui", {"rd": rd}, _v(u >> 12))]
    if words == 1:
        raise AsmError(0, "li: the constant changed between passes; define it before use")
    return [Emit("lui", {"rd": rd}, _v(u >> 12)),
            Emit("ori", {"rd": rd, "rs1": rd}, _v(u & 0xFFF))]


def li_constant(value: Value) -> int:
    """The 32-bit constant `li` loads; raises AsmError(col 0) if it is not one."""
    if not value.is_absolute:
        raise AsmError(0, f"li needs a constant, not the address {value.describe()}; "
                          "use la to load an address")
    if not -0x8000_0000 <= value.offset <= 0xFFFF_FFFF:
        raise AsmError(0, f"li: constant {value.offset} does not fit in 32 bits")
    return value.offset


def li_words(value: Value) -> int:
    """How many words `li` needs for `value` (2 while the value is still unknown)."""
    if value.unknown or not value.is_absolute:
        return 2
    n = value.offset
    return 1 if -0x8000 <= n <= 0x7FFF or n & 0xFFF == 0 else 2


def _la(ops: list[OperandValue], _words: int) -> list[Emit]:
    rd, value = ops[0], ops[1]
    assert isinstance(rd, int) and isinstance(value, Value)
    if value.modifier:
        raise AsmError(0, "la takes an address, not %hi/%lo")
    if value.unknown:
        hi = lo = _v(0)
    elif value.is_absolute:
        hi, lo = _v((value.offset & 0xFFFF_FFFF) >> 12), _v(value.offset & 0xFFF)
    else:
        hi = Value(value.offset, value.section, value.symbol, "hi")
        lo = Value(value.offset, value.section, value.symbol, "lo")
    return [Emit("lui", {"rd": rd}, hi), Emit("addi", {"rd": rd, "rs1": rd}, lo)]


def _pseudos() -> dict[str, Pseudo]:
    rr, one = ("rd", "rs1"), ("rs1",)
    p = {
        "nop": Pseudo((), lambda o, w: [Emit("addi", {"rd": ZERO, "rs1": ZERO}, _v(0))], 1),
        "mv": Pseudo(rr, lambda o, w: [Emit("addi", {"rd": o[0], "rs1": o[1]}, _v(0))], 1),
        "not": Pseudo(rr, lambda o, w: [Emit("sub", {"rd": o[0], "rs1": ZERO, "rs2": o[1]}),
                                        Emit("addi", {"rd": o[0], "rs1": o[0]}, _v(-1))], 2),
        "neg": Pseudo(rr, lambda o, w: [Emit("sub", {"rd": o[0], "rs1": ZERO, "rs2": o[1]})], 1),
        "seqz": Pseudo(rr, lambda o, w: [Emit("sltiu", {"rd": o[0], "rs1": o[1]}, _v(1))], 1),
        "snez": Pseudo(rr, lambda o, w: [Emit("sltu", {"rd": o[0], "rs1": ZERO, "rs2": o[1]})],
                       1),
        "beqz": Pseudo(("rs1", "target"), _zero_branch("beq"), 1),
        "bnez": Pseudo(("rs1", "target"), _zero_branch("bne"), 1),
        "j": Pseudo(("target",), _jal(ZERO), 1),
        "call": Pseudo(("target",), _jal(RA), 1),
        "tail": Pseudo(("target",), _jal(ZERO), 1),
        "jr": Pseudo(one, lambda o, w: [Emit("jalr", {"rd": ZERO, "rs1": o[0]}, _v(0))], 1),
        "ret": Pseudo((), lambda o, w: [Emit("jalr", {"rd": ZERO, "rs1": RA}, _v(0))], 1),
        "push": Pseudo(one, lambda o, w: [Emit("addi", {"rd": SP, "rs1": SP}, _v(-4)),
                                          Emit("sw", {"rs2": o[0], "rs1": SP}, _v(0))], 2),
        "pop": Pseudo(("rd",), lambda o, w: [Emit("lw", {"rd": o[0], "rs1": SP}, _v(0)),
                                             Emit("addi", {"rd": SP, "rs1": SP}, _v(4))], 2),
        "li": Pseudo(("rd", "imm"), _li, 2),
        "la": Pseudo(("rd", "imm"), _la, 2),
    }
    for name, real in (("bgt", "blt"), ("ble", "bge"), ("bgtu", "bltu"), ("bleu", "bgeu")):
        p[name] = Pseudo(("rs1", "rs2", "target"), _swap_branch(real), 1)
    return p   # type: ignore[return-value]


PSEUDOS: dict[str, Pseudo] = _pseudos()
TEMPLATES: dict[str, tuple[str, ...]] = {
    **{i.mnemonic: real_template(i) for i in INSTRUCTIONS},
    **{name: p.template for name, p in PSEUDOS.items()},
}


@dataclass(frozen=True)
class Encoded:
    """An immediate ready for the table's encoder, plus the relocation (if any)
    the linker must apply on top of it."""
    field: int
    reloc_type: int | None = None
    reloc_value: Value | None = None


_BRANCH_RELOC = {Imm.BRANCH16: R_PV32_BRANCH16, Imm.JUMP20: R_PV32_JUMP20}


def encode_immediate(insn: Instruction, value: Value, pc: Value) -> Encoded:
    """Encode `value` for `insn`'s immediate at address `pc` (section-relative), or
    defer it to a relocation.  Raises AsmError (col 0: the operand) when it cannot."""
    kind = insn.imm
    if value.unknown:
        return Encoded(0)
    if kind in _BRANCH_RELOC:
        return _encode_target(insn, value, pc)
    lo, hi = IMM_RANGES[kind]
    if value.is_absolute:
        if not lo <= value.offset <= hi:
            raise AsmError(0, f"immediate {value.offset} out of range {lo}..{hi} "
                              f"for {insn.mnemonic}")
        return Encoded(value.offset)
    if value.modifier == "lo" and kind in (Imm.SIGNED16, Imm.UNSIGNED16):
        return Encoded(0, R_PV32_LO12, value)
    if value.modifier == "hi" and kind == Imm.UPPER20:
        return Encoded(0, R_PV32_HI20, value)
    if value.modifier == "hi":
        raise AsmError(0, f"%hi() fits only lui's 20-bit immediate, not {insn.mnemonic}'s")
    if kind == Imm.UPPER20:
        raise AsmError(0, f"{insn.mnemonic} needs a constant or %hi(address), "
                          f"not {value.describe()}")
    if kind in (Imm.SIGNED16, Imm.UNSIGNED16):
        raise AsmError(0, f"the address {value.describe()} does not fit a 16-bit immediate: "
                          "use %lo(address) after lui %hi(address), or la")
    raise AsmError(0, f"{insn.mnemonic} needs a constant, not the address {value.describe()}")


def _encode_target(insn: Instruction, value: Value, pc: Value) -> Encoded:
    if value.modifier:
        raise AsmError(0, "a branch or jump target cannot use %hi/%lo")
    if value.section is None or value.section != pc.section:
        # Another section, an external symbol, or an absolute address: the linker
        # knows both ends (an absolute target is a relocation against no symbol).
        return Encoded(0, _BRANCH_RELOC[insn.imm], value)
    delta = value.offset - pc.offset
    if delta % 4:
        raise AsmError(0, f"{insn.mnemonic} target is {delta} bytes away, not a whole "
                          "number of instructions")
    lo, hi = IMM_RANGES[insn.imm]
    if not lo <= delta // 4 <= hi:
        raise AsmError(0, f"{insn.mnemonic} target is {delta} bytes away, out of range "
                          f"{4 * lo}..{4 * hi}")
    return Encoded(delta // 4)


def real_instruction(mnemonic: str) -> Instruction | None:
    return BY_MNEMONIC.get(mnemonic)
