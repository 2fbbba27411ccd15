"""The ISA table: encodings are unique, canonical and round-trip; privilege is complete."""

from hypothesis import given
from hypothesis import strategies as st

from paravisor.isa import table
from paravisor.isa.table import (
    BY_OPCODE,
    IMM_RANGES,
    INSTRUCTIONS,
    Imm,
    Kind,
    Privilege,
    decode,
    encode,
    operand_fields,
)


def test_opcodes_and_mnemonics_are_unique_and_zero_is_unassigned():
    assert len({i.opcode for i in INSTRUCTIONS}) == len(INSTRUCTIONS)
    assert len({i.mnemonic for i in INSTRUCTIONS}) == len(INSTRUCTIONS)
    assert 0 not in BY_OPCODE
    assert decode(0) is None


def test_every_sensitive_instruction_is_privileged():
    # Popek and Goldberg: anything that reads or changes machine control state traps
    # outside ring 0, so a de-privileged kernel cannot escape the hypervisor.
    for insn in INSTRUCTIONS:
        if insn.kind == Kind.CONTROL or insn.mnemonic in ("halt", "rfe"):
            assert insn.privilege == Privilege.PRIVILEGED, insn.mnemonic
    assert table.BY_MNEMONIC["hcall"].privilege == Privilege.KERNEL


def test_memory_instructions_declare_their_access_size():
    for insn in INSTRUCTIONS:
        if insn.kind in (Kind.LOAD, Kind.STORE) or (
                insn.kind == Kind.ATOMIC and insn.mnemonic != "fence"):
            assert insn.access_size in (1, 2, 4), insn.mnemonic


@st.composite
def instruction_operands(draw):
    insn = draw(st.sampled_from(INSTRUCTIONS))
    ops = {}
    for name in operand_fields(insn):
        if name == "imm":
            lo, hi = IMM_RANGES[insn.imm]
            ops[name] = draw(st.integers(lo, hi))
        else:
            ops[name] = draw(st.integers(0, 15))
    return insn, ops


@given(instruction_operands())
def test_encode_decode_round_trip(case):
    insn, ops = case
    word = encode(insn.mnemonic, **ops)
    assert 0 <= word <= 0xFFFF_FFFF
    decoded = decode(word)
    assert decoded is not None and decoded.insn is insn
    assert decoded.operands() == ops


@given(st.integers(0, 0xFFFF_FFFF))
def test_decode_is_canonical(word):
    # Any word that decodes re-encodes to itself: there is one encoding per instruction.
    decoded = decode(word)
    if decoded is not None:
        assert encode(decoded.mnemonic, **decoded.operands()) == word


def test_out_of_range_operands_are_refused():
    import pytest

    with pytest.raises(table.EncodingError):
        encode("addi", rd=1, rs1=1, imm=0x8000)
    with pytest.raises(table.EncodingError):
        encode("slli", rd=1, rs1=1, imm=32)
    with pytest.raises(table.EncodingError):
        encode("add", rd=16, rs1=1, rs2=2)
    assert Imm.NONE not in IMM_RANGES
