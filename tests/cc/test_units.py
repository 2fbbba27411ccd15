"""Unit tests of the compiler's parts: type layout, conversions, literals, constant
folding, the register allocator, and the generated hypercall header."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paravisor.abi import c_wrappers
from paravisor.toolchain.cc import compile_c, ir
from paravisor.toolchain.cc import ctype as ct
from paravisor.toolchain.cc.fold import fold, s32, simplify
from paravisor.toolchain.cc.literals import LiteralError, char_constant, int_constant
from paravisor.toolchain.cc.regalloc import CALLEE_SAVED, intervals, linear_scan

ROOT = Path(__file__).resolve().parents[2]


def test_struct_layout_follows_abi_alignment() -> None:
    s = ct.StructType("struct", "t")
    s.define([("c", ct.CHAR), ("w", ct.ULLONG), ("h", ct.SHORT)])
    assert [m.offset for m in s.members] == [0, 8, 16]
    assert (s.size, s.align) == (24, 8)            # u64 aligned to 8 (docs/abi.md)
    u = ct.StructType("union", "u")
    u.define([("c", ct.CHAR), ("i", ct.INT)])
    assert (u.size, u.align) == (4, 4)


def test_usual_arithmetic_conversions() -> None:
    assert ct.usual_arithmetic(ct.CHAR, ct.USHORT) == ct.INT
    assert ct.usual_arithmetic(ct.INT, ct.UINT) == ct.UINT
    assert ct.usual_arithmetic(ct.LONG, ct.UINT) == ct.ULONG
    assert ct.wrap(300, ct.UCHAR) == 44 and ct.wrap(0x8000, ct.SHORT) == -32768


def test_literals() -> None:
    assert int_constant("0xffffffff") == (0xFFFFFFFF, ct.UINT)
    assert int_constant("2147483647") == (2147483647, ct.INT)
    assert int_constant("10u") == (10, ct.UINT)
    assert char_constant(r"'\xff'") == -1 and char_constant(r"'\n'") == 10
    with pytest.raises(LiteralError):
        int_constant("2147483648")                 # decimal: long long in C99


@given(st.integers(-2**31, 2**31 - 1), st.integers(-2**31, 2**31 - 1),
       st.sampled_from(["add", "sub", "mul", "and", "or", "xor", "sll", "srl", "sra",
                        "slt", "sltu", "div", "divu", "rem", "remu"]))
def test_strength_reduction_preserves_values(a: int, b: int, op: str) -> None:
    reduced = simplify(op, b)
    expected = fold(op, a, b)
    if reduced is None or expected is None:
        return
    if reduced == "x":
        assert expected == s32(a)
    elif reduced == "0":
        assert expected == 0
    else:
        assert fold(reduced[0], a, reduced[1]) == expected


def test_values_live_across_calls_get_callee_saved_registers() -> None:
    fn = ir.Function("f", True, False, 1)
    x, y = fn.new_vreg(), fn.new_vreg()
    fn.code = [ir.Params([x]), ir.Call(y, "g", []), ir.Bin("add", y, x, y), ir.Ret(y)]
    ivs = intervals(fn)
    linear_scan(ivs)
    where = {iv.vreg.id: iv.location for iv in ivs}
    assert where[x.id] in CALLEE_SAVED
    assert where[y.id] is not None


def test_o1_keeps_locals_in_registers_and_o0_does_not() -> None:
    source = "int f(int n) { int s = 0; for (int i = 0; i < n; i++) s += i; return s; }"
    fast, slow = compile_c(source, "f.c", opt=1), compile_c(source, "f.c", opt=0)
    assert "lw" not in fast.split("f:")[1].split("ret")[0]
    assert slow.count("lw") > 3


def test_constant_expressions_fold() -> None:
    asm = compile_c("int f(void) { return (3 * 4 + (1 << 4)) / 2 - sizeof(int); }", "f.c")
    assert "li    a0, 10" in asm and "mul" not in asm and "div" not in asm


def test_hypercall_header_is_current() -> None:
    header = ROOT / c_wrappers.H_PATH
    assert header.read_text() == c_wrappers.render(), (
        "guest_os/include/hypercalls.h is stale: run python -m "
        "paravisor.abi.headers")


def test_every_hypercall_but_iret_has_a_wrapper() -> None:
    from paravisor.abi import Hypercall
    text = c_wrappers.render()
    for call in Hypercall:
        assert (f"HYPERVISOR_{call.name}(" in text) == (call.name != "iret")


def test_an_enumerator_is_a_value_in_a_conditional_expression() -> None:
    from paravisor.testing.cc import run_c
    status, out = run_c("""
        #include <stdio.h>
        enum e { A = 3, B = 7 };
        int main(void) { int x = -1; int y = x < 0 ? B : A; int z = x > 0 ? x : A;
                         printf("%d %d\\n", y, z); return y + z; }
    """)
    assert (status, out) == (10, "7 3\n")
