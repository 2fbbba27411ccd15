"""Reference-interpreter speed: MIPS on three loops (ALU, memory with paging on,
call/return).  `python benchmarks/interp.py [--json] [--instructions N]`."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from paravisor.isa.engine import CPUState, ExitReason
from paravisor.isa.interpreter import Interpreter
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import PTE_P, PTE_W, Ring
from paravisor.testing.programs import (
    PageTables,
    assemble,
    bump_allocator,
    enable_paging,
    i,
    li,
    load_words,
)

CODE_VA = 0x0040_0000
DATA_VA = 0x0080_0000
CODE_MFN, DATA_MFN, L2_MFN = 1, 2, 3


def alu_loop() -> list:
    """A counter loop with a few dependent ALU operations per iteration."""
    return [
        i("addi", rd=3, rs1=3, imm=1),
        i("xor", rd=4, rs1=4, rs2=3),
        i("slli", rd=5, rs1=4, imm=3),
        i("add", rd=6, rs1=6, rs2=5),
        i("sub", rd=7, rs1=6, rs2=3),
        i("andi", rd=8, rs1=7, imm=0xFF),
        i("jal", rd=0, imm=-6),
    ]


def memory_loop() -> list:
    """Sum a 1 KiB array while writing a running total back; paging on."""
    return li(10, DATA_VA) + [
        i("addi", rd=11, rs1=10, imm=1024),
        i("addi", rd=12, rs1=10, imm=0),
        i("lw", rd=3, rs1=12, imm=0),
        i("add", rd=4, rs1=4, rs2=3),
        i("sw", rs2=4, rs1=12, imm=0),
        i("addi", rd=12, rs1=12, imm=4),
        i("bne", rs1=12, rs2=11, imm=-4),
        i("jal", rd=0, imm=-6),
    ]


def call_loop() -> list:
    """A loop calling a three-instruction leaf function."""
    return [
        i("jal", rd=1, imm=3),          # call leaf
        i("addi", rd=5, rs1=5, imm=1),
        i("jal", rd=0, imm=-2),
        i("add", rd=3, rs1=3, rs2=5),   # leaf:
        i("xori", rd=4, rs1=3, imm=7),
        i("jalr", rd=0, rs1=1, imm=0),
    ]


def _machine(program: list, paging: bool) -> tuple[Interpreter, CPUState]:
    memory = MachineMemory(16)
    load_words(memory, CODE_MFN << 12, assemble(program))
    cpu = CPUState(pc=CODE_MFN << 12, ring=Ring.HYPERVISOR)
    if paging:
        tables = PageTables(memory, L2_MFN, bump_allocator(L2_MFN + 1))
        tables.map(CODE_VA, CODE_MFN, PTE_P)
        tables.map(DATA_VA, DATA_MFN, PTE_P | PTE_W)
        enable_paging(cpu, tables)
        cpu.pc = CODE_VA
        cpu.ring = int(Ring.KERNEL)
    return Interpreter(memory), cpu


def measure(name: str, program: Callable[[], list], paging: bool, n: int) -> dict:
    engine, cpu = _machine(program(), paging)
    engine.run(cpu, 1000)   # warm the block cache and TLB
    began = time.perf_counter()
    result = engine.run(cpu, n)
    elapsed = time.perf_counter() - began
    if result.reason is not ExitReason.BUDGET:
        raise SystemExit(f"{name}: unexpected exit {result}")
    return {"name": name, "instructions": n, "seconds": round(elapsed, 4),
            "mips": round(n / elapsed / 1e6, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--instructions", type=int, default=2_000_000)
    args = parser.parse_args()
    loops = [measure("alu", alu_loop, False, args.instructions),
             measure("memory_paged", memory_loop, True, args.instructions),
             measure("call_return", call_loop, False, args.instructions)]
    if args.json:
        print(json.dumps({"loops": loops}))
    else:
        for loop in loops:
            print(f"{loop['name']:14} {loop['mips']:7.2f} MIPS")


if __name__ == "__main__":
    main()
