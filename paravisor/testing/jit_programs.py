"""Random whole guest programs for differential testing of engines (interpreter vs JIT).

A `GuestProgram` is a self-contained machine: code in two virtual pages, eight data pages
with random permissions (some read-only, unmapped or kernel-only; one aliases the first
code frame so stores rewrite code, one the data pages' L1 table so stores remap them),
random registers and data, in ring 1 or 3 with paging on (or ring 0 with paging off).
The code is built from snippets: ALU and mul/div (incl. by zero), loads and stores of
every size (some misaligned, some faulting), bounded loops, forward branches, calls and
returns, indirect jumps, atomics, hcall/syscall/break, privileged instructions,
self-modifying stores and PTE writes.  It ends in a self loop, so any budget can be spent.

`compare_engines` runs one program on two engines from identical machines, with a
"handler" that skips faulting instructions so runs go on after traps, and requires
identical exits after every run and identical state and memory at the end.
Needs hypothesis.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st

from paravisor.isa.engine import CPUState, Engine, Exit, ExitReason
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import (
    PAGE_SIZE,
    PTE_P,
    PTE_U,
    PTE_W,
    TRAP_VECTORS,
    Ring,
    encode,
)
from paravisor.testing.programs import PageTables, bump_allocator, enable_paging, load_words
from paravisor.testing.strategies import interesting_words, straight_line_instruction

CODE_VA = 0x0040_0000           # two code pages
DATA_VA = 0x0080_0000           # eight data pages, reached as imm(r15), imm < 0x8000
DATA_PAGES = 8
ALIAS_PAGE = 7                  # data page mapped (writable) onto the first code frame
PT_ALIAS_PAGE = 6               # data page mapped (writable) onto the data pages' L1 table
CODE_FRAMES = (1, 2)
DATA_FRAMES = tuple(range(3, 3 + DATA_PAGES))
L2_FRAME = 12
NFRAMES = 24
CODE_WORDS = 2 * PAGE_SIZE // 4
ADDR, LINK, COUNTER, BASE = 12, 13, 14, 15   # registers the snippets reserve
SCRATCH = tuple(range(1, ADDR))              # what random instructions may write

ALU_MNEMONICS = tuple(m for m in ("add", "sub", "and", "or", "xor", "sll", "srl", "sra",
                                  "slt", "sltu", "mul", "mulh", "mulhu", "div", "divu",
                                  "rem", "remu", "addi", "andi", "ori", "xori", "slli",
                                  "srli", "srai", "slti", "sltiu", "lui", "auipc"))
MEMORY_MNEMONICS = ("lb", "lbu", "lh", "lhu", "lw", "sb", "sh", "sw")
SYSTEM_SNIPPETS = ("hcall", "syscall", "break", "halt", "mfcr", "mtcr", "tlbflush",
                   "invlpg", "rfe", "fence")
Insn = tuple[str, dict[str, int]]


@dataclass(frozen=True)
class GuestProgram:
    code: tuple[Insn, ...]
    data_flags: tuple[int, ...]     # PTE flags of each data page (0: unmapped)
    code_user: bool                 # code pages carry PTE_U
    ring: int                       # 0 (paging off), 1 or 3
    regs: tuple[int, ...]           # r1..r11
    seed: int                       # data bytes


def _remap(insn: Insn) -> Insn:
    """Keep random instructions off the reserved registers."""
    mnemonic, ops = insn
    ops = dict(ops)
    if "rd" in ops:
        ops["rd"] = SCRATCH[ops["rd"] % len(SCRATCH)]
    return mnemonic, ops


@st.composite
def _alu(draw: st.DrawFn) -> list[Insn]:
    return [_remap(draw(straight_line_instruction(mnemonics=ALU_MNEMONICS)))]


@st.composite
def _memory(draw: st.DrawFn) -> list[Insn]:
    mnemonic = draw(st.sampled_from(MEMORY_MNEMONICS))
    size = {"b": 1, "h": 2, "w": 4}[mnemonic[1]]
    offset = draw(st.integers(0, DATA_PAGES * PAGE_SIZE // size - 1)) * size
    if draw(st.integers(0, 9)) == 0:
        offset |= draw(st.integers(0, size - 1))        # sometimes misaligned
    offset = min(offset, 0x7FFF)
    value = draw(st.sampled_from(SCRATCH))
    if mnemonic.startswith("s"):
        return [(mnemonic, {"rs2": value, "rs1": BASE, "imm": offset})]
    return [(mnemonic, {"rd": value, "rs1": BASE, "imm": offset})]


@st.composite
def _atomic(draw: st.DrawFn) -> list[Insn]:
    offset = draw(st.integers(0, DATA_PAGES * PAGE_SIZE // 4 - 1)) * 4
    offset |= draw(st.sampled_from([0, 0, 0, 0, 0, 0, 1, 2]))
    mnemonic = draw(st.sampled_from(["cas", "amoadd", "amoswap"]))
    return [("addi", {"rd": ADDR, "rs1": BASE, "imm": min(offset, 0x7FFF)}),
            (mnemonic, {"rd": draw(st.sampled_from(SCRATCH)), "rs1": ADDR,
                        "rs2": draw(st.sampled_from(SCRATCH))})]


@st.composite
def _loop(draw: st.DrawFn) -> list[Insn]:
    body = [insn for part in draw(st.lists(st.one_of(_alu(), _memory()), min_size=1,
                                           max_size=5)) for insn in part]
    trips = draw(st.integers(1, 12))
    return [("addi", {"rd": COUNTER, "rs1": 0, "imm": trips}), *body,
            ("addi", {"rd": COUNTER, "rs1": COUNTER, "imm": -1}),
            ("bne", {"rs1": COUNTER, "rs2": 0, "imm": -(len(body) + 1)})]


@st.composite
def _forward_branch(draw: st.DrawFn) -> list[Insn]:
    skipped = [insn for part in draw(st.lists(_alu(), min_size=0, max_size=3)) for insn in part]
    mnemonic = draw(st.sampled_from(["beq", "bne", "blt", "bge", "bltu", "bgeu"]))
    a, b = draw(st.sampled_from(SCRATCH)), draw(st.sampled_from((0, *SCRATCH)))
    return [(mnemonic, {"rs1": a, "rs2": b, "imm": len(skipped) + 1}), *skipped]


@st.composite
def _call(draw: st.DrawFn) -> list[Insn]:
    body = [insn for part in draw(st.lists(st.one_of(_alu(), _memory()), min_size=0,
                                           max_size=4)) for insn in part]
    return [("jal", {"rd": LINK, "imm": 2}), ("jal", {"rd": 0, "imm": len(body) + 2}),
            *body, ("jalr", {"rd": 0, "rs1": LINK, "imm": 0})]


@st.composite
def _indirect(draw: st.DrawFn) -> list[Insn]:
    skip = draw(st.integers(1, 3))
    misalign = draw(st.sampled_from([0, 0, 0, 0, 2]))
    return [("auipc", {"rd": ADDR, "imm": 0}),
            ("jalr", {"rd": draw(st.sampled_from((0, LINK))), "rs1": ADDR,
                      "imm": 4 * (skip + 2) + misalign}),
            *[("addi", {"rd": 1, "rs1": 1, "imm": 1})] * skip]


@st.composite
def _system(draw: st.DrawFn) -> list[Insn]:
    mnemonic = draw(st.sampled_from(SYSTEM_SNIPPETS))
    if mnemonic == "mfcr":
        return [(mnemonic, {"rd": draw(st.sampled_from(SCRATCH)), "imm": draw(st.integers(0, 9))})]
    if mnemonic == "mtcr":   # CRs that cannot wreck the machine for the rest of the run
        return [(mnemonic, {"rs1": draw(st.sampled_from(SCRATCH)),
                            "imm": draw(st.sampled_from([2, 3, 5, 6, 7, 9]))})]
    if mnemonic == "invlpg":
        return [(mnemonic, {"rs1": BASE})]
    return [(mnemonic, {})]


@st.composite
def _self_modifying(draw: st.DrawFn) -> list[Insn]:
    """Store an instruction word through the alias page into code (maybe its own block)."""
    word = encode("addi", rd=draw(st.sampled_from(SCRATCH)), rs1=0, imm=draw(st.integers(-9, 9)))
    index = draw(st.integers(0, 255))
    return [("lui", {"rd": ADDR, "imm": word >> 12}),
            ("ori", {"rd": ADDR, "rs1": ADDR, "imm": word & 0xFFF}),
            ("sw", {"rs2": ADDR, "rs1": BASE, "imm": ALIAS_PAGE * PAGE_SIZE + 4 * index})]


@st.composite
def _pte_write(draw: st.DrawFn) -> list[Insn]:
    """Rewrite the PTE of a data page through the page-table alias (the next access to
    that page must see the new mapping, even within the same block)."""
    mfn = draw(st.sampled_from((*DATA_FRAMES, CODE_FRAMES[0], 0xFFFF)))
    pte = (mfn << 12) | draw(st.sampled_from([PTE_P | PTE_W | PTE_U, PTE_P | PTE_U,
                                              PTE_P | PTE_W, 0]))
    page = draw(st.integers(0, DATA_PAGES - 1))
    return [("lui", {"rd": ADDR, "imm": pte >> 12}),
            ("ori", {"rd": ADDR, "rs1": ADDR, "imm": pte & 0xFFF}),
            ("sw", {"rs2": ADDR, "rs1": BASE, "imm": PT_ALIAS_PAGE * PAGE_SIZE + 4 * page})]


def _snippets() -> st.SearchStrategy[list[Insn]]:
    return st.one_of(_alu(), _alu(), _memory(), _memory(), _loop(), _forward_branch(),
                     _call(), _indirect(), _atomic(), _system(), _self_modifying(),
                     _pte_write())


@st.composite
def guest_programs(draw: st.DrawFn, max_snippets: int = 24) -> GuestProgram:
    parts = draw(st.lists(_snippets(), min_size=1, max_size=max_snippets))
    pad = draw(st.integers(0, 900))   # sometimes push code across the page boundary
    code = [insn for part in parts for insn in part]
    if pad > 600 and len(code) < CODE_WORDS // 2:
        # Jump over filler so that the program straddles the two code pages.
        skip = 1024 - len(code) // 2
        code = [("jal", {"rd": 0, "imm": skip})] + [("fence", {})] * (skip - 1) + code
    code.append(("jal", {"rd": 0, "imm": 0}))     # the self loop at the end
    code = code[:CODE_WORDS - 1] + [("jal", {"rd": 0, "imm": 0})]
    rw, ro = PTE_P | PTE_W | PTE_U, PTE_P | PTE_U
    flags = draw(st.lists(st.sampled_from([rw, rw, rw, ro, 0, PTE_P | PTE_W]),
                          min_size=DATA_PAGES, max_size=DATA_PAGES))
    flags[ALIAS_PAGE] = flags[PT_ALIAS_PAGE] = rw
    return GuestProgram(
        code=tuple(code), data_flags=tuple(flags),
        code_user=draw(st.integers(0, 7)) > 0,
        ring=draw(st.sampled_from([1, 1, 3, 3, 0])),
        regs=tuple(draw(st.lists(interesting_words, min_size=len(SCRATCH),
                                 max_size=len(SCRATCH)))),
        seed=draw(st.integers(0, 2**32)))


def build_machine(program: GuestProgram) -> tuple[MachineMemory, CPUState]:
    """A fresh machine for `program` (deterministic: equal programs, equal machines)."""
    memory = MachineMemory(NFRAMES)
    words = [encode(m, **ops) for m, ops in program.code]
    load_words(memory, CODE_FRAMES[0] << 12, words)
    rng = random.Random(program.seed)
    for mfn in DATA_FRAMES:
        memory.write(mfn << 12, rng.randbytes(PAGE_SIZE))
    cpu = CPUState(pc=CODE_VA, ring=Ring(program.ring))
    cpu.regs[1:1 + len(program.regs)] = list(program.regs)
    cpu.regs[BASE] = DATA_VA
    if program.ring == 0:   # paging off: virtual = machine; data at DATA_FRAMES
        cpu.pc, cpu.regs[BASE] = CODE_FRAMES[0] << 12, DATA_FRAMES[0] << 12
        return memory, cpu
    tables = PageTables(memory, L2_FRAME, bump_allocator(L2_FRAME + 1))
    code_flags = PTE_P | (PTE_U if program.code_user else 0)
    for n, mfn in enumerate(CODE_FRAMES):
        tables.map(CODE_VA + n * PAGE_SIZE, mfn, code_flags)
    aliases = {ALIAS_PAGE: CODE_FRAMES[0], PT_ALIAS_PAGE: tables.l1e_addr(DATA_VA) >> 12}
    for n, flags in enumerate(program.data_flags):
        mfn = aliases.get(n, DATA_FRAMES[n])
        if flags:
            tables.map(DATA_VA + n * PAGE_SIZE, mfn, flags)
    enable_paging(cpu, tables)
    return memory, cpu


def _resume(cpu: CPUState, result: Exit) -> bool:
    """What a trivial trap handler does between runs: continue after traps and hcalls,
    skip a faulting data instruction; False to stop (halt, or a fault on the fetch)."""
    if result.reason is ExitReason.HALT:
        return False
    trap = result.trap
    if result.reason is ExitReason.TRAP and trap.vector not in TRAP_VECTORS:
        if trap.fault_addr == trap.pc:
            return False
        cpu.pc = (cpu.pc + 4) & 0xFFFF_FFFC
    return True


def compare_engines(program: GuestProgram, budgets: list[int],
                    reference: Callable[[MachineMemory], Engine],
                    candidate: Callable[[MachineMemory], Engine]) -> list:
    """Run `program` on both engines, one run per budget, and assert that every Exit and
    snapshot agree and that memory agrees at the end.  Returns the exits."""
    mem_a, cpu_a = build_machine(program)
    mem_b, cpu_b = build_machine(program)
    eng_a, eng_b = reference(mem_a), candidate(mem_b)
    exits = []
    for n, budget in enumerate(budgets):
        exit_a, exit_b = eng_a.run(cpu_a, budget), eng_b.run(cpu_b, budget)
        assert exit_a == exit_b, f"run {n} (budget {budget}): {exit_a} != {exit_b}"
        assert cpu_a.snapshot() == cpu_b.snapshot(), f"run {n}: state differs"
        exits.append(exit_a)
        if not (_resume(cpu_a, exit_a) and _resume(cpu_b, exit_b)):
            break
    assert mem_a.data == mem_b.data, _first_difference(mem_a, mem_b)
    return exits


def _first_difference(a: MachineMemory, b: MachineMemory) -> str:
    for at in range(0, a.size, 4):
        if a.data[at:at + 4] != b.data[at:at + 4]:
            return (f"memory differs first at {at:#x}: {bytes(a.data[at:at + 4]).hex()} "
                    f"vs {bytes(b.data[at:at + 4]).hex()}")
    return "memory sizes differ"
