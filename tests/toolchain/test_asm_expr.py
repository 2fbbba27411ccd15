"""Expressions: literals, C precedence and semantics, symbols, `.`, %hi/%lo."""

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paravisor.errors import SourceError
from paravisor.testing.toolchain import assemble_elf, section_bytes
from paravisor.toolchain.asm import assemble
from paravisor.toolchain.elf import R_PV32_HI20, R_PV32_LO12


def value_of(expr: str) -> int:
    data = section_bytes(f".data\n.word {expr}", ".data")
    return struct.unpack("<i", data)[0]


@pytest.mark.parametrize(("expr", "value"), [
    ("42", 42), ("0x2A", 42), ("0b101010", 42), ("0o52", 42), ("'*'", 42), (r"'\n'", 10),
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("1 << 4 | 1", 17), ("6 & 3 ^ 1", 3),
    ("-7 / 2", -3), ("-7 % 2", -1), ("7 % -2", 1), ("~0", -1), ("-(-3)", 3),
    ("1 + 2 << 1", 6), ("10 - 2 - 3", 5), ("100 / 10 / 5", 2), ("%hi(0x12345678)", 0x12345),
    ("%lo(0x12345678)", 0x678), ("1 | 2 ^ 3 & 4", 1 | (2 ^ (3 & 4))),
])
def test_constant_expressions(expr, value):
    assert value_of(expr) == value


@given(st.integers(-1000, 1000), st.integers(-1000, 1000), st.integers(1, 50))
def test_arithmetic_follows_c(a, b, c):
    # C: * / % bind tighter than + -, which bind tighter than shifts; / truncates.
    expected = a + b * c - int(a / c)
    assert value_of(f"{a} + {b} * {c} - {a} / {c}") == expected


def test_location_counter_and_label_differences():
    data = section_bytes(".data\nstart: .word 0\n.word . - start\nend: .word end - start",
                         ".data")
    assert struct.unpack("<III", data) == (0, 4, 8)


def test_hi_lo_of_a_label_become_relocations():
    elf = assemble_elf("lui a0, %hi(buf + 4)\naddi a0, a0, %lo(buf + 4)\n.data\n.word 0\n"
                       "buf: .word 0")
    relocs = elf.section(".text").relocations
    assert [(r.offset, r.type, r.addend) for r in relocs] == [
        (0, R_PV32_HI20, 8), (4, R_PV32_LO12, 8)]


@pytest.mark.parametrize(("expr", "message"), [
    ("1 / 0", "division by zero"),
    ("1 << 100", "shift count 100 out of range"),
    ("%hi(x) + 1", "whole operand"),
    ("a - b", "cannot compute"),
    ("(1 + 2", "missing '\\)'"),
    ("1 +", "ends too early"),
    ("1 2", "unexpected '2'"),
])
def test_bad_expressions(expr, message):
    with pytest.raises(SourceError, match=message):
        assemble(f".data\n.word {expr}", "t.s")
