"""Directives: sections, data, strings, alignment, space, symbols, ELF notes, include."""

import struct

import pytest

from paravisor.errors import SourceError
from paravisor.isa.table import encode
from paravisor.testing.toolchain import assemble_elf, section_bytes
from paravisor.toolchain.asm import assemble
from paravisor.toolchain.elf import (
    R_PV32_32,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
    SHN_ABS_NAME,
    SHN_UNDEF_NAME,
    SHT_NOBITS,
    SHT_NOTE,
    STB_GLOBAL,
    STT_FUNC,
    STT_OBJECT,
    read_elf,
)

NOP = encode("addi", rd=0, rs1=0, imm=0).to_bytes(4, "little")


def symbol(elf, name):
    return next(s for s in elf.symbols if s.name == name)


def test_standard_sections_have_their_flags():
    elf = assemble_elf(".text\nnop\n.data\n.word 1\n.rodata\n.byte 1\n.bss\n.space 8")
    flags = {s.name: (s.flags, s.type) for s in elf.sections}
    assert flags[".text"][0] == SHF_ALLOC | SHF_EXECINSTR
    assert flags[".data"][0] == SHF_ALLOC | SHF_WRITE
    assert flags[".rodata"][0] == SHF_ALLOC
    assert flags[".bss"] == (SHF_ALLOC | SHF_WRITE, SHT_NOBITS)
    assert elf.section(".bss").size == 8


def test_section_directive_with_flags_and_type():
    elf = assemble_elf('.section .boot, "ax"\nnop\n.section .heap, "aw", @nobits\n.space 32')
    assert elf.section(".boot").flags == SHF_ALLOC | SHF_EXECINSTR
    assert elf.section(".heap").type == SHT_NOBITS and elf.section(".heap").size == 32
    with pytest.raises(SourceError, match="unknown section flag 'q'"):
        assemble('.section .x, "q"', "t.s")


def test_data_directives_are_little_endian_and_accept_lists():
    data = section_bytes(".data\n.byte 1, -1, 'A'\n.half 0x1234, -2\n.word 0xdeadbeef, -1",
                         ".data")
    assert data == bytes([1, 0xFF, 0x41]) + struct.pack("<hh", 0x1234, -2) + \
        struct.pack("<Ii", 0xDEADBEEF, -1)


def test_word_of_a_symbol_is_an_absolute_relocation():
    elf = assemble_elf(".data\nhere: .word here + 8, external")
    relocs = elf.section(".data").relocations
    assert [(r.offset, r.type, r.addend) for r in relocs] == [(0, R_PV32_32, 8),
                                                              (4, R_PV32_32, 0)]
    assert elf.symbols[relocs[0].symbol].name == ".data"
    ext = elf.symbols[relocs[1].symbol]
    assert (ext.name, ext.section, ext.bind) == ("external", SHN_UNDEF_NAME, STB_GLOBAL)


def test_strings_with_escapes():
    data = section_bytes(r'.data' '\n' r'.ascii "a\n\t\"\\\x41\101"' '\n' r'.asciz "z"'
                         '\n' r'.string ""', ".data")
    assert data == b'a\n\t"\\AAz\0\0'


def test_align_is_a_power_of_two_exponent_and_balign_a_byte_count():
    data = section_bytes(".data\n.byte 1\n.align 2\n.byte 2\n.balign 8, 0xee\n.byte 3",
                         ".data")
    assert data == bytes([1, 0, 0, 0, 2]) + b"\xee" * 3 + bytes([3])
    elf = assemble_elf(".data\n.align 4\n.byte 1")
    assert elf.section(".data").align == 16


def test_align_pads_code_with_nops():
    assert section_bytes("nop\n.balign 16\nhalt") == NOP * 4 + encode("halt").to_bytes(
        4, "little")


def test_space_and_zero_with_fill():
    assert section_bytes(".data\n.space 3, 0x5a\n.zero 2", ".data") == b"ZZZ\0\0"


def test_space_needs_a_constant_known_already():
    with pytest.raises(SourceError, match="constant defined before this line"):
        assemble(".space N\n.equ N, 4", "t.s")


def test_bss_holds_no_data():
    with pytest.raises(SourceError, match="holds no data"):
        assemble(".bss\n.word 1", "t.s")


def test_global_local_equ_set_type_and_size():
    elf = assemble_elf(".global f, g\n.type f, @function\nf: nop\nnop\n.size f, . - f\n"
                       ".equ K, 3 * 4\n.set V, 1\n.set V, V + 1\n.global V\n"
                       ".data\n.type obj, %object\nobj: .word 0\n.local g")
    f = symbol(elf, "f")
    assert (f.bind, f.type, f.size, f.section) == (STB_GLOBAL, STT_FUNC, 8, ".text")
    assert (symbol(elf, "K").value, symbol(elf, "K").section) == (12, SHN_ABS_NAME)
    assert symbol(elf, "V").value == 2 and symbol(elf, "V").bind == STB_GLOBAL
    assert symbol(elf, "obj").type == STT_OBJECT
    assert all(s.name != "g" for s in elf.symbols)   # .local, never defined or used


def test_local_labels_and_dotL_names_stay_out_of_the_symbol_table():
    elf = assemble_elf("1: nop\n.Lhidden: j 1b\nvisible: nop")
    names = {s.name for s in elf.symbols}
    assert "visible" in names and ".Lhidden" not in names and "1" not in names


def test_elfnote_with_string_and_word_descriptors():
    elf = assemble_elf('.elfnote "Xen", 6, "linux"\n.elfnote "Xen", 1, _start\n'
                       "_start: nop")
    note = elf.section(".note.Xen")
    assert note.type == SHT_NOTE and note.flags == SHF_ALLOC
    first = struct.pack("<III", 4, 6, 6) + b"Xen\0" + b"linux\0\0\0"
    second = struct.pack("<III", 4, 4, 1) + b"Xen\0" + bytes(4)
    assert note.data == first + second
    (rel,) = note.relocations
    assert (rel.offset, rel.type) == (len(first) + 16, R_PV32_32)
    assert elf.symbols[rel.symbol].name == ".text"


def test_elfnote_does_not_change_the_current_section():
    elf = assemble_elf('.data\n.elfnote "Xen", 6, "x"\n.word 7')
    assert elf.section(".data").data == struct.pack("<I", 7)


def test_include_is_relative_to_the_including_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "defs.inc").write_text('.equ VALUE, 42\n.include "more.inc"\n')
    (tmp_path / "sub" / "more.inc").write_text(".equ OTHER, 1\n")
    main = tmp_path / "main.s"
    main.write_text('.include "sub/defs.inc"\nli a0, VALUE + OTHER\n')
    elf = read_elf(assemble(main.read_text(), str(main)), "main.o")
    assert elf.section(".text").data == encode("addi", rd=3, rs1=0, imm=43).to_bytes(
        4, "little")


def test_include_cycles_and_missing_files_are_errors(tmp_path):
    a, b = tmp_path / "a.s", tmp_path / "b.s"
    a.write_text('.include "b.s"\n')
    b.write_text('nop\n.include "a.s"\n')
    with pytest.raises(SourceError, match="include cycle") as err:
        assemble(a.read_text(), str(a))
    assert err.value.path == str(b) and err.value.line == 2
    with pytest.raises(SourceError, match="cannot include nothere.s"):
        assemble('.include "nothere.s"', str(a))
