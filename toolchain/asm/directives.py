"""Assembler directives: one handler per directive, `handler(asm, stmt)`.

Every handler runs in both passes (the assembler resets section contents between
them).  Values that decide sizes (`.space`, `.align`) must be known in the first pass;
everything else may refer forward.  `.include` is expanded by the parser.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from paravisor.isa.table import encode
from paravisor.toolchain.asm.expr import Value, parse_expression
from paravisor.toolchain.asm.lexer import AsmError, Token
from paravisor.toolchain.elf import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
    SHT_NOBITS,
    SHT_NOTE,
    SHT_PROGBITS,
    STB_GLOBAL,
    STB_LOCAL,
    STT_FUNC,
    STT_NOTYPE,
    STT_OBJECT,
)

if TYPE_CHECKING:
    from paravisor.toolchain.asm.assembler import Assembler
    from paravisor.toolchain.asm.parser import Statement

Handler = Callable[["Assembler", "Statement"], None]
MAX_ALIGN_LOG2 = 16
MAX_SPACE = 1 << 24          # bytes of initialized data one .space may add
NOP_WORD = encode("addi", rd=0, rs1=0, imm=0).to_bytes(4, "little")

_SECTION_KINDS = (
    (".text", SHF_ALLOC | SHF_EXECINSTR, SHT_PROGBITS),
    (".rodata", SHF_ALLOC, SHT_PROGBITS),
    (".data", SHF_ALLOC | SHF_WRITE, SHT_PROGBITS),
    (".bss", SHF_ALLOC | SHF_WRITE, SHT_NOBITS),
    (".note", SHF_ALLOC, SHT_NOTE),
)
_TYPE_NAMES = {"function": STT_FUNC, "object": STT_OBJECT, "notype": STT_NOTYPE,
               "stt_func": STT_FUNC, "stt_object": STT_OBJECT, "stt_notype": STT_NOTYPE}


def default_section_kind(name: str) -> tuple[int, int]:
    """(flags, type) of a section named `name` when no flags are given: by the name's
    prefix (.text.boot is code); any other name is allocated read-only data."""
    for prefix, flags, stype in _SECTION_KINDS:
        if name == prefix or name.startswith(prefix + "."):
            return flags, stype
    return SHF_ALLOC, SHT_PROGBITS


# --- operand helpers ---------------------------------------------------------------

def _count(stmt: Statement, lo: int, hi: int, usage: str) -> None:
    if not lo <= len(stmt.args) <= hi:
        raise AsmError(stmt.name_col, f"usage: {stmt.name} {usage}".rstrip())


def _value(asm: Assembler, stmt: Statement, i: int) -> Value:
    return asm.evaluate(parse_expression(stmt.args[i], stmt.end_col))


def _constant(asm: Assembler, stmt: Statement, i: int, what: str, lo: int, hi: int) -> int:
    """Argument `i` as a constant in lo..hi, known already in the first pass."""
    value = _value(asm, stmt, i)
    col = stmt.arg_cols[i]
    if value.unknown:
        raise AsmError(col, f"{what} must be a constant defined before this line")
    if not value.is_absolute:
        raise AsmError(col, f"{what} must be a constant, not the address {value.describe()}")
    if not lo <= value.offset <= hi:
        raise AsmError(col, f"{what} {value.offset} out of range {lo}..{hi}")
    return value.offset


def _name(stmt: Statement, i: int) -> str:
    toks = stmt.args[i]
    if len(toks) != 1 or toks[0].kind != "ident" or toks[0].text == ".":
        raise AsmError(stmt.arg_cols[i], "expected a symbol name")
    return toks[0].text


def _string(stmt: Statement, i: int) -> bytes:
    toks = stmt.args[i]
    if len(toks) != 1 or toks[0].kind != "str":
        raise AsmError(stmt.arg_cols[i], 'expected a "string"')
    return bytes(toks[0].value)   # type: ignore[arg-type]


# --- sections ----------------------------------------------------------------------

def _simple_section(name: str) -> Handler:
    def handler(asm: Assembler, stmt: Statement) -> None:
        _count(stmt, 0, 0, "")
        asm.switch_section(name)
    return handler


def _section(asm: Assembler, stmt: Statement) -> None:
    _count(stmt, 1, 3, 'NAME[, "flags"[, @progbits|@nobits|@note]]')
    toks = stmt.args[0]
    if len(toks) == 1 and toks[0].kind == "str":
        name = _string(stmt, 0).decode(errors="replace")
    else:
        name = _name(stmt, 0)
    flags = stype = None
    if len(stmt.args) > 1:
        flags = 0
        for ch in _string(stmt, 1).decode(errors="replace"):
            bit = {"a": SHF_ALLOC, "w": SHF_WRITE, "x": SHF_EXECINSTR}.get(ch)
            if bit is None:
                raise AsmError(stmt.arg_cols[1], f"unknown section flag {ch!r} (use a, w, x)")
            flags |= bit
    if len(stmt.args) > 2:
        stype = _section_type(stmt.args[2], stmt.arg_cols[2])
    existing = asm.sections.get(name)
    if existing is not None and (flags not in (None, existing.flags)
                                 or stype not in (None, existing.type)):
        raise AsmError(stmt.arg_cols[0], f"section {name} was declared with other flags")
    if flags is not None and stype is None:
        stype = default_section_kind(name)[1]
    asm.switch_section(name, flags, stype)


def _section_type(toks: list[Token], col: int) -> int:
    text = "".join(t.text for t in toks).lstrip("@%")
    kinds = {"progbits": SHT_PROGBITS, "nobits": SHT_NOBITS, "note": SHT_NOTE}
    if text not in kinds:
        raise AsmError(col, "section type must be @progbits, @nobits or @note")
    return kinds[text]


# --- symbols -----------------------------------------------------------------------

def _binding(bind: int) -> Handler:
    def handler(asm: Assembler, stmt: Statement) -> None:
        _count(stmt, 1, 1 << 16, "NAME[, NAME...]")
        for i in range(len(stmt.args)):
            asm.symbol(_name(stmt, i)).bind = bind
    return handler


def _equ(asm: Assembler, stmt: Statement) -> None:
    _count(stmt, 2, 2, "NAME, EXPR")
    name = _name(stmt, 0)
    sym = asm.symbol(name)
    if sym.is_label:
        raise AsmError(stmt.arg_cols[0], f"'{name}' is already defined as a label")
    value = _value(asm, stmt, 1)
    if value.modifier:
        raise AsmError(stmt.arg_cols[1], "a symbol cannot be set to %hi/%lo of an address")
    sym.value, sym.defined_at = value, stmt.line


def _type(asm: Assembler, stmt: Statement) -> None:
    _count(stmt, 2, 2, "NAME, @function|@object")
    kind = "".join(t.text for t in stmt.args[1]).lstrip("@%").lower()
    if kind not in _TYPE_NAMES:
        raise AsmError(stmt.arg_cols[1], "symbol type must be @function, @object or @notype")
    asm.symbol(_name(stmt, 0)).type = _TYPE_NAMES[kind]


def _size(asm: Assembler, stmt: Statement) -> None:
    _count(stmt, 2, 2, "NAME, EXPR")
    sym = asm.symbol(_name(stmt, 0))
    value = _value(asm, stmt, 1)
    if value.unknown:
        return   # first pass, forward reference: the second pass records it
    if not value.is_absolute or not 0 <= value.offset <= 0xFFFF_FFFF:
        raise AsmError(stmt.arg_cols[1], f".size must be a constant 0..0xffffffff, "
                                         f"not {value.describe()}")
    sym.size = value.offset


# --- data --------------------------------------------------------------------------

def _data(width: int) -> Handler:
    def handler(asm: Assembler, stmt: Statement) -> None:
        _count(stmt, 1, 1 << 20, "EXPR[, EXPR...]")
        for i in range(len(stmt.args)):
            asm.emit_value(_value(asm, stmt, i), width, stmt.arg_cols[i])
    return handler


def _ascii(terminate: bool) -> Handler:
    def handler(asm: Assembler, stmt: Statement) -> None:
        _count(stmt, 1, 1 << 20, '"string"[, "string"...]')
        for i in range(len(stmt.args)):
            asm.emit(_string(stmt, i) + (b"\0" if terminate else b""))
    return handler


def _pad(asm: Assembler, stmt: Statement, align: int) -> None:
    sec = asm.current
    fill = _constant(asm, stmt, 1, "fill byte", -128, 255) & 0xFF if len(stmt.args) > 1 \
        else None
    count = -sec.size % align
    sec.align = max(sec.align, align)
    if fill is None and sec.flags & SHF_EXECINSTR and sec.size % 4 == 0:
        asm.emit(NOP_WORD * (count // 4))   # code falls through padding as nops
    else:
        asm.emit(bytes([fill or 0]) * count)


def _align(asm: Assembler, stmt: Statement) -> None:
    _count(stmt, 1, 2, "LOG2[, FILL]")
    _pad(asm, stmt, 1 << _constant(asm, stmt, 0, ".align exponent", 0, MAX_ALIGN_LOG2))


def _balign(asm: Assembler, stmt: Statement) -> None:
    _count(stmt, 1, 2, "BYTES[, FILL]")
    align = _constant(asm, stmt, 0, ".balign", 1, 1 << MAX_ALIGN_LOG2)
    if align & (align - 1):
        raise AsmError(stmt.arg_cols[0], f".balign {align} is not a power of two")
    _pad(asm, stmt, align)


def _space(asm: Assembler, stmt: Statement) -> None:
    _count(stmt, 1, 2, "SIZE[, FILL]")
    limit = 0xFFFF_FFFF if asm.current.type == SHT_NOBITS else MAX_SPACE
    size = _constant(asm, stmt, 0, "size", 0, limit)
    fill = _constant(asm, stmt, 1, "fill byte", -128, 255) & 0xFF if len(stmt.args) > 1 else 0
    if asm.current.type == SHT_NOBITS and not fill:
        asm.current.nobits_size += size   # no bytes to materialize
    else:
        asm.emit(bytes([fill]) * size)


def _elfnote(asm: Assembler, stmt: Statement) -> None:
    """`.elfnote "Xen", 6, "linux"`: one ELF note in section .note.<name>; the
    descriptor is a NUL-terminated string or one 32-bit word (which may be an address)."""
    _count(stmt, 3, 3, '"NAME", TYPE, "string" | EXPR')
    name = _string(stmt, 0)
    if not name or b"\0" in name:
        raise AsmError(stmt.arg_cols[0], "note name must be non-empty and contain no NUL")
    note_type = _value(asm, stmt, 1)
    toks = stmt.args[2]
    desc_string = _string(stmt, 2) + b"\0" if len(toks) == 1 and toks[0].kind == "str" \
        else None
    sec = asm.get_section(".note." + name.decode(errors="replace"))
    descsz = len(desc_string) if desc_string is not None else 4
    for word in (len(name) + 1, descsz):
        asm.emit_value(Value(word), 4, stmt.name_col, sec)
    asm.emit_value(note_type, 4, stmt.arg_cols[1], sec)
    asm.emit(_padded(name + b"\0"), sec)
    if desc_string is not None:
        asm.emit(_padded(desc_string), sec)
    else:
        asm.emit_value(_value(asm, stmt, 2), 4, stmt.arg_cols[2], sec)


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


DIRECTIVES: dict[str, Handler] = {
    ".text": _simple_section(".text"), ".data": _simple_section(".data"),
    ".rodata": _simple_section(".rodata"), ".bss": _simple_section(".bss"),
    ".section": _section,
    ".global": _binding(STB_GLOBAL), ".globl": _binding(STB_GLOBAL),
    ".local": _binding(STB_LOCAL),
    ".equ": _equ, ".set": _equ, ".type": _type, ".size": _size,
    ".byte": _data(1), ".half": _data(2), ".short": _data(2), ".word": _data(4),
    ".long": _data(4), ".ascii": _ascii(False), ".asciz": _ascii(True),
    ".string": _ascii(True), ".align": _align, ".p2align": _align, ".balign": _balign,
    ".space": _space, ".zero": _space, ".elfnote": _elfnote,
}
