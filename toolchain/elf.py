"""ELF32 little-endian for PV32: the object model, the writer and a validating reader.

Written from the System V gABI with the struct module; no third-party ELF library.

The model is logical rather than byte-exact: an `ElfFile` holds its content sections
(PROGBITS, NOBITS, NOTE), each with its own RELA relocations, one flat symbol list and,
for executables, its program headers.  The writer generates the bookkeeping sections
(.symtab, .strtab, .shstrtab, .rela.*) and orders the symbols (locals first) as ELF
requires; the reader checks every offset, size and index before it trusts it, so any
byte string either parses or raises `ElfError` naming the file and the problem.

Sections are identified by name (our objects never hold two sections of one name; the
reader rejects such files); a symbol's `section` is a section name, `SHN_UNDEF_NAME` for
an undefined symbol and `SHN_ABS_NAME` for an absolute one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from paravisor.errors import UserError

# --- Constants (System V gABI; PV32's machine number and relocation types) --------

EM_PV32 = 0x5056   # "PV", from the range no ELF machine has been assigned

ET_REL, ET_EXEC = 1, 2
EV_CURRENT = 1
ELFCLASS32, ELFDATA2LSB = 1, 1

SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA = 0, 1, 2, 3, 4
SHT_NOTE, SHT_NOBITS = 7, 8
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_INFO_LINK = 0x1, 0x2, 0x4, 0x40
SHN_UNDEF, SHN_ABS = 0, 0xFFF1
SHN_LORESERVE = 0xFF00

STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE = 0, 1, 2, 3, 4

PT_NULL, PT_LOAD, PT_NOTE = 0, 1, 4
PF_X, PF_W, PF_R = 0x1, 0x2, 0x4

R_PV32_NONE = 0
R_PV32_32 = 1         # word = S + A
R_PV32_HI20 = 2       # U-format imm20 = (S + A) >> 12
R_PV32_LO12 = 3       # I/S-format imm16 = (S + A) & 0xfff
R_PV32_BRANCH16 = 4   # B-format imm16 = (S + A - P) / 4, signed
R_PV32_JUMP20 = 5     # J-format imm20 = (S + A - P) / 4, signed
RELOC_NAMES = {
    R_PV32_NONE: "R_PV32_NONE", R_PV32_32: "R_PV32_32", R_PV32_HI20: "R_PV32_HI20",
    R_PV32_LO12: "R_PV32_LO12", R_PV32_BRANCH16: "R_PV32_BRANCH16",
    R_PV32_JUMP20: "R_PV32_JUMP20",
}

SHN_UNDEF_NAME = ""          # Symbol.section of an undefined symbol
SHN_ABS_NAME = "*ABS*"       # Symbol.section of an absolute symbol

EHDR = struct.Struct("<16sHHIIIIIHHHHHH")   # 52 bytes
SHDR = struct.Struct("<10I")                # 40 bytes
PHDR = struct.Struct("<8I")                 # 32 bytes
SYM = struct.Struct("<IIIBBH")              # 16 bytes
RELA = struct.Struct("<IIi")                # 12 bytes
ELF_MAGIC = b"\x7fELF"
SEGMENT_ALIGN = 0x1000


class ElfError(UserError):
    """A file that is not a well-formed PV32 ELF32 object or image."""


# --- The model ---------------------------------------------------------------------

@dataclass
class Relocation:
    """A RELA entry: patch `offset` in its section; `symbol` indexes ElfFile.symbols,
    or is None for no symbol (S = 0, so the addend is an absolute address)."""
    offset: int
    type: int
    symbol: int | None
    addend: int = 0


@dataclass
class Section:
    name: str
    type: int
    flags: int
    data: bytes = b""
    nobits_size: int = 0        # size of a NOBITS section (data stays empty)
    addr: int = 0
    align: int = 4
    relocations: list[Relocation] = field(default_factory=list)
    offset: int = 0             # file offset, filled in by the reader and the writer

    @property
    def size(self) -> int:
        return self.nobits_size if self.type == SHT_NOBITS else len(self.data)

    @property
    def is_alloc(self) -> bool:
        return bool(self.flags & SHF_ALLOC)


@dataclass
class Symbol:
    name: str
    value: int
    section: str                 # section name, SHN_UNDEF_NAME or SHN_ABS_NAME
    bind: int = STB_LOCAL
    type: int = STT_NOTYPE
    size: int = 0

    @property
    def defined(self) -> bool:
        return self.section != SHN_UNDEF_NAME


@dataclass
class Segment:
    """A program header.  The writer computes `offset`; the linker sets the rest."""
    type: int
    flags: int
    vaddr: int
    filesz: int
    memsz: int
    align: int = SEGMENT_ALIGN
    offset: int = 0


@dataclass
class ElfFile:
    type: int
    sections: list[Section] = field(default_factory=list)
    symbols: list[Symbol] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    entry: int = 0

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)


def align_up(value: int, align: int) -> int:
    return value if align <= 1 else (value + align - 1) // align * align


# --- Writer ------------------------------------------------------------------------

class _StringTable:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self.index: dict[str, int] = {"": 0}

    def add(self, name: str) -> int:
        if name not in self.index:
            self.index[name] = len(self.data)
            self.data += name.encode() + b"\0"
        return self.index[name]


def write_elf(elf: ElfFile) -> bytes:
    """Serialize `elf`.  Executables get their PT_LOAD segments at file offsets
    congruent to their addresses modulo the page size, allocated sections placed inside
    them, and other segments (PT_NOTE) at the offset of the PT_LOAD bytes they cover."""
    out = bytearray(EHDR.size + PHDR.size * len(elf.segments))
    _layout_segments(elf, out)
    for sec in elf.sections:
        sec.offset = _place_section(elf, sec, out)
    order = _symbol_order(elf.symbols)
    symtab, strtab, first_global = _symtab_bytes(elf, order)
    headers = _section_headers(elf, order, symtab, strtab, first_global, out)
    shoff = align_up(len(out), 4)
    out += bytes(shoff - len(out)) + b"".join(headers)
    phdrs = b"".join(PHDR.pack(s.type, s.offset, s.vaddr, s.vaddr, s.filesz, s.memsz,
                               s.flags, s.align) for s in elf.segments)
    ident = ELF_MAGIC + bytes([ELFCLASS32, ELFDATA2LSB, EV_CURRENT]) + bytes(9)
    out[:EHDR.size] = EHDR.pack(
        ident, elf.type, EM_PV32, EV_CURRENT, elf.entry,
        EHDR.size if elf.segments else 0, shoff, 0, EHDR.size,
        PHDR.size if elf.segments else 0, len(elf.segments), SHDR.size, len(headers),
        len(headers) - 1)
    out[EHDR.size:EHDR.size + len(phdrs)] = phdrs
    return bytes(out)


def _layout_segments(elf: ElfFile, out: bytearray) -> None:
    """Reserve page-congruent file space for each PT_LOAD; point other segments into
    the PT_LOAD that covers them."""
    for seg in elf.segments:
        if seg.type == PT_LOAD:
            start = align_up(len(out), SEGMENT_ALIGN) + seg.vaddr % SEGMENT_ALIGN
            out += bytes(start + seg.filesz - len(out))
            seg.offset = start
    for seg in elf.segments:
        if seg.type != PT_LOAD:
            load = _containing_load(elf, seg.vaddr)
            seg.offset = load.offset + seg.vaddr - load.vaddr if load and seg.filesz else 0


def _containing_load(elf: ElfFile, addr: int) -> Segment | None:
    for seg in elf.segments:
        if seg.type == PT_LOAD and seg.vaddr <= addr <= seg.vaddr + seg.memsz:
            return seg
    return None


def _place_section(elf: ElfFile, sec: Section, out: bytearray) -> int:
    """File offset of `sec`, copying its bytes there: inside its PT_LOAD for an
    allocated section of an executable, else appended at the end."""
    load = _containing_load(elf, sec.addr) if sec.is_alloc and elf.type == ET_EXEC else None
    if load is not None:
        offset = load.offset + sec.addr - load.vaddr
        if sec.type != SHT_NOBITS:
            out[offset:offset + len(sec.data)] = sec.data
        return offset
    if sec.type == SHT_NOBITS:
        return len(out)
    return _append(out, sec.data, max(sec.align, 1))


def _symbol_order(symbols: list[Symbol]) -> list[int]:
    """Model indices in file order: locals first (gABI), then globals."""
    locals_ = [i for i, s in enumerate(symbols) if s.bind == STB_LOCAL]
    return locals_ + [i for i, s in enumerate(symbols) if s.bind != STB_LOCAL]


def _section_index(elf: ElfFile, name: str) -> int:
    if name == SHN_UNDEF_NAME:
        return SHN_UNDEF
    if name == SHN_ABS_NAME:
        return SHN_ABS
    for i, sec in enumerate(elf.sections):
        if sec.name == name:
            return i + 1
    raise ValueError(f"symbol refers to missing section {name!r}")


def _symtab_bytes(elf: ElfFile, order: list[int]) -> tuple[bytes, bytes, int]:
    strtab = _StringTable()
    entries = [SYM.pack(0, 0, 0, 0, 0, 0)]
    for i in order:
        s = elf.symbols[i]
        name = 0 if s.type == STT_SECTION else strtab.add(s.name)
        entries.append(SYM.pack(name, s.value & 0xFFFFFFFF, s.size, (s.bind << 4) | s.type,
                                0, _section_index(elf, s.section)))
    first_global = 1 + sum(1 for i in order if elf.symbols[i].bind == STB_LOCAL)
    return b"".join(entries), bytes(strtab.data), first_global


def _append(out: bytearray, data: bytes, align: int) -> int:
    offset = align_up(len(out), align)
    out += bytes(offset - len(out)) + data
    return offset


def _section_headers(elf: ElfFile, order: list[int], symtab: bytes, strtab: bytes,
                     first_global: int, out: bytearray) -> list[bytes]:
    """Headers for the content sections, then .symtab, .strtab, .rela.*, .shstrtab."""
    names = _StringTable()
    headers = [SHDR.pack(*[0] * 10)]
    for sec in elf.sections:
        headers.append(SHDR.pack(names.add(sec.name), sec.type, sec.flags, sec.addr,
                                 sec.offset, sec.size, 0, 0, sec.align, 0))
    symtab_index = len(headers)
    headers.append(SHDR.pack(names.add(".symtab"), SHT_SYMTAB, 0, 0,
                             _append(out, symtab, 4), len(symtab), symtab_index + 1,
                             first_global, 4, SYM.size))
    headers.append(SHDR.pack(names.add(".strtab"), SHT_STRTAB, 0, 0,
                             _append(out, strtab, 1), len(strtab), 0, 0, 1, 0))
    file_index = {model: pos + 1 for pos, model in enumerate(order)}
    for target, sec in enumerate(elf.sections, start=1):
        if not sec.relocations:
            continue
        rela = b"".join(
            RELA.pack(r.offset, ((file_index[r.symbol] if r.symbol is not None else 0) << 8)
                      | r.type, r.addend) for r in sec.relocations)
        headers.append(SHDR.pack(names.add(".rela" + sec.name), SHT_RELA, SHF_INFO_LINK, 0,
                                 _append(out, rela, 4), len(rela), symtab_index, target,
                                 4, RELA.size))
    shstrtab_name = names.add(".shstrtab")
    headers.append(SHDR.pack(shstrtab_name, SHT_STRTAB, 0, 0,
                             _append(out, bytes(names.data), 1), len(names.data),
                             0, 0, 1, 0))
    return headers


# --- Reader ------------------------------------------------------------------------

class _Reader:
    """Parses one file; every access is bounds-checked and every failure is an
    ElfError naming the file."""

    def __init__(self, data: bytes, path: str) -> None:
        self.data, self.path = data, path

    def fail(self, message: str) -> ElfError:
        return ElfError(f"{self.path}: not a valid PV32 ELF file: {message}")

    def table(self, offset: int, count: int, entsize: int, what: str) -> bytes:
        end = offset + count * entsize
        if offset < 0 or end > len(self.data):
            raise self.fail(f"{what} (offset {offset:#x}, {count * entsize} bytes) "
                            f"extends past the end of the file ({len(self.data)} bytes)")
        return self.data[offset:end]

    def string(self, table: bytes, index: int, what: str) -> str:
        if index >= len(table):
            raise self.fail(f"{what}: name index {index} is outside its string table")
        end = table.find(b"\0", index)
        if end < 0:
            raise self.fail(f"{what}: name at index {index} is not NUL-terminated")
        try:
            return table[index:end].decode()
        except UnicodeDecodeError:
            raise self.fail(f"{what}: name at index {index} is not valid UTF-8") from None


def read_elf(data: bytes, path: str) -> ElfFile:
    """Parse and validate a PV32 ELF32 object (ET_REL) or image (ET_EXEC).

    Raises ElfError, naming `path` and what is wrong, for anything malformed: bad
    magic, class, byte order, version or machine; tables, sections or segments outside
    the file; bad string, section or symbol indices; unknown relocation types.
    """
    r = _Reader(bytes(data), path)
    header = _read_header(r)
    etype, entry, phoff, shoff, phnum, shnum, shstrndx = header
    raw = [SHDR.unpack_from(r.table(shoff, shnum, SHDR.size, "section header table"),
                            i * SHDR.size) for i in range(shnum)]
    if shnum == 0 or raw[0][1] != SHT_NULL:
        raise r.fail("section header 0 must be the null section")
    if not 0 < shstrndx < shnum or raw[shstrndx][1] != SHT_STRTAB:
        raise r.fail(f"e_shstrndx {shstrndx} does not name a string table")
    shstrtab = _section_bytes(r, raw[shstrndx], "section name string table")
    names = [r.string(shstrtab, h[0], f"section {i}") for i, h in enumerate(raw)]
    elf = ElfFile(etype, entry=entry)
    by_index = _read_sections(r, raw, names, elf)
    symtabs = [i for i, h in enumerate(raw) if h[1] == SHT_SYMTAB]
    if len(symtabs) > 1:
        raise r.fail("more than one symbol table")
    file_syms = _read_symbols(r, raw, names, symtabs[0], by_index, elf) if symtabs else {}
    for i, h in enumerate(raw):
        if h[1] == SHT_RELA:
            _read_relocations(r, raw, names, i, by_index, file_syms, symtabs)
    elf.segments = _read_segments(r, phoff, phnum)
    return elf


def _read_header(r: _Reader) -> tuple[int, int, int, int, int, int, int]:
    if len(r.data) < EHDR.size:
        raise r.fail(f"only {len(r.data)} bytes, shorter than an ELF header")
    (ident, etype, machine, version, entry, phoff, shoff, _flags, ehsize, phentsize,
     phnum, shentsize, shnum, shstrndx) = EHDR.unpack_from(r.data)
    if ident[:4] != ELF_MAGIC:
        raise r.fail("bad magic (not an ELF file)")
    if ident[4] != ELFCLASS32:
        raise r.fail(f"EI_CLASS is {ident[4]}, not ELFCLASS32")
    if ident[5] != ELFDATA2LSB:
        raise r.fail(f"EI_DATA is {ident[5]}, not little-endian")
    if ident[6] != EV_CURRENT or version != EV_CURRENT:
        raise r.fail("unsupported ELF version")
    if machine != EM_PV32:
        raise r.fail(f"machine is {machine:#x}, not EM_PV32 ({EM_PV32:#x})")
    if etype not in (ET_REL, ET_EXEC):
        raise r.fail(f"type {etype} is neither ET_REL nor ET_EXEC")
    if ehsize != EHDR.size or (shnum and shentsize != SHDR.size) or (
            phnum and phentsize != PHDR.size):
        raise r.fail("unexpected header, section header or program header size")
    return etype, entry, phoff, shoff, phnum, shnum, shstrndx


def _section_bytes(r: _Reader, h: tuple[int, ...], what: str) -> bytes:
    return r.table(h[4], 1, h[5], what) if h[1] != SHT_NOBITS else b""


def _read_sections(r: _Reader, raw: list[tuple[int, ...]], names: list[str],
                   elf: ElfFile) -> dict[int, Section]:
    """Content sections (PROGBITS, NOBITS, NOTE) into `elf`; returns them by file index."""
    by_index: dict[int, Section] = {}
    for i, h in enumerate(raw[1:], start=1):
        _name, stype, flags, addr, offset, size, _link, _info, align, _ent = h
        if align & (align - 1):
            raise r.fail(f"section {names[i]}: alignment {align} is not a power of two")
        if stype not in (SHT_PROGBITS, SHT_NOBITS, SHT_NOTE):
            continue
        if elf.section(names[i]) is not None:
            raise r.fail(f"two sections are named {names[i]}")
        if addr + size > 1 << 32:
            raise r.fail(f"section {names[i]} extends past the 32-bit address space")
        data = _section_bytes(r, h, f"section {names[i]}")
        sec = Section(names[i], stype, flags, data, size if stype == SHT_NOBITS else 0,
                      addr, max(align, 1), offset=offset)
        elf.sections.append(sec)
        by_index[i] = sec
    return by_index


def _read_symbols(r: _Reader, raw: list[tuple[int, ...]], names: list[str], index: int,
                  by_index: dict[int, Section], elf: ElfFile) -> dict[int, int]:
    """Symbols into `elf`; returns file symbol index -> model index (null excluded)."""
    h = raw[index]
    if h[9] != SYM.size or h[5] % SYM.size:
        raise r.fail(".symtab entry size is not 16 or its size is not a multiple of it")
    link = h[6]
    if not 0 < link < len(raw) or raw[link][1] != SHT_STRTAB:
        raise r.fail(".symtab sh_link does not name a string table")
    strtab = _section_bytes(r, raw[link], "symbol string table")
    table = _section_bytes(r, h, ".symtab")
    mapping: dict[int, int] = {}
    for i in range(1, len(table) // SYM.size):
        name_off, value, size, info, _other, shndx = SYM.unpack_from(table, i * SYM.size)
        bind, stype = info >> 4, info & 0xF
        if bind not in (STB_LOCAL, STB_GLOBAL, STB_WEAK):
            raise r.fail(f"symbol {i}: unknown binding {bind}")
        if shndx == SHN_UNDEF:
            section = SHN_UNDEF_NAME
        elif shndx == SHN_ABS:
            section = SHN_ABS_NAME
        elif shndx in by_index:
            section = by_index[shndx].name
        else:
            raise r.fail(f"symbol {i}: section index {shndx} is not a content section")
        name = r.string(strtab, name_off, f"symbol {i}")
        if stype == STT_SECTION and not name:
            name = section
        mapping[i] = len(elf.symbols)
        elf.symbols.append(Symbol(name, value, section, bind, stype, size))
    return mapping


def _read_relocations(r: _Reader, raw: list[tuple[int, ...]], names: list[str], index: int,
                      by_index: dict[int, Section], file_syms: dict[int, int],
                      symtabs: list[int]) -> None:
    h = raw[index]
    what = f"relocation section {names[index]}"
    if h[9] != RELA.size or h[5] % RELA.size:
        raise r.fail(f"{what}: entry size is not 12 or its size is not a multiple of it")
    if not symtabs or h[6] != symtabs[0]:
        raise r.fail(f"{what}: sh_link does not name the symbol table")
    target = by_index.get(h[7])
    if target is None or target.type == SHT_NOBITS:
        raise r.fail(f"{what}: sh_info does not name a section with contents")
    table = _section_bytes(r, h, what)
    for i in range(len(table) // RELA.size):
        offset, info, addend = RELA.unpack_from(table, i * RELA.size)
        sym, rtype = info >> 8, info & 0xFF
        if rtype not in RELOC_NAMES:
            raise r.fail(f"{what}: entry {i} has unknown type {rtype}")
        if offset % 4 or offset + 4 > target.size:
            raise r.fail(f"{what}: entry {i} patches offset {offset:#x}, not a word "
                         f"inside {target.name}")
        if sym and sym not in file_syms:
            raise r.fail(f"{what}: entry {i} names symbol {sym}, which does not exist")
        target.relocations.append(
            Relocation(offset, rtype, file_syms[sym] if sym else None, addend))


def _read_segments(r: _Reader, phoff: int, phnum: int) -> list[Segment]:
    if phnum == 0:
        return []
    table = r.table(phoff, phnum, PHDR.size, "program header table")
    segments = []
    for i in range(phnum):
        stype, offset, vaddr, _paddr, filesz, memsz, flags, align = PHDR.unpack_from(
            table, i * PHDR.size)
        if stype == PT_NULL:
            continue
        r.table(offset, 1, filesz, f"segment {i}")
        if filesz > memsz:
            raise r.fail(f"segment {i}: file size {filesz:#x} exceeds memory size {memsz:#x}")
        if vaddr + memsz > 1 << 32:
            raise r.fail(f"segment {i} extends past the 32-bit address space")
        segments.append(Segment(stype, flags, vaddr, filesz, memsz, align, offset))
    return segments
