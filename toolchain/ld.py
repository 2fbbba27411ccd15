"""The PV32 linker: relocatable objects into one ELF32 executable image.

Layout (docs/toolchain.md): like-named input sections are concatenated in command-line
order into one output section.  Output sections go into three groups, each its own
page-aligned PT_LOAD segment, starting at `base`:

    text    executable sections (.text first)           R X
    rodata  read-only sections (.rodata first, notes last)  R
    data    writable sections (.data first, NOBITS last)  R W

Library objects (`libraries=`) have archive semantics, as the members of a `.a`: one is
linked, after the other objects, only if it defines a global symbol still undefined.

The .note.* sections also get a PT_NOTE segment (inside the rodata PT_LOAD, so the
loader sees them in memory too).  Non-allocated sections are kept, at address 0, but
not loaded.  The image keeps a symbol table (every named symbol, with its final
address) for objdump and for the hypervisor's register dumps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paravisor.errors import UserError
from paravisor.isa.table import PAGE_SIZE, WORD_MASK, Field
from paravisor.toolchain.elf import (
    ET_EXEC,
    ET_REL,
    PF_R,
    PF_W,
    PF_X,
    PT_LOAD,
    PT_NOTE,
    R_PV32_32,
    R_PV32_BRANCH16,
    R_PV32_HI20,
    R_PV32_LO12,
    R_PV32_NONE,
    RELOC_NAMES,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
    SHN_ABS_NAME,
    SHT_NOBITS,
    SHT_NOTE,
    STB_LOCAL,
    STT_SECTION,
    ElfFile,
    Section,
    Segment,
    Symbol,
    align_up,
    read_elf,
    write_elf,
)

DEFAULT_BASE = 0x10000
DEFAULT_ENTRY = "_start"


class LinkError(UserError):
    """Objects that cannot be linked: undefined or duplicate symbols, overflowing
    relocations, conflicting sections, a missing entry point."""


@dataclass
class InputObject:
    name: str
    elf: ElfFile
    # Where each of this object's sections landed: section name -> final address.
    placed: dict[str, int] = field(default_factory=dict)


@dataclass
class OutputSection:
    name: str
    type: int
    flags: int
    align: int = 1
    pieces: list[tuple[InputObject, Section, int]] = field(default_factory=list)  # offset
    size: int = 0
    addr: int = 0
    data: bytearray = field(default_factory=bytearray)

    @property
    def group(self) -> int:
        """0 text, 1 read-only, 2 writable: the PT_LOAD this section goes into."""
        if self.flags & SHF_EXECINSTR:
            return 0
        return 2 if self.flags & SHF_WRITE else 1


def link(objects: list[tuple[str, bytes]], base: int = DEFAULT_BASE,
         entry: str = DEFAULT_ENTRY, libraries: list[tuple[str, bytes]] = ()) -> bytes:
    """Link `(name, ELF object bytes)` pairs into an executable image at `base`
    (page-aligned) with entry point `entry`.  Raises ElfError for malformed objects and
    LinkError for everything that cannot be linked.

    `libraries` are objects with archive semantics (as in a `.a`): one is linked, after
    `objects`, only if it defines a global symbol that is still undefined (referenced by
    an object already linked, or the entry point), repeating until nothing changes."""
    if base % PAGE_SIZE or not 0 <= base <= WORD_MASK:
        raise LinkError(f"base address {base:#x} is not a page-aligned 32-bit address")
    if not objects:
        raise LinkError("no input objects")
    inputs = [_read_object(name, data) for name, data in objects]
    inputs += _pull_from_libraries(inputs, [_read_object(name, data)
                                            for name, data in libraries], entry)
    outputs = _merge_sections(inputs)
    segments = _layout(outputs, base)
    symbols = _resolve_symbols(inputs)
    for out in outputs:
        _relocate(out, symbols)
    if entry not in symbols.globals:
        raise LinkError(f"entry symbol '{entry}' is not defined by any global symbol "
                        "(define it with .global, or choose another with --entry)")
    image = ElfFile(ET_EXEC, entry=symbols.globals[entry][1])
    image.sections = [Section(o.name, o.type, o.flags, bytes(o.data) if o.type != SHT_NOBITS
                              else b"", o.size if o.type == SHT_NOBITS else 0, o.addr,
                              o.align) for o in outputs]
    image.symbols = symbols.table
    image.segments = segments
    return write_elf(image)


def _read_object(name: str, data: bytes) -> InputObject:
    elf = read_elf(data, name)
    if elf.type != ET_REL:
        raise LinkError(f"{name}: not a relocatable object (ET_REL); is it a linked image?")
    return InputObject(name, elf)


def _global_names(obj: InputObject, *, defined: bool) -> set[str]:
    """The object's named non-local symbols that it defines (or leaves undefined)."""
    return {sym.name for sym in obj.elf.symbols
            if sym.name and sym.type != STT_SECTION and sym.defined == defined
            and (sym.bind != STB_LOCAL or not defined)}


def _pull_from_libraries(inputs: list[InputObject], libraries: list[InputObject],
                         entry: str) -> list[InputObject]:
    """The library objects the link needs, in library order: each defines a symbol
    undefined in `inputs` or in a library object pulled in before it."""
    defined: set[str] = set()
    wanted: set[str] = {entry}
    for obj in inputs:
        defined |= _global_names(obj, defined=True)
        wanted |= _global_names(obj, defined=False)
    chosen: set[int] = set()
    changed = True
    while changed:
        changed = False
        for index, lib in enumerate(libraries):
            if index in chosen or not _global_names(lib, defined=True) & (wanted - defined):
                continue
            chosen.add(index)
            defined |= _global_names(lib, defined=True)
            wanted |= _global_names(lib, defined=False)
            changed = True
    return [lib for index, lib in enumerate(libraries) if index in chosen]


def _merge_sections(inputs: list[InputObject]) -> list[OutputSection]:
    by_name: dict[str, OutputSection] = {}
    first: dict[str, str] = {}
    for obj in inputs:
        for sec in obj.elf.sections:
            out = by_name.get(sec.name)
            if out is None:
                out = by_name[sec.name] = OutputSection(sec.name, sec.type, sec.flags)
                first[sec.name] = obj.name
            elif (out.type, out.flags & 0x7) != (sec.type, sec.flags & 0x7):
                raise LinkError(f"section {sec.name} has different type or flags in "
                                f"{first[sec.name]} and {obj.name}")
            out.align = max(out.align, sec.align)
            offset = align_up(out.size, sec.align)
            out.pieces.append((obj, sec, offset))
            out.size = offset + sec.size
    return sorted(by_name.values(), key=_section_rank)


_PREFERRED = {".text": 0, ".rodata": 0, ".data": 0}


def _section_rank(out: OutputSection) -> tuple[int, int, int]:
    """Allocated before not; by group; the standard section first, notes and NOBITS
    last (so the PT_NOTE is contiguous and the file image has no holes)."""
    return (0 if out.flags & SHF_ALLOC else 1, out.group,
            _PREFERRED.get(out.name, 1) + 2 * (out.type in (SHT_NOTE, SHT_NOBITS)))


def _layout(outputs: list[OutputSection], base: int) -> list[Segment]:
    """Assign addresses; return the PT_LOAD segments (and the PT_NOTE)."""
    segments: list[Segment] = []
    addr = base
    for group, flags in ((0, PF_R | PF_X), (1, PF_R), (2, PF_R | PF_W)):
        members = [o for o in outputs if o.flags & SHF_ALLOC and o.group == group]
        if not members:
            continue
        start = addr = align_up(addr, PAGE_SIZE)
        filesz = 0
        for out in members:
            out.addr = addr = align_up(addr, out.align)
            addr += out.size
            if out.type != SHT_NOBITS:
                filesz = addr - start
        if addr > 1 << 32:
            raise LinkError(f"the image does not fit below 4 GiB at base {base:#x}")
        segments.append(Segment(PT_LOAD, flags, start, filesz, addr - start))
    notes = [o for o in outputs if o.type == SHT_NOTE and o.flags & SHF_ALLOC]
    if notes:
        end = notes[-1].addr + notes[-1].size
        segments.append(Segment(PT_NOTE, PF_R, notes[0].addr, end - notes[0].addr,
                                end - notes[0].addr, 4))
    for out in outputs:
        for obj, sec, offset in out.pieces:
            obj.placed[sec.name] = out.addr + offset
            if out.type != SHT_NOBITS:
                out.data += bytes(offset - len(out.data)) + sec.data
        if out.type != SHT_NOBITS:
            out.data += bytes(out.size - len(out.data))
    return segments


@dataclass
class SymbolTable:
    globals: dict[str, tuple[InputObject, int]] = field(default_factory=dict)
    table: list[Symbol] = field(default_factory=list)   # the image's .symtab


def _symbol_address(obj: InputObject, sym: Symbol) -> int:
    if sym.section == SHN_ABS_NAME:
        return sym.value
    return (obj.placed[sym.section] + sym.value) & WORD_MASK


def _resolve_symbols(inputs: list[InputObject]) -> SymbolTable:
    """Global definitions (duplicates are an error naming both objects) and the
    image's symbol table."""
    symbols = SymbolTable()
    duplicates: list[str] = []
    for obj in inputs:
        for sym in obj.elf.symbols:
            if not sym.defined or sym.type == STT_SECTION or not sym.name:
                continue
            addr = _symbol_address(obj, sym)
            if sym.bind != STB_LOCAL:
                if sym.name in symbols.globals:
                    other = symbols.globals[sym.name][0].name
                    duplicates.append(f"'{sym.name}' is defined in both {other} and {obj.name}")
                    continue
                symbols.globals[sym.name] = (obj, addr)
            symbols.table.append(Symbol(sym.name, addr, sym.section, sym.bind, sym.type,
                                        sym.size))
    if duplicates:
        raise LinkError("duplicate symbols:\n  " + "\n  ".join(duplicates))
    _check_undefined(inputs, symbols)
    return symbols


def _check_undefined(inputs: list[InputObject], symbols: SymbolTable) -> None:
    missing: dict[str, list[str]] = {}
    for obj in inputs:
        for sec in obj.elf.sections:
            for rel in sec.relocations:
                if rel.symbol is None:
                    continue
                sym = obj.elf.symbols[rel.symbol]
                if not sym.defined and sym.name not in symbols.globals:
                    users = missing.setdefault(sym.name, [])
                    if obj.name not in users:
                        users.append(obj.name)
    if missing:
        lines = [f"'{name}', referenced from {', '.join(users)}"
                 for name, users in missing.items()]
        raise LinkError("undefined symbols:\n  " + "\n  ".join(lines))


_HI20 = Field(12, 20)
_LO16 = Field(16, 16)
_BRANCH16 = Field(16, 16, signed=True)
_JUMP20 = Field(12, 20, signed=True)


def _relocate(out: OutputSection, symbols: SymbolTable) -> None:
    for obj, sec, offset in out.pieces:
        for rel in sec.relocations:
            if rel.symbol is None:
                target, name = 0, "(absolute)"
            else:
                sym = obj.elf.symbols[rel.symbol]
                name = sym.name
                target = (symbols.globals[sym.name][1] if not sym.defined
                          else _symbol_address(obj, sym))
            place = offset + rel.offset
            word = int.from_bytes(out.data[place:place + 4], "little")
            value = target + rel.addend
            try:
                patched = _apply(rel.type, word, value, out.addr + place)
            except _FieldOverflow as why:
                raise LinkError(f"{obj.name}: {RELOC_NAMES[rel.type]} against '{name}' at "
                                f"{sec.name}+{rel.offset:#x}: {why}") from None
            out.data[place:place + 4] = patched.to_bytes(4, "little")


class _FieldOverflow(Exception):
    """A relocated value does not fit its field (the caller names symbol and object)."""


def _apply(rtype: int, word: int, value: int, place: int) -> int:
    """`word` with relocation `rtype` applied for S+A = `value` at address `place`."""
    if rtype == R_PV32_NONE:
        return word
    if rtype == R_PV32_32:
        if not -(1 << 31) <= value <= WORD_MASK:
            raise _FieldOverflow(f"value {value:#x} does not fit in 32 bits")
        return value & WORD_MASK
    if rtype in (R_PV32_HI20, R_PV32_LO12):
        if not -(1 << 31) <= value <= WORD_MASK:
            raise _FieldOverflow(f"address {value:#x} does not fit in 32 bits")
        if rtype == R_PV32_HI20:
            return (word & ~_HI20.mask) | _HI20.insert((value & WORD_MASK) >> 12)
        return (word & ~_LO16.mask) | _LO16.insert(value & 0xFFF)
    field_ = _BRANCH16 if rtype == R_PV32_BRANCH16 else _JUMP20
    # pc + 4*imm wraps at 4 GiB, so the distance is taken modulo 2**32, signed.
    delta = (value - place + (1 << 31)) % (1 << 32) - (1 << 31)
    if delta % 4:
        raise _FieldOverflow(f"target {value & WORD_MASK:#x} is not word-aligned")
    limit = 1 << (field_.width - 1)
    if not -limit <= delta // 4 < limit:
        raise _FieldOverflow(f"target {value & WORD_MASK:#x} is {delta} bytes away, out of range "
                   f"{-4 * limit}..{4 * (limit - 1)}")
    return (word & ~field_.mask) | field_.insert(delta // 4)


def build_image(sources: list[str], base: int = DEFAULT_BASE,
                entry: str = DEFAULT_ENTRY) -> bytes:
    """Assemble each `.s` file in `sources` and link them: the one call the hypervisor
    and the tests need to turn guest kernel sources into an image."""
    from paravisor.toolchain.asm import assemble_file
    return link([(path, assemble_file(path)) for path in sources], base, entry)
