"""Each pseudo-instruction expands exactly as docs/toolchain.md says."""

import pytest

from paravisor.isa.table import encode
from paravisor.testing.toolchain import text_words

A0, A1, SP, RA, ZERO = 3, 4, 2, 1, 0

EXPANSIONS = [
    ("nop", [encode("addi", rd=0, rs1=0, imm=0)]),
    ("mv a0, a1", [encode("addi", rd=A0, rs1=A1, imm=0)]),
    ("not a0, a1", [encode("sub", rd=A0, rs1=ZERO, rs2=A1), encode("addi", rd=A0, rs1=A0,
                                                                    imm=-1)]),
    ("neg a0, a1", [encode("sub", rd=A0, rs1=ZERO, rs2=A1)]),
    ("seqz a0, a1", [encode("sltiu", rd=A0, rs1=A1, imm=1)]),
    ("snez a0, a1", [encode("sltu", rd=A0, rs1=ZERO, rs2=A1)]),
    ("jr a1", [encode("jalr", rd=ZERO, rs1=A1, imm=0)]),
    ("ret", [encode("jalr", rd=ZERO, rs1=RA, imm=0)]),
    ("push a0", [encode("addi", rd=SP, rs1=SP, imm=-4), encode("sw", rs2=A0, rs1=SP, imm=0)]),
    ("pop a0", [encode("lw", rd=A0, rs1=SP, imm=0), encode("addi", rd=SP, rs1=SP, imm=4)]),
    ("li a0, -5", [encode("addi", rd=A0, rs1=ZERO, imm=-5)]),
    ("li a0, 0x7fff", [encode("addi", rd=A0, rs1=ZERO, imm=0x7FFF)]),
    ("li a0, 0x12345000", [encode("lui", rd=A0, imm=0x12345)]),
    ("li a0, 0x12345678", [encode("lui", rd=A0, imm=0x12345),
                           encode("ori", rd=A0, rs1=A0, imm=0x678)]),
    ("li a0, -70000", [encode("lui", rd=A0, imm=0xFFFEE), encode("ori", rd=A0, rs1=A0,
                                                                 imm=0xE90)]),
    ("li a0, 0xffffffff", [encode("lui", rd=A0, imm=0xFFFFF),
                           encode("ori", rd=A0, rs1=A0, imm=0xFFF)]),
    ("la a0, 0x12345678", [encode("lui", rd=A0, imm=0x12345),
                           encode("addi", rd=A0, rs1=A0, imm=0x678)]),
]


@pytest.mark.parametrize(("source", "words"), EXPANSIONS, ids=[s for s, _ in EXPANSIONS])
def test_expansion(source, words):
    assert text_words(source) == words


@pytest.mark.parametrize(("pseudo", "real", "swapped"), [
    ("beqz", "beq", None), ("bnez", "bne", None), ("bgt", "blt", True),
    ("ble", "bge", True), ("bgtu", "bltu", True), ("bleu", "bgeu", True)])
def test_branch_pseudos_resolve_local_targets(pseudo, real, swapped):
    operands = "a0, target" if swapped is None else "a0, a1, target"
    words = text_words(f"{pseudo} {operands}\nnop\ntarget: nop")
    if swapped is None:
        assert words[0] == encode(real, rs1=A0, rs2=ZERO, imm=2)
    else:   # bgt a, b == blt b, a
        assert words[0] == encode(real, rs1=A1, rs2=A0, imm=2)


@pytest.mark.parametrize(("pseudo", "link"), [("j", ZERO), ("call", RA), ("tail", ZERO)])
def test_jump_pseudos(pseudo, link):
    assert text_words(f"here: nop\n{pseudo} here") == [
        encode("addi", rd=0, rs1=0, imm=0), encode("jal", rd=link, imm=-1)]


def test_li_gives_the_exact_value_for_every_32_bit_pattern():
    # Reconstruct what each expansion computes (addi sign-extends, lui shifts, ori ORs).
    for value in (0, 1, -1, 0x8000, -0x8001, 0x7FFFFFFF, -0x80000000, 0xDEADBEEF, 0xFFF,
                  0x1000, 0xFFFFF000):
        words = text_words(f"li a0, {value}")
        assert _li_result(words) == value & 0xFFFFFFFF, hex(value)


def _li_result(words):
    from paravisor.isa.table import decode
    reg = 0
    for word in words:
        d = decode(word)
        if d.mnemonic == "addi":
            reg = (reg + d.imm) & 0xFFFFFFFF if d.rs1 else d.imm & 0xFFFFFFFF
        elif d.mnemonic == "lui":
            reg = d.imm << 12
        else:
            assert d.mnemonic == "ori"
            reg |= d.imm
    return reg


def test_la_is_always_two_words_even_for_small_constants():
    assert len(text_words("la a0, 4")) == 2


def test_li_with_a_forward_constant_takes_two_words():
    words = text_words("li a0, LATER\n.equ LATER, 5")
    assert words == [encode("lui", rd=A0, imm=0), encode("ori", rd=A0, rs1=A0, imm=5)]
