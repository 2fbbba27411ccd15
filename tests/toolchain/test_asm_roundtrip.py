"""Property (a): disassembler output is assembler input that gives back the same words,
over random instruction sequences drawn from the whole ISA table."""

from hypothesis import given
from hypothesis import strategies as st

from paravisor.isa.disasm import disassemble
from paravisor.isa.table import IMM_RANGES, INSTRUCTIONS, encode, operand_fields
from paravisor.testing.toolchain import text_words
from paravisor.toolchain.asm import assemble
from paravisor.toolchain.ld import link

BASE = 0x20000


@st.composite
def instruction_words(draw):
    insn = draw(st.sampled_from(INSTRUCTIONS))
    operands = {}
    for name in operand_fields(insn):
        if name == "imm":
            lo, hi = IMM_RANGES[insn.imm]
            operands[name] = draw(st.integers(lo, hi))
        else:
            operands[name] = draw(st.integers(0, 15))
    return encode(insn.mnemonic, **operands)


sequences = st.lists(instruction_words(), min_size=1, max_size=40)


@given(sequences)
def test_relative_disassembly_reassembles_to_the_same_words(words):
    text = "\n".join(disassemble(w, 4 * i, relative_targets=True)
                     for i, w in enumerate(words))
    assert text_words(text) == words


@given(sequences)
def test_absolute_disassembly_relinks_at_the_same_base(words):
    # Absolute targets become relocations against no symbol; linked at the address the
    # listing was made for, they encode the original offsets again.
    lines = [".global _start", "_start:"]
    lines += [disassemble(w, BASE + 4 * i) for i, w in enumerate(words)]
    source = "\n".join(lines)
    image = link([("rt.o", assemble(source, "rt.s"))], base=BASE)
    from paravisor.toolchain.elf import read_elf
    data = read_elf(image, "rt").section(".text").data
    assert [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)] == words
