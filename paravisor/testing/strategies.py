"""Hypothesis strategies for PV32: random straight-line programs and random page-table
walks.  Importing this module needs hypothesis (a test dependency)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from paravisor.isa.table import BY_MNEMONIC, IMM_RANGES, PAGE_SIZE, Imm, Kind, operand_fields

# Instructions a straight-line program may use: they never transfer control.
STRAIGHT_LINE_MNEMONICS = tuple(
    insn.mnemonic for insn in BY_MNEMONIC.values()
    if insn.kind in (Kind.ALU, Kind.LOAD, Kind.STORE))

BASE_REG = 15   # straight-line programs address memory as offset(r15); r15 is never written


@st.composite
def straight_line_instruction(draw: st.DrawFn, data_size: int = PAGE_SIZE,
                              mnemonics: tuple[str, ...] = STRAIGHT_LINE_MNEMONICS) -> tuple:
    """One (mnemonic, operands) ALU/load/store drawn from `mnemonics`; memory operands
    are `imm(r15)` with 0 <= imm < data_size (misaligned ones included); r15 is never
    written."""
    mnemonic = draw(st.sampled_from(mnemonics))
    insn = BY_MNEMONIC[mnemonic]
    operands = {}
    memory_op = insn.kind in (Kind.LOAD, Kind.STORE)
    for name in operand_fields(insn):
        if name == "imm":
            if memory_op:
                size = insn.access_size
                aligned = draw(st.integers(0, 9)) > 0   # mostly aligned, some #AC
                offset = draw(st.integers(0, data_size // size - 1)) * size
                operands[name] = offset if aligned else offset | draw(st.integers(0, size - 1))
            else:
                lo, hi = IMM_RANGES[insn.imm]
                special = [lo, hi, 0, 1, 31] if insn.imm == Imm.SHAMT else [lo, hi, 0, 1, -1]
                special = [v for v in special if lo <= v <= hi]
                operands[name] = draw(st.one_of(st.sampled_from(special), st.integers(lo, hi)))
        elif name == "rs1" and memory_op:
            operands[name] = BASE_REG
        elif name == "rd":
            operands[name] = draw(st.integers(0, BASE_REG - 1))
        else:
            operands[name] = draw(st.integers(0, BASE_REG))
    return mnemonic, operands


interesting_words = st.one_of(
    st.sampled_from([0, 1, 2, 31, 32, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE]),
    st.integers(0, 0xFFFF_FFFF))


def straight_line_programs(max_length: int = 24) -> st.SearchStrategy[list[tuple]]:
    return st.lists(straight_line_instruction(), min_size=1, max_size=max_length)


@dataclass(frozen=True)
class WalkCase:
    """A random two-level translation of `va`: the L2 and L1 entries to install (their
    frames may lie outside memory) and the access to try."""
    va: int
    l2e: int
    l1e: int
    access: str     # "read", "write" or "fetch"
    ring: int       # 1 or 3
    value: int      # what a write stores


@st.composite
def walk_cases(draw: st.DrawFn, l1_frames: list[int], data_frames: list[int],
               min_l2_index: int = 1, min_offset: int = 0x100) -> WalkCase:
    """Entries with random P/W/U/A/D and ignored bits; L1 tables from `l1_frames`,
    final pages from `data_frames` (both may include frames beyond memory); the page
    offset is word aligned and at least `min_offset`."""
    l2_index = draw(st.integers(min_l2_index, 1023))
    l1_index = draw(st.integers(0, 1023))
    offset = draw(st.integers(min_offset // 4, PAGE_SIZE // 4 - 1)) * 4
    va = (l2_index << 22) | (l1_index << 12) | offset
    flags = st.integers(0, 0xFFF).map(lambda f: f | 1) if draw(st.booleans()) else \
        st.integers(0, 0xFFF)   # present most of the time
    l2e = (draw(st.sampled_from(l1_frames)) << 12) | draw(flags)
    l1e = (draw(st.sampled_from(data_frames)) << 12) | draw(flags)
    return WalkCase(va, l2e, l1e, draw(st.sampled_from(["read", "write", "fetch"])),
                    draw(st.sampled_from([1, 3])), draw(interesting_words))
