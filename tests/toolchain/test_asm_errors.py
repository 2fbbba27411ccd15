"""Assembler errors: `file:line:col: error: message`, the source line and a caret;
several errors in one run; never a traceback."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paravisor.errors import SourceError, UserError
from paravisor.toolchain.asm import AssemblyFailed, assemble


def error_of(source: str) -> SourceError:
    with pytest.raises(SourceError) as err:
        assemble(source, "prog.s")
    return err.value


@pytest.mark.parametrize(("source", "line", "col", "message"), [
    ("  addd a0, a1, a2", 1, 3, "unknown mnemonic 'addd' (did you mean 'add'?)"),
    ("nop\n  .wrod 1", 2, 3, "unknown directive '.wrod' (did you mean '.word'?)"),
    ("addi a0, a1", 1, 1, "addi takes 3 operands (rd, rs1, imm), got 2"),
    ("add a0, a1, x9", 1, 13, "'x9' is not a register"),
    ("addi a0, 5, 5", 1, 10, "expected a register, found '5'"),
    ("addi a0, a1, 40000", 1, 14, "immediate 40000 out of range -32768..32767 for addi"),
    ("slli a0, a1, 32", 1, 14, "immediate 32 out of range 0..31"),
    ("mfcr a0, nosuch", 1, 10, "'nosuch' is not a control register (status, ptbr,"),
    ("mtcr 10, a0", 1, 6, "immediate 10 out of range 0..9"),
    ("j 1f", 1, 3, "undefined local label 1f"),
    ("beq a0, a1, 3b", 1, 13, "undefined local label 3b"),
    ('.ascii "open', 1, 8, "unterminated string"),
    ("li a0, 1 ?", 1, 10, "unexpected character '?'"),
    ("lw a0, 4(a1", 1, 8, "expected a memory operand"),
    ("x: nop\nx: nop", 2, 1, "symbol 'x' is already defined at prog.s:1"),
    ("addi a0, a1, label\nlabel: nop", 1, 14, "does not fit a 16-bit immediate"),
    (".data\n.byte 1\nnop", 3, 1, "word-aligned"),
    ("li a0, 0x100000000", 1, 8, "does not fit in 32 bits"),
    (".word 12abc", 1, 7, "malformed number '12abc'"),
])
def test_error_location_and_message(source, line, col, message):
    err = error_of(source)
    assert (err.path, err.line, err.col) == ("prog.s", line, col)
    assert message in err.message


def test_rendering_has_location_source_line_and_caret():
    text = str(error_of("nop\n    addi a0, a1, 99999"))
    assert text.splitlines() == [
        "prog.s:2:18: error: immediate 99999 out of range -32768..32767 for addi",
        "        addi a0, a1, 99999",
        "                     ^",
    ]


def test_branch_out_of_range_reports_the_range():
    source = "beq a0, a1, far\n.space 0x40000\nfar: nop"
    assert "out of range -131072..131068" in error_of(source).message


def test_every_bad_line_is_reported():
    err = error_of("bogus\nnop\naddi a0\nadd a0, a0, q1\n.byte 999")
    assert isinstance(err, AssemblyFailed)
    assert [e.line for e in err.errors] == [1, 3, 4, 5]
    assert str(err).count("error:") == 4


PIECES = [*"abc01 ,:.()%'\"\\#-+x$\t\n", "addi", "lw", "li", "la", ".word", ".align",
          ".space", ".elfnote", "%hi(", "sp", "1f", "1b", ".section", ".equ", "\n"]


@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_garbage_gives_a_user_error_or_an_object(source):
    try:
        assemble(source, "fuzz.s")
    except UserError:
        pass
