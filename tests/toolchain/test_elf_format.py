"""ELF32 writer and reader: round trip, validation of every field we trust, and
binutils' readelf reading our objects and images without complaint."""

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from paravisor.toolchain.asm import assemble_file
from paravisor.toolchain.elf import (
    EHDR,
    EM_PV32,
    ET_REL,
    R_PV32_32,
    SHDR,
    SHF_ALLOC,
    SHT_PROGBITS,
    STB_GLOBAL,
    ElfError,
    ElfFile,
    Relocation,
    Section,
    Symbol,
    read_elf,
    write_elf,
)
from paravisor.toolchain.ld import build_image

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def sample_object() -> bytes:
    elf = ElfFile(ET_REL)
    elf.sections.append(Section(".data", SHT_PROGBITS, SHF_ALLOC, b"\x01\0\0\0" * 2))
    elf.symbols.append(Symbol(".data", 0, ".data", type=3))
    elf.symbols.append(Symbol("ext", 0, "", STB_GLOBAL))
    elf.symbols.append(Symbol("here", 4, ".data"))
    elf.sections[0].relocations.append(Relocation(4, R_PV32_32, 1, -8))
    return write_elf(elf)


def test_round_trip_keeps_sections_symbols_and_relocations():
    elf = read_elf(sample_object(), "x.o")
    assert elf.type == ET_REL
    assert [(s.name, s.data) for s in elf.sections] == [(".data", b"\x01\0\0\0" * 2)]
    # Locals come first in the file, so "here" moved before "ext"; relocations follow.
    names = [s.name for s in elf.symbols]
    assert names == [".data", "here", "ext"]
    (rel,) = elf.sections[0].relocations
    assert (rel.offset, rel.type, rel.addend, elf.symbols[rel.symbol].name) == (
        4, R_PV32_32, -8, "ext")


def corrupt(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def shdr_offset(data: bytes, index: int, field: int) -> int:
    shoff = EHDR.unpack_from(data)[6]
    return shoff + index * SHDR.size + 4 * field


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d[:20], "shorter than an ELF header"),
    (lambda d: b"\x7fELG" + d[4:], "bad magic"),
    (lambda d: corrupt(d, 4, "<B", 2), "ELFCLASS32"),
    (lambda d: corrupt(d, 5, "<B", 2), "little-endian"),
    (lambda d: corrupt(d, 18, "<H", 0x28), f"not EM_PV32 \\({EM_PV32:#x}\\)"),
    (lambda d: corrupt(d, 16, "<H", 3), "neither ET_REL nor ET_EXEC"),
    (lambda d: corrupt(d, 32, "<I", 0xFFFF0000), "section header table"),
    (lambda d: corrupt(d, 50, "<H", 0), "does not name a string table"),
    (lambda d: corrupt(d, shdr_offset(d, 1, 0), "<I", 0x7FFF), "outside its string table"),
    (lambda d: corrupt(d, shdr_offset(d, 1, 4), "<I", 0x10000), "past the end of the file"),
    (lambda d: corrupt(d, shdr_offset(d, 1, 8), "<I", 3), "not a power of two"),
])
def test_reader_rejects_malformed_files_by_name(mutate, message):
    with pytest.raises(ElfError, match=message) as err:
        read_elf(mutate(sample_object()), "broken.o")
    assert str(err.value).startswith("broken.o: ")


def test_reader_checks_symbol_and_relocation_indices():
    data = sample_object()
    elf_sections = [SHDR.unpack_from(data, EHDR.unpack_from(data)[6] + i * SHDR.size)
                    for i in range(EHDR.unpack_from(data)[12])]
    rela = next(h for h in elf_sections if h[1] == 4)
    with pytest.raises(ElfError, match="names symbol 9"):
        read_elf(corrupt(data, rela[4] + 4, "<I", (9 << 8) | R_PV32_32), "r.o")
    with pytest.raises(ElfError, match="unknown type 77"):
        read_elf(corrupt(data, rela[4] + 4, "<I", (1 << 8) | 77), "r.o")
    with pytest.raises(ElfError, match="not a word inside .data"):
        read_elf(corrupt(data, rela[4], "<I", 6), "r.o")


def _readelf(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["readelf", "-h", "-l", "-S", "-W", str(path)],
                          capture_output=True, text=True, check=False)


@pytest.mark.skipif(shutil.which("readelf") is None, reason="binutils readelf not installed")
def test_readelf_reads_our_objects_and_images_cleanly(tmp_path):
    obj = tmp_path / "sum.o"
    obj.write_bytes(assemble_file(str(EXAMPLES / "sum.s")))
    image = tmp_path / "sum.elf"
    image.write_bytes(build_image([str(EXAMPLES / "sum.s")]))
    for path in (obj, image):
        result = _readelf(path)
        assert result.returncode == 0 and result.stderr == "", result.stderr
    out = _readelf(image).stdout
    assert "EXEC (Executable file)" in out and "0x5056" in out
    assert "NOTE" in out and ".note.Xen" in out
    load_lines = [line for line in out.splitlines() if line.strip().startswith("LOAD")]
    assert len(load_lines) == 3   # text, rodata (with notes), data+bss
