"""The assembler's output: its sections, symbols and relocations as an ELF object.

Symbol table order: one section symbol per section (relocations against local labels
use them, with the label's offset as addend), then named symbols.  Local names starting
with `.L` and numeric local labels stay out of the table, as in GNU as.
"""

from __future__ import annotations

from paravisor.toolchain.asm.assembler import Assembler, SymbolState
from paravisor.toolchain.asm.expr import Value
from paravisor.toolchain.elf import (
    ET_REL,
    SHN_ABS_NAME,
    SHN_UNDEF_NAME,
    STB_GLOBAL,
    STB_LOCAL,
    STT_SECTION,
    ElfFile,
    Relocation,
    Section,
    Symbol,
)


def build_object(asm: Assembler) -> ElfFile:
    """The ELF object of a finished (both passes, no errors) assembly."""
    elf = ElfFile(ET_REL)
    section_symbol: dict[str, int] = {}
    for sec in asm.sections.values():
        section_symbol[sec.name] = len(elf.symbols)
        elf.symbols.append(Symbol(sec.name, 0, sec.name, STB_LOCAL, STT_SECTION))
    named: dict[str, int] = {}
    for name, sym in asm.symbols.items():
        entry = _symbol(name, sym)
        if entry is not None:
            named[name] = len(elf.symbols)
            elf.symbols.append(entry)
    for sec in asm.sections.values():
        relocations = [_relocation(offset, rtype, value, section_symbol, named)
                       for offset, rtype, value in sec.relocs]
        elf.sections.append(Section(sec.name, sec.type, sec.flags, bytes(sec.data),
                                    sec.nobits_size, align=sec.align,
                                    relocations=relocations))
    return elf


def _symbol(name: str, sym: SymbolState) -> Symbol | None:
    if sym.value is None:
        if sym.bind == STB_GLOBAL or sym.referenced:
            return Symbol(name, 0, SHN_UNDEF_NAME, STB_GLOBAL, sym.type, sym.size)
        return None
    if sym.bind == STB_LOCAL and (name.startswith(".L") or sym.value.symbol):
        return None
    value = sym.value
    section = value.section if value.section is not None else SHN_ABS_NAME
    return Symbol(name, value.offset & 0xFFFF_FFFF, section, sym.bind, sym.type, sym.size)


def _relocation(offset: int, rtype: int, value: Value, section_symbol: dict[str, int],
                named: dict[str, int]) -> Relocation:
    # Addresses are 32-bit and wrap, so the addend is kept as a signed 32-bit number.
    addend = (value.offset + (1 << 31)) % (1 << 32) - (1 << 31)
    if value.section is not None:
        return Relocation(offset, rtype, section_symbol[value.section], addend)
    if value.symbol is not None:
        return Relocation(offset, rtype, named[value.symbol], addend)
    return Relocation(offset, rtype, None, addend)
