"""`paravisor objdump`: listings of PV32 objects and images.

    -d  disassembly of the executable sections, symbols as labels, `<sym+off>` targets
        (for an object, addresses are section offsets and relocations are shown under
        the instruction they patch)
    -h  section headers      -t  symbol table      -r  relocations (objects)
"""

from __future__ import annotations

from paravisor.isa.disasm import disassemble, symbolizer
from paravisor.toolchain.elf import (
    ET_EXEC,
    RELOC_NAMES,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
    SHN_ABS_NAME,
    SHN_UNDEF_NAME,
    SHT_NOBITS,
    SHT_NOTE,
    STB_LOCAL,
    STT_FUNC,
    STT_OBJECT,
    STT_SECTION,
    ElfFile,
    Relocation,
    Section,
    read_elf,
)

_TYPE_NAMES = {SHT_NOBITS: "NOBITS", SHT_NOTE: "NOTE"}


def objdump(data: bytes, path: str, *, disassemble_code: bool = False,
            headers: bool = False, symbols: bool = False, relocations: bool = False) -> str:
    """The requested listings of the ELF file `data` (named `path` in messages), in
    the order -h, -t, -r, -d.  Raises ElfError for a malformed file."""
    elf = read_elf(data, path)
    kind = "image" if elf.type == ET_EXEC else "object"
    parts = [f"{path}:     PV32 ELF32 {kind}" + (f", entry {elf.entry:#010x}"
                                                 if elf.type == ET_EXEC else "")]
    if headers:
        parts.append(section_headers(elf))
    if symbols:
        parts.append(symbol_table(elf))
    if relocations:
        parts.append(relocation_records(elf))
    if disassemble_code:
        parts.append(disassembly(elf))
    return "\n\n".join(parts) + "\n"


def _flags(sec: Section) -> str:
    return "".join(c for c, bit in (("A", SHF_ALLOC), ("W", SHF_WRITE), ("X", SHF_EXECINSTR))
                   if sec.flags & bit)


def section_headers(elf: ElfFile) -> str:
    lines = ["Sections:", "Idx Name                 Type      Size      VMA       "
                          "File off  Align  Flags"]
    for i, sec in enumerate(elf.sections):
        lines.append(f"{i:3} {sec.name:20} {_TYPE_NAMES.get(sec.type, 'PROGBITS'):9} "
                     f"{sec.size:08x}  {sec.addr:08x}  {sec.offset:08x}  {sec.align:<5}  "
                     f"{_flags(sec)}")
    return "\n".join(lines)


def symbol_table(elf: ElfFile) -> str:
    lines = ["SYMBOL TABLE:"]
    for sym in elf.symbols:
        bind = "l" if sym.bind == STB_LOCAL else "g"
        kind = {STT_FUNC: "F", STT_OBJECT: "O", STT_SECTION: "d"}.get(sym.type, " ")
        section = {SHN_UNDEF_NAME: "*UND*", SHN_ABS_NAME: "*ABS*"}.get(sym.section,
                                                                      sym.section)
        lines.append(f"{sym.value:08x} {bind}     {kind} {section:12} {sym.size:08x} "
                     f"{sym.name}")
    return "\n".join(lines)


def _reloc_target(elf: ElfFile, rel: Relocation) -> str:
    name = elf.symbols[rel.symbol].name if rel.symbol is not None else "*ABS*"
    return f"{name}{rel.addend:+#x}"


def relocation_records(elf: ElfFile) -> str:
    parts = []
    for sec in elf.sections:
        if sec.relocations:
            lines = [f"RELOCATION RECORDS FOR [{sec.name}]:", "OFFSET   TYPE             VALUE"]
            lines += [f"{r.offset:08x} {RELOC_NAMES[r.type]:16} {_reloc_target(elf, r)}"
                      for r in sec.relocations]
            parts.append("\n".join(lines))
    return "\n\n".join(parts) if parts else "no relocations"


def symbol_addresses(elf: ElfFile, section: str | None = None) -> dict[str, int]:
    """Named symbols defined in a section (in `section` only, if given) and their
    values: addresses in an image, section offsets in an object.  This is what a
    symbolizer for register dumps is built from."""
    return {s.name: s.value for s in elf.symbols
            if s.name and s.type != STT_SECTION and s.section not in (SHN_UNDEF_NAME,
                                                                     SHN_ABS_NAME)
            and section in (None, s.section)}


def disassembly(elf: ElfFile) -> str:
    is_image = elf.type == ET_EXEC
    parts = []
    for sec in elf.sections:
        if not sec.flags & SHF_EXECINSTR or sec.type == SHT_NOBITS:
            continue
        # In an object each section starts at 0, so only its own symbols name addresses.
        names = symbol_addresses(elf, None if is_image else sec.name)
        parts.append(_disassemble_section(elf, sec, names))
    return "\n\n".join(parts) if parts else "no executable sections"


def _disassemble_section(elf: ElfFile, sec: Section, names: dict[str, int]) -> str:
    base = sec.addr if elf.type == ET_EXEC else 0
    labels: dict[int, list[str]] = {}
    for name, addr in names.items():
        labels.setdefault(addr, []).append(name)
    relocs = {r.offset: r for r in sec.relocations}
    name_of = symbolizer(names)
    lines = [f"Disassembly of section {sec.name}:"]
    for offset in range(0, len(sec.data) - len(sec.data) % 4, 4):
        addr = base + offset
        for label in sorted(labels.get(addr, [])):
            lines.append(f"\n{addr:08x} <{label}>:")
        word = int.from_bytes(sec.data[offset:offset + 4], "little")
        lines.append(f"{addr:8x}:\t{word:08x}\t{disassemble(word, addr, name_of)}")
        if offset in relocs:
            rel = relocs[offset]
            lines.append(f"\t\t\t{addr:x}: {RELOC_NAMES[rel.type]}\t{_reloc_target(elf, rel)}")
    if len(sec.data) % 4:
        tail = sec.data[len(sec.data) - len(sec.data) % 4:]
        lines.append(f"{base + len(sec.data) - len(tail):8x}:\t{tail.hex()}\t(trailing bytes)")
    return "\n".join(lines)
