"""Differential properties: random integer expressions and statements over int,
unsigned, char, unsigned char, short, unsigned short, an array and a pointer into it,
compiled by paravisor cc and run as a guest, must print what a Python model of C's
ILP32 semantics computes (paravisor/testing/cmodel.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from paravisor.testing.cc import run_c
from paravisor.testing.cmodel import (
    binary,
    cast,
    literal,
    programs,
    statement_programs,
    ternary,
    unary,
    variable,
)


@settings(max_examples=30)
@given(programs(count=8), st.sampled_from([0, 1]))
def test_expressions_match_the_model(program: tuple[str, str], opt: int) -> None:
    source, expected = program
    assert run_c(source, opt=opt) == (0, expected), source


@settings(max_examples=30)
@given(statement_programs(), st.sampled_from([0, 1]))
def test_statements_match_the_model(program: tuple[str, str], opt: int) -> None:
    source, expected = program
    assert run_c(source, opt=opt) == (0, expected), source


def test_model_follows_c_conversions() -> None:
    """Spot checks of the model itself against values fixed by C99 6.3 and 6.5."""
    minus_one, one_u = literal(-1, False), literal(1, True)
    assert binary("<", minus_one, one_u).value() == 0          # -1 becomes UINT_MAX
    assert cast("char", literal(200, False)).value() == -56
    assert unary("-", variable("c", "unsigned char")).type == "int"
    assert binary("/", literal(-7, False), literal(2, False)).value() == -3
    assert binary("%", literal(-7, False), literal(2, False)).value() == -1
    assert ternary(literal(1, False), minus_one, one_u).value() == 0xFFFFFFFF
    assert binary(">>", literal(-16, False), literal(2, False)).value() == -4
    assert binary("*", variable("s", "unsigned short"),
                  variable("s", "unsigned short")).value({"s": 65535}) == -131071
