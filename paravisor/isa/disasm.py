"""The PV32 disassembler, driven only by the ISA table.

`disassemble(word, pc)` renders one instruction word the way the assembler reads it:
the mnemonic, then the operands in the order of the table's `syntax` template, with
registers by ABI name, control registers by name and branch/jump targets as absolute
hex addresses.  The hypervisor uses it for register dumps, objdump for listings.

Immediates are printed in the radix that reads best for their kind: signed ones
(addi, loads, stores) in decimal, bit masks (andi/ori/xori) and lui's upper 20 bits in
hex.  Every rendering without a `<sym>` annotation is valid assembler input, and
assembling it gives back the same word (tests/toolchain check this property).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping

from paravisor.isa.table import CR, REG_NAMES, WORD_MASK, Decoded, Imm, decode

# A symbolizer maps an address to a label such as "loop" or "loop+0x8", or None.
Symbolizer = Callable[[int], str | None]


def disassemble(word: int, pc: int, symbolize: Symbolizer | None = None, *,
                relative_targets: bool = False) -> str:
    """One instruction word at address `pc`, as assembler text.

    Targets of branches and jumps print as absolute addresses (`0x00010020`), followed
    by ` <label>` when `symbolize` names the address.  With `relative_targets` they
    print as `.+8` / `.-4` instead, which reassembles to the same word at any address.
    Words that are not valid PV32 instructions print as `.word 0x...`.
    """
    decoded = decode(word & WORD_MASK)
    if decoded is None:
        return f".word {word & WORD_MASK:#010x}"
    syntax = decoded.insn.syntax
    if not syntax:
        return decoded.mnemonic
    operands = [_operand(part.strip(), decoded, pc, symbolize, relative_targets)
                for part in syntax.split(",")]
    return f"{decoded.mnemonic} {', '.join(operands)}"


def branch_target(decoded: Decoded, pc: int) -> int | None:
    """The absolute target of a decoded branch or `jal` at `pc`, or None for others."""
    if decoded.insn.imm in (Imm.BRANCH16, Imm.JUMP20):
        return (pc + 4 * decoded.imm) & WORD_MASK
    return None


def _operand(template: str, d: Decoded, pc: int, symbolize: Symbolizer | None,
             relative: bool) -> str:
    if template in ("rd", "rs1", "rs2"):
        return REG_NAMES[getattr(d, template)]
    if template == "cr":
        return CR(d.imm).name.lower()
    if template == "imm":
        return _immediate(d)
    if template == "target":
        return _target(d, pc, symbolize, relative)
    if template == "imm(rs1)":
        return f"{_immediate(d)}({REG_NAMES[d.rs1]})"
    if template == "(rs1)":
        return f"({REG_NAMES[d.rs1]})"
    raise ValueError(f"ISA table: unknown operand template {template!r} in {d.mnemonic}")


def _immediate(d: Decoded) -> str:
    if d.insn.imm in (Imm.UNSIGNED16, Imm.UPPER20):
        return f"{d.imm:#x}"
    return str(d.imm)


def _target(d: Decoded, pc: int, symbolize: Symbolizer | None, relative: bool) -> str:
    offset = 4 * d.imm
    if relative:
        return f".{offset:+d}"
    target = (pc + offset) & WORD_MASK
    text = f"{target:#010x}"
    label = symbolize(target) if symbolize is not None else None
    return f"{text} <{label}>" if label else text


def symbolizer(symbols: Mapping[str, int]) -> Symbolizer:
    """A symbolizer naming each address after the nearest symbol at or below it
    (`name` or `name+0x10`).  Addresses below every symbol get None."""
    ordered = sorted((addr, name) for name, addr in symbols.items())
    addresses = [addr for addr, _ in ordered]

    def name_of(addr: int) -> str | None:
        i = bisect_right(addresses, addr)
        if i == 0:
            return None
        base, name = ordered[i - 1]
        # Several symbols at one address: prefer the first in sorted order, which
        # bisect gives as the last of the run; walk back to the start of the run.
        while i > 1 and ordered[i - 2][0] == base:
            i -= 1
            name = ordered[i - 1][1]
        return name if addr == base else f"{name}+{addr - base:#x}"

    return name_of
