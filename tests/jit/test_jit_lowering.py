"""Every row of the ISA table has its `lower_<mnemonic>`, and each lowering is compiled
and run (in a hot loop) with the interpreter's results."""

import pytest

from paravisor.isa.engine import CPUState, ExitReason
from paravisor.isa.interpreter import Interpreter
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import CR, INSTRUCTIONS, TRAP_VECTORS, Imm, Ring, encode, operand_fields
from paravisor.jit import JitEngine
from paravisor.jit.config import JitConfig
from paravisor.jit.lower import lowering_for
from paravisor.testing.programs import load_words

DATA = 0x1000
OPERANDS = {"rd": 3, "rs1": 4, "rs2": 5}


def operands_for(insn):
    """Operands that keep the loop running: memory through r15 = DATA, branches and
    jumps to the next instruction, mtcr/mfcr on SCRATCH."""
    ops = {}
    for name in operand_fields(insn):
        if name == "imm":
            ops[name] = {Imm.CR: int(CR.SCRATCH), Imm.BRANCH16: 1, Imm.JUMP20: 1}.get(insn.imm, 8)
        else:
            ops[name] = OPERANDS[name]
    if insn.access_size or insn.mnemonic == "invlpg":
        ops["rs1"] = 15
    if insn.mnemonic == "jalr":
        ops.update(rs1=0, imm=4)
    return ops


def run_loop(make_engine, word):
    memory = MachineMemory(4)
    load_words(memory, 0, [word, encode("addi", rd=6, rs1=6, imm=1), encode("jal", rd=0, imm=-2)])
    cpu = CPUState(pc=0, ring=Ring.HYPERVISOR)
    cpu.regs[3:6] = [10, 20, 3]
    cpu.regs[15] = DATA
    engine = make_engine(memory)
    exits = []
    for _ in range(12):
        result = engine.run(cpu, 25)
        exits.append(result)
        if result.reason is ExitReason.HALT:
            cpu.pc = 4
        elif result.reason is ExitReason.TRAP and result.trap.vector not in TRAP_VECTORS:
            cpu.pc += 4
    return exits, cpu.snapshot(), bytes(memory.data), engine


def test_every_table_entry_has_a_lowering():
    for insn in INSTRUCTIONS:
        assert callable(lowering_for(insn.mnemonic)), insn.mnemonic
    with pytest.raises(KeyError):
        lowering_for("no_such_instruction")


@pytest.mark.parametrize("insn", INSTRUCTIONS, ids=lambda insn: insn.mnemonic)
def test_each_lowering_is_compiled_and_agrees(insn):
    word = encode(insn.mnemonic, **operands_for(insn))
    reference = run_loop(Interpreter, word)
    result = run_loop(lambda m: JitEngine(m, JitConfig(threshold=1)), word)
    assert result[:3] == reference[:3]
    assert result[3].stats.lowered[insn.mnemonic] >= 1
    assert sum(e.retired for e in result[0]) > 0
