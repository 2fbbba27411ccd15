"""The linker: layout into page-aligned segments, symbol resolution across objects,
relocations, and errors that name symbols and objects."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paravisor.isa.table import PAGE_SIZE, decode
from paravisor.toolchain.asm import assemble
from paravisor.toolchain.elf import (
    PF_R,
    PF_W,
    PF_X,
    PT_LOAD,
    PT_NOTE,
    ElfError,
    read_elf,
)
from paravisor.toolchain.ld import LinkError, link
from paravisor.toolchain.objdump import symbol_addresses


def obj(name: str, source: str) -> tuple[str, bytes]:
    return name, assemble(source, name.replace(".o", ".s"))


def linked(*objects, **kwargs):
    return read_elf(link(list(objects), **kwargs), "image")


MAIN = obj("main.o", ".global _start\n_start: la a0, value\ncall helper\nlw a1, 0(a0)\n"
                     "halt\n.data\n.word helper")
LIB = obj("lib.o", ".global helper, value\nhelper: ret\n.rodata\n.word 7\nvalue: .word 42")


def test_segments_are_page_aligned_with_the_right_permissions():
    elf = linked(MAIN, LIB, base=0x40000)
    loads = [s for s in elf.segments if s.type == PT_LOAD]
    assert [(s.vaddr, s.flags) for s in loads] == [
        (0x40000, PF_R | PF_X), (0x41000, PF_R), (0x42000, PF_R | PF_W)]
    assert all(s.offset % PAGE_SIZE == s.vaddr % PAGE_SIZE for s in loads)


def test_cross_object_symbols_and_relocations():
    elf = linked(MAIN, LIB)
    syms = symbol_addresses(elf)
    text = elf.section(".text")
    words = [int.from_bytes(text.data[i:i + 4], "little") for i in range(0, 24, 4)]
    lui, addi, jal = decode(words[0]), decode(words[1]), decode(words[2])
    assert (lui.imm << 12) + addi.imm == syms["value"] == 0x11004
    assert 0x10008 + 4 * jal.imm == syms["helper"] == 0x10014   # after main.o's 5 words
    assert int.from_bytes(elf.section(".data").data, "little") == syms["helper"]
    assert elf.entry == syms["_start"] == 0x10000


def test_like_named_sections_merge_in_command_line_order():
    a = obj("a.o", ".global _start\n_start: nop\n.data\n.byte 1")
    b = obj("b.o", "nop\n.data\n.word 2")
    data = linked(a, b).section(".data").data
    assert data == bytes([1, 0, 0, 0, 2, 0, 0, 0])   # b's .data is word-aligned


def test_notes_get_a_pt_note_inside_the_read_only_load():
    elf = linked(obj("n.o", '.global _start\n_start: halt\n.elfnote "Xen", 6, "demo"'))
    (note,) = [s for s in elf.segments if s.type == PT_NOTE]
    ro = next(s for s in elf.segments if s.type == PT_LOAD and s.flags == PF_R)
    assert ro.vaddr <= note.vaddr and note.vaddr + note.memsz <= ro.vaddr + ro.memsz
    assert note.vaddr == elf.section(".note.Xen").addr


def test_undefined_symbols_name_every_referencing_object():
    a = obj("a.o", ".global _start\n_start: call missing\nla a0, gone")
    b = obj("b.o", "call missing")
    with pytest.raises(LinkError) as err:
        link([a, b])
    assert "'missing', referenced from a.o, b.o" in str(err.value)
    assert "'gone', referenced from a.o" in str(err.value)


def test_duplicate_globals_name_both_definers():
    a = obj("a.o", ".global _start, f\n_start: f: nop")
    b = obj("b.o", ".global f\nf: nop")
    with pytest.raises(LinkError, match="'f' is defined in both a.o and b.o"):
        link([a, b])


def test_missing_entry_and_bad_base():
    with pytest.raises(LinkError, match="entry symbol 'main'"):
        link([MAIN, LIB], entry="main")
    with pytest.raises(LinkError, match="page-aligned"):
        link([MAIN, LIB], base=0x10010)


def test_relocation_overflow_names_symbol_and_object():
    far = obj("far.o", ".global far\nfar: nop")
    near = obj("near.o", ".global _start\n_start: beq a0, a1, far\n.space 0x30000")
    with pytest.raises(LinkError, match="near.o: R_PV32_BRANCH16 against 'far'"):
        link([near, far])


def test_images_are_not_link_inputs():
    image = link([MAIN, LIB])
    with pytest.raises(LinkError, match="not a relocatable object"):
        link([("img", image)])
    with pytest.raises(ElfError):
        link([("junk.o", b"\x7fELF" + bytes(60))])


SECTIONS = [".text", ".rodata", ".data", ".bss"]


@st.composite
def programs(draw):
    """Objects that each define labels, at random offsets, in random sections."""
    objects, expected = [], []
    for n in range(draw(st.integers(1, 3))):
        lines = [".global _start\n_start:" if n == 0 else ""]
        for k in range(draw(st.integers(1, 6))):
            section = draw(st.sampled_from(SECTIONS))
            pad = 4 * draw(st.integers(0, 8))
            label = f"sym{n}_{k}"
            lines.append(f"{section}\n.balign 4\n.space {pad}\n{label}:")
            if section != ".bss":
                lines.append(".word 0")
            expected.append((label, section))
        objects.append((f"o{n}.o", "\n".join(lines)))
    return objects, expected


@given(programs(), st.integers(1, 0x400).map(lambda p: p * PAGE_SIZE))
def test_every_symbol_lands_inside_its_output_section(program, base):
    sources, expected = program
    elf = linked(*[obj(name, text) for name, text in sources], base=base)
    addresses = symbol_addresses(elf)
    for label, section in expected:
        sec = elf.section(section)
        assert sec.addr <= addresses[label] <= sec.addr + sec.size, label
        assert sec.addr >= base and sec.addr % 4 == 0
    # Distinct sections never overlap.
    spans = sorted((s.addr, s.addr + s.size) for s in elf.sections if s.size)
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:], strict=False))
