"""Builders for PV32 test programs and page tables, straight from the ISA table
(no assembler needed).  Addresses are machine addresses unless a name says `va`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from paravisor.isa.engine import CPUState, Exit
from paravisor.isa.interpreter import Interpreter
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import (
    CR,
    PAGE_SHIFT,
    PTE_P,
    PTE_U,
    PTE_W,
    STATUS_PG,
    Ring,
    encode,
    l1_index,
    l2_index,
    make_pte,
    pte_frame,
)


def assemble(program: Iterable[tuple[str, dict[str, int]] | int]) -> list[int]:
    """Encode a list of (mnemonic, operands) pairs; plain ints pass through as data words."""
    words = []
    for item in program:
        if isinstance(item, int):
            words.append(item)
        else:
            mnemonic, operands = item
            words.append(encode(mnemonic, **operands))
    return words


def i(mnemonic: str, **operands: int) -> tuple[str, dict[str, int]]:
    """One instruction for `assemble`: i("addi", rd=1, rs1=0, imm=5)."""
    return (mnemonic, operands)


def li(rd: int, value: int) -> list[tuple[str, dict[str, int]]]:
    """Load a 32-bit constant into `rd` (lui + ori)."""
    value &= 0xFFFF_FFFF
    return [i("lui", rd=rd, imm=value >> 12),
            i("ori", rd=rd, rs1=rd, imm=value & 0xFFF)]


def load_words(memory: MachineMemory, maddr: int, words: Sequence[int]) -> None:
    """Write little-endian words at `maddr` (through memory.write, so watchers hear)."""
    memory.write(maddr, b"".join((w & 0xFFFF_FFFF).to_bytes(4, "little") for w in words))


class PageTables:
    """Builds a two-level page table in machine memory.

    `l2_mfn` is the page directory; L1 tables come from `alloc()` (a frame number) as
    needed.  Entries are written with memory.write32, like the hypervisor would."""

    def __init__(self, memory: MachineMemory, l2_mfn: int, alloc: Callable[[], int]) -> None:
        self.memory, self.l2_mfn, self.alloc = memory, l2_mfn, alloc
        memory.zero_frame(l2_mfn)

    @property
    def ptbr(self) -> int:
        return self.l2_mfn << PAGE_SHIFT

    def l2e_addr(self, va: int) -> int:
        return (self.l2_mfn << PAGE_SHIFT) + 4 * l2_index(va)

    def l1e_addr(self, va: int) -> int:
        """Address of va's L1 entry, creating the L1 table (with P|W|U) if needed."""
        l2e = self.memory.read32(self.l2e_addr(va))
        if not l2e & PTE_P:
            l1_mfn = self.alloc()
            self.memory.zero_frame(l1_mfn)
            l2e = make_pte(l1_mfn, PTE_P | PTE_W | PTE_U)
            self.memory.write32(self.l2e_addr(va), l2e)
        return (pte_frame(l2e) << PAGE_SHIFT) + 4 * l1_index(va)

    def map(self, va: int, mfn: int, flags: int = PTE_P | PTE_W | PTE_U) -> None:
        self.memory.write32(self.l1e_addr(va), make_pte(mfn, flags))


def bump_allocator(first_mfn: int) -> Callable[[], int]:
    """Hands out consecutive frame numbers starting at `first_mfn`."""
    nxt = [first_mfn]

    def alloc() -> int:
        nxt[0] += 1
        return nxt[0] - 1
    return alloc


def enable_paging(cpu: CPUState, tables: PageTables) -> None:
    cpu.cr[CR.PTBR] = tables.ptbr
    cpu.cr[CR.STATUS] |= STATUS_PG


def run_words(words: Sequence[int], budget: int = 1000, nframes: int = 4,
              ring: Ring = Ring.HYPERVISOR, at: int = 0) -> tuple[CPUState, MachineMemory, Exit]:
    """Load `words` at machine address `at`, run them with paging off from there."""
    memory = MachineMemory(nframes)
    load_words(memory, at, words)
    cpu = CPUState(pc=at, ring=ring)
    return cpu, memory, Interpreter(memory).run(cpu, budget)


def run_program(program: Iterable[tuple[str, dict[str, int]] | int],
                regs: dict[int, int] | None = None, budget: int = 1000, nframes: int = 4,
                ring: Ring = Ring.HYPERVISOR, at: int = 0,
                data: dict[int, Sequence[int]] | None = None,
                ) -> tuple[CPUState, MachineMemory, Exit]:
    """Like `run_words`, for (mnemonic, operands) items, with registers preset and
    `data` (machine address -> words) loaded first."""
    memory = MachineMemory(nframes)
    load_words(memory, at, assemble(program))
    for maddr, words in (data or {}).items():
        load_words(memory, maddr, words)
    cpu = CPUState(pc=at, ring=ring)
    for number, value in (regs or {}).items():
        cpu.regs[number] = value & 0xFFFF_FFFF
    return cpu, memory, Interpreter(memory).run(cpu, budget)
