"""docs/isa.md stays in step with the ISA table.

The generated reference must equal what docgen renders now; every table entry needs a
human description; and the pictures in the manual (format diagrams, encoding patterns,
the page-table entry and the virtual-address split) are parsed back here, independently
of docgen, and checked against the table's Field positions and `encode`.
"""

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paravisor.abi.headers import register_rule
from paravisor.isa import docgen, table
from paravisor.isa.table import (
    CR,
    FORMATS,
    IMM_RANGES,
    INSTRUCTIONS,
    OPCODE,
    PTE_FLAGS,
    REG_NAMES,
    TRAP_VECTORS,
    Imm,
    Privilege,
    Ring,
    Vector,
    encode,
    operand_fields,
)

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "isa.md"
DOC = DOC_PATH.read_text(encoding="utf-8")


# --- Reading the manual back ---------------------------------------------------------------

def parse_diagram(text: str, word_bits: int = 32) -> list[tuple[str, int, int]]:
    """(label, lowest bit, width) of each box in a bit diagram, read off its borders."""
    lines = text.splitlines()
    border, labels = lines[1], lines[2]
    assert lines[3] == border and len(labels) == len(border)
    columns_per_bit, rest = divmod(len(border) - 1, word_bits)
    assert rest == 0, "the diagram's width is not a whole number of columns per bit"
    edges = [i for i, c in enumerate(border) if c == "+"]
    assert edges == [i for i, c in enumerate(labels) if c == "|"]
    assert edges[0] == 0 and edges[-1] == len(border) - 1
    segments = []
    for left, right in zip(edges, edges[1:], strict=False):
        width, partial = divmod(right - left, columns_per_bit)
        assert partial == 0, f"box {labels[left + 1:right]!r} is not a whole number of bits"
        lo = (len(border) - 1 - right) // columns_per_bit
        segments.append((labels[left + 1:right].strip(), lo, width))
    return segments


def code_block_after(marker: str) -> str:
    """The first fenced block after `marker` in the manual."""
    start = DOC.index(marker)
    body = DOC.index("```\n", start) + 4
    return DOC[body:DOC.index("```", body)]


def encoding_pattern_in_doc(syntax: str) -> str:
    match = re.search(rf"^\| `{re.escape(syntax)}` \| `([^`]*)` \|", DOC, re.MULTILINE)
    assert match, f"no encoding row for `{syntax}` in docs/isa.md"
    return match.group(1)


def word_from_pattern(pattern: str, operands: dict[str, int]) -> int:
    """Assemble a word by following a documented pattern like `imm:16 rs1:4 rd:4 0010_0000`."""
    word, bits_left = 0, 32
    for token in pattern.split():
        if ":" in token:
            name, width = token.split(":")
            width = int(width)
            value = operands["imm" if name == "cr" else name] & ((1 << width) - 1)
        else:
            digits = token.replace("_", "")
            assert set(digits) <= {"0", "1"}, token
            width, value = len(digits), int(digits, 2)
        bits_left -= width
        word |= value << bits_left
    assert bits_left == 0, f"pattern {pattern!r} does not cover 32 bits"
    return word


# --- The generated region ------------------------------------------------------------------

def test_generated_region_is_current():
    assert docgen.splice(DOC, docgen.reference_markdown()) == DOC, (
        f"docs/isa.md is stale: run `{docgen.REGENERATE_COMMAND}`")


def test_every_instruction_appears_with_its_syntax_and_encoding():
    for insn in INSTRUCTIONS:
        syntax = docgen.syntax_of(insn)
        assert f"| `{insn.opcode:#04x}` | `{syntax}` |" in DOC, insn.mnemonic
        assert encoding_pattern_in_doc(syntax) == docgen.encoding_pattern(insn)


def test_every_control_register_and_vector_is_named_in_the_doc():
    for cr in CR:
        assert f"| {int(cr)} | `{cr.name.lower()}` |" in DOC, cr.name
    for vector in Vector:
        assert f"`{vector.name}`" in DOC, vector.name


# --- Descriptions: a new enum member forces a doc line -----------------------------------

@pytest.mark.parametrize("descriptions, members", [
    (docgen.CR_DESCRIPTIONS, set(CR)),
    (docgen.VECTOR_DESCRIPTIONS, set(Vector)),
    (docgen.PRIVILEGE_DESCRIPTIONS, set(Privilege)),
    (docgen.RING_DESCRIPTIONS, set(Ring)),
    (docgen.IMM_DESCRIPTIONS, set(Imm)),
    (docgen.REGISTER_ROLES, set(REG_NAMES)),
], ids=["CR", "Vector", "Privilege", "Ring", "Imm", "registers"])
def test_every_member_has_a_description(descriptions, members):
    assert set(descriptions) == members
    for text in descriptions.values():
        assert all(part.strip() for part in ((text,) if isinstance(text, str) else text))


def bit_constants(prefix: str) -> dict[str, int]:
    """The table's single-bit constants named PREFIX*."""
    return {name: value for name, value in vars(table).items()
            if name.startswith(prefix) and isinstance(value, int)
            and value > 0 and value & (value - 1) == 0 and not name.endswith("_SHIFT")}


def test_every_pte_and_page_fault_bit_has_a_description():
    assert set(docgen.PTE_BIT_DESCRIPTIONS) == set(bit_constants("PTE_"))
    assert set(docgen.PF_BIT_DESCRIPTIONS) == set(bit_constants("PF_"))
    described = 0
    for name in docgen.PTE_BIT_DESCRIPTIONS:
        described |= getattr(table, name)
    assert described == PTE_FLAGS


def test_status_descriptions_cover_every_defined_status_bit_once():
    covered = 0
    for name in docgen.STATUS_FIELD_DESCRIPTIONS:
        mask = getattr(table, name)
        assert covered & mask == 0, f"{name} overlaps another STATUS field"
        covered |= mask
    assert covered == table.STATUS_WRITABLE | table.STATUS_RING_MASK
    assert set(bit_constants("STATUS_")) <= set(docgen.STATUS_FIELD_DESCRIPTIONS)


def test_every_instruction_kind_is_in_exactly_one_group():
    kinds = [k for group in docgen.GROUPS for k in group.kinds]
    assert sorted(kinds) == sorted(table.Kind)


def test_vector_classes_follow_the_table():
    assert not docgen.INTERRUPT_VECTORS & TRAP_VECTORS
    assert docgen.vector_class(Vector.SYSCALL) == "trap"
    assert docgen.vector_class(Vector.PAGE_FAULT) == "fault"
    assert docgen.vector_class(Vector.TIMER) == "interrupt"


# --- The pictures agree with the table -----------------------------------------------------

@pytest.mark.parametrize("name", sorted(FORMATS))
def test_format_diagram_matches_field_positions(name):
    segments = parse_diagram(code_block_after(f"Format {name}:"))
    fmt = FORMATS[name]
    named = {label: (lo, width) for label, lo, width in segments if label != "0"}
    expected = {n: (f.lo, f.width) for n, f in fmt.fields.items()}
    expected["opcode"] = (OPCODE.lo, OPCODE.width)
    assert named == expected
    zero_bits = 0
    for label, lo, width in segments:
        if label == "0":
            zero_bits |= ((1 << width) - 1) << lo
    assert zero_bits == ~fmt.used_mask & 0xFFFF_FFFF


def test_the_formats_fields_do_not_overlap_and_fit_the_word():
    for fmt in FORMATS.values():
        seen = OPCODE.mask
        for field in fmt.fields.values():
            assert field.mask & seen == 0 and field.mask <= 0xFFFF_FFFF
            seen |= field.mask


def distinct_operands(insn) -> dict[str, int]:
    """Operands that differ from each other, so a swapped field cannot go unnoticed."""
    operands = {}
    for number, name in enumerate(operand_fields(insn), start=5):
        if name == "imm":
            hi = IMM_RANGES[insn.imm][1]
            operands[name] = hi - hi // 3   # 0x5555 for 0x7fff: set bits all along the field
        else:
            operands[name] = number
    return operands


@pytest.mark.parametrize("insn", INSTRUCTIONS, ids=lambda i: i.mnemonic)
def test_each_documented_pattern_places_each_field(insn):
    operands = distinct_operands(insn)
    pattern = encoding_pattern_in_doc(docgen.syntax_of(insn))
    assert word_from_pattern(pattern, operands) == encode(insn.mnemonic, **operands)


@st.composite
def instruction_and_operands(draw):
    insn = draw(st.sampled_from(INSTRUCTIONS))
    operands = {}
    for name in operand_fields(insn):
        if name == "imm":
            operands[name] = draw(st.integers(*IMM_RANGES[insn.imm]))
        else:
            operands[name] = draw(st.integers(0, 15))
    return insn, operands


@given(instruction_and_operands())
def test_documented_bit_patterns_encode_like_the_table(case):
    insn, operands = case
    pattern = encoding_pattern_in_doc(docgen.syntax_of(insn))
    assert word_from_pattern(pattern, operands) == encode(insn.mnemonic, **operands)


@given(st.integers(0, 0xFFFF_FFFF))
def test_virtual_address_diagram_matches_the_walk(va):
    fields = {label: (va >> lo) & ((1 << width) - 1)
              for label, lo, width in parse_diagram(code_block_after("A virtual address"))}
    assert fields == {"L2 index": table.l2_index(va), "L1 index": table.l1_index(va),
                      "offset": va & table.PAGE_MASK}


@given(st.integers(0, 0xFFFFF), st.integers(0, PTE_FLAGS).map(lambda f: f & PTE_FLAGS))
def test_pte_diagram_matches_make_pte(mfn, flags):
    pte = table.make_pte(mfn, flags)
    for label, lo, width in parse_diagram(code_block_after("An L2 or L1 entry")):
        value = (pte >> lo) & ((1 << width) - 1)
        if label == "machine frame number":
            assert value == table.pte_frame(pte) == mfn
        elif label == "-":
            assert value == 0
        else:
            assert (lo, width) == docgen.mask_field(getattr(table, f"PTE_{label}"))
            assert value == bool(flags & getattr(table, f"PTE_{label}"))


def test_status_diagram_matches_status_masks():
    segments = parse_diagram(code_block_after("STATUS, bits"), docgen.status_diagram_bits())
    for label, lo, width in segments:
        mask = ((1 << width) - 1) << lo
        if label == "0":
            assert mask & (table.STATUS_WRITABLE | table.STATUS_RING_MASK) == 0
        else:
            assert mask == getattr(table, f"STATUS_{label}",
                                   getattr(table, f"STATUS_{label}_MASK", None))


def test_bit_diagram_refuses_overlapping_or_oversized_fields():
    with pytest.raises(ValueError):
        docgen.bit_diagram([("a", 4, 8), ("b", 8, 4)])
    with pytest.raises(ValueError):
        docgen.bit_diagram([("too long for one bit", 3, 1)])
    with pytest.raises(ValueError):
        docgen.mask_field(0b101)


# --- The hand-written worked example still adds up -----------------------------------------

def test_paging_worked_example_matches_the_table():
    ptbr, va = 0x5000, 0x00403A7C
    l2e = table.make_pte(8, table.PTE_P | table.PTE_W | table.PTE_U)
    l1e = table.make_pte(0x123, table.PTE_P | table.PTE_W)
    l2e_addr = ptbr + 4 * table.l2_index(va)
    l1e_addr = (table.pte_frame(l2e) << table.PAGE_SHIFT) + 4 * table.l1_index(va)
    maddr = (table.pte_frame(l1e) << table.PAGE_SHIFT) | (va & table.PAGE_MASK)
    error_code = table.PF_PROT | table.PF_USER
    for value in (l2e_addr, l2e, l1e_addr, l1e, maddr, l2e | table.PTE_A,
                  l1e | table.PTE_A, l1e | table.PTE_A | table.PTE_D):
        assert f"`{value:#010x}`" in DOC, f"{value:#010x} missing from the worked example"
    assert f"PF_PROT | PF_USER = `{error_code:#x}`" in DOC


# --- The command line ----------------------------------------------------------------------

def test_check_and_write_round_trip(tmp_path, capsys):
    stale = tmp_path / "isa.md"
    stale.write_text(f"intro\n{docgen.BEGIN_MARKER}\nold text\n{docgen.END_MARKER}\ntail\n")
    assert docgen.main(["--check", str(stale)]) == 1
    assert docgen.REGENERATE_COMMAND in capsys.readouterr().err
    assert docgen.main(["--write", str(stale)]) == 0
    assert docgen.main(["--check", str(stale)]) == 0
    text = stale.read_text()
    assert text.startswith("intro\n") and text.endswith(f"{docgen.END_MARKER}\ntail\n")
    assert "old text" not in text and "### Trap vectors" in text


@pytest.mark.parametrize("content", [
    "no markers at all\n",
    f"{docgen.END_MARKER}\n{docgen.BEGIN_MARKER}\n",
    f"{docgen.BEGIN_MARKER}\n{docgen.BEGIN_MARKER}\n{docgen.END_MARKER}\n",
])
def test_bad_markers_are_a_clear_error(tmp_path, capsys, content):
    path = tmp_path / "bad.md"
    path.write_text(content)
    assert docgen.main(["--write", str(path)]) == 2
    assert "docgen:" in capsys.readouterr().err
    assert path.read_text() == content


def test_missing_file_is_a_clear_error(tmp_path, capsys):
    assert docgen.main(["--check", str(tmp_path / "absent.md")]) == 2
    assert "cannot read" in capsys.readouterr().err


# --- The assembly in the manual is real assembly ------------------------------------------

def asm_blocks() -> list[str]:
    return re.findall(r"```asm\n(.*?)```", DOC, re.DOTALL)


def test_the_manual_has_its_examples():
    assert len(asm_blocks()) >= 4


@pytest.mark.parametrize("index", range(len(asm_blocks())))
def test_manual_examples_assemble(index):
    from paravisor.toolchain import asm
    asm.assemble(asm_blocks()[index], f"docs/isa.md#example{index}")


def test_isa_md_states_the_abis_register_rule_for_hcall():
    """docs/isa.md section 6 says which registers `hcall` changes in the very words of
    docs/abi.md section 2, which are generated from the ABI (abi.headers.register_rule)."""
    section = DOC.split("## 6. Hypercalls", 1)[1].split("\n## 7.", 1)[0]
    assert register_rule() in " ".join(section.split())
