"""Exact retired counts and the privilege rule (Popek and Goldberg) in the interpreter."""

import pytest

from paravisor.isa.engine import CPUState, ExitReason
from paravisor.isa.interpreter import Interpreter
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import (
    CR,
    INSTRUCTIONS,
    Privilege,
    Vector,
    operand_fields,
)
from paravisor.testing.programs import assemble, i, load_words, run_program

# A loop with a call: blocks of several lengths, taken and untaken branches, a jalr.
LOOP = [
    i("addi", rd=1, rs1=0, imm=6),           # 0x00
    i("addi", rd=2, rs1=2, imm=1),           # 0x04 loop:
    i("add", rd=3, rs1=3, rs2=2),            # 0x08
    i("jal", rd=5, imm=4),                   # 0x0c call f
    i("bne", rs1=2, rs2=1, imm=-3),          # 0x10
    i("halt"),                               # 0x14
    i("addi", rd=0, rs1=0, imm=0),           # 0x18 (never runs)
    i("xori", rd=4, rs1=3, imm=0x55),        # 0x1c f:
    i("slli", rd=6, rs1=4, imm=1),           # 0x20
    i("jalr", rd=0, rs1=5, imm=0),           # 0x24
]
LOOP_LENGTH = 1 + 6 * 7 + 1   # instructions until halt retires


def fresh(program):
    memory = MachineMemory(2)
    load_words(memory, 0, assemble(program))
    return Interpreter(memory), CPUState(pc=0, ring=0)


def stepped(program, steps):
    engine, cpu = fresh(program)
    for _ in range(steps):
        if engine.run(cpu, 1).reason is not ExitReason.BUDGET:
            break
    return cpu


def test_whole_run_retires_the_hand_counted_number():
    engine, cpu = fresh(LOOP)
    result = engine.run(cpu, 10_000)
    assert (result.reason, result.retired, cpu.instret) == (ExitReason.HALT, LOOP_LENGTH,
                                                            LOOP_LENGTH)
    assert cpu.regs[2] == 6 and cpu.regs[3] == 21


@pytest.mark.parametrize("budget", range(1, LOOP_LENGTH))
def test_every_budget_stops_exactly_and_matches_single_stepping(budget):
    engine, cpu = fresh(LOOP)
    result = engine.run(cpu, budget)
    assert (result.reason, result.retired, cpu.instret) == (ExitReason.BUDGET, budget, budget)
    assert cpu.snapshot() == stepped(LOOP, budget).snapshot()
    # ... and the rest of the run, resumed, ends exactly where an unbroken run does.
    rest = engine.run(cpu, 10_000)
    assert rest.reason is ExitReason.HALT and rest.retired == LOOP_LENGTH - budget


def test_chunked_runs_add_up():
    engine, cpu = fresh(LOOP)
    total = 0
    for chunk in [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 100]:
        result = engine.run(cpu, chunk)
        total += result.retired
        if result.reason is ExitReason.HALT:
            break
    assert total == LOOP_LENGTH == cpu.instret


FAULTING = [i("addi", rd=1, rs1=0, imm=0x1002), i("addi", rd=2, rs1=0, imm=1),
            i("addi", rd=3, rs1=0, imm=2), i("lw", rd=4, rs1=1, imm=0),
            i("addi", rd=5, rs1=0, imm=3)]


@pytest.mark.parametrize("budget", range(1, 7))
def test_fault_mid_block(budget):
    engine, cpu = fresh(FAULTING)
    result = engine.run(cpu, budget)
    if budget <= 3:
        assert result.reason is ExitReason.BUDGET and result.retired == budget
    else:
        assert result.reason is ExitReason.TRAP and result.retired == 3
        assert result.trap.vector is Vector.ALIGNMENT_CHECK and result.trap.pc == 12
        assert cpu.pc == 12 and cpu.instret == 3 and cpu.regs[5] == 0


def test_instret_accumulates_across_runs_and_mfcr_reads_it_mid_block():
    program = [i("addi", rd=1, rs1=1, imm=1)] * 5 + [i("mfcr", rd=2, imm=CR.INSTRET),
                                                     i("halt")]
    engine, cpu = fresh(program)
    cpu.instret = (1 << 32) + 100
    engine.run(cpu, 2)
    result = engine.run(cpu, 100)
    assert result.retired == 5 and cpu.regs[2] == 105 and cpu.instret == (1 << 32) + 107


def privileged_cases():
    for insn in INSTRUCTIONS:
        if insn.privilege is not Privilege.PRIVILEGED:
            continue
        operands = {}
        for name in operand_fields(insn):
            operands[name] = int(CR.SCRATCH) if name == "imm" else 3
        yield insn.mnemonic, operands


@pytest.mark.parametrize("ring", [1, 3])
@pytest.mark.parametrize("mnemonic, operands", list(privileged_cases()))
def test_privileged_instructions_fault_gp_outside_ring_0(mnemonic, operands, ring):
    cpu, memory, result = run_program([i("addi", rd=3, rs1=0, imm=0x77), i(mnemonic, **operands),
                                       i("addi", rd=4, rs1=0, imm=1)], ring=ring)
    assert result.reason is ExitReason.TRAP and result.retired == 1
    assert result.trap.vector is Vector.GENERAL_PROTECTION and result.trap.error_code == 0
    assert cpu.pc == 4 and cpu.ring == ring and cpu.regs[3] == 0x77 and cpu.regs[4] == 0
    assert cpu.cr == [0] * len(CR) and cpu.instret == 1


def test_table_privileges_are_the_ones_tested():
    assert {m for m, _ in privileged_cases()} == {
        "mfcr", "mtcr", "halt", "tlbflush", "invlpg", "rfe"}
