"""Random straight-line programs: the interpreter agrees with an obviously-correct model
of the table semantics written here, independently of paravisor.isa.semantics."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paravisor.isa.engine import CPUState, ExitReason
from paravisor.isa.interpreter import Interpreter
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import PAGE_SIZE, Vector
from paravisor.testing.programs import assemble, i, load_words
from paravisor.testing.strategies import (
    BASE_REG,
    STRAIGHT_LINE_MNEMONICS,
    interesting_words,
    straight_line_instruction,
    straight_line_programs,
)

CODE, DATA = 0x0000, 0x1000
WRAP = 1 << 32


def signed(x):
    return x - WRAP if x >= 1 << 31 else x


def trunc_div(x, y):
    # Python's // floors; the ISA truncates toward zero.
    q = abs(x) // abs(y)
    return q if (x >= 0) == (y >= 0) else -q


class Fault(Exception):
    def __init__(self, vector, addr=None):
        self.vector, self.addr = vector, addr


def alu(mnemonic, a, b, imm, pc):
    sa, sb = signed(a), signed(b)
    if mnemonic in ("div", "divu", "rem", "remu") and b == 0:
        raise Fault(Vector.DIVIDE_ERROR)
    table = {
        "add": lambda: a + b, "sub": lambda: a - b, "and": lambda: a & b,
        "or": lambda: a | b, "xor": lambda: a ^ b, "sll": lambda: a << (b % 32),
        "srl": lambda: a >> (b % 32), "sra": lambda: sa >> (b % 32),
        "slt": lambda: int(sa < sb), "sltu": lambda: int(a < b), "mul": lambda: sa * sb,
        "mulh": lambda: (sa * sb) >> 32, "mulhu": lambda: (a * b) >> 32,
        "div": lambda: trunc_div(sa, sb), "divu": lambda: a // b,
        "rem": lambda: sa - trunc_div(sa, sb) * sb, "remu": lambda: a % b,
        "addi": lambda: a + imm, "andi": lambda: a & imm, "ori": lambda: a | imm,
        "xori": lambda: a ^ imm, "slli": lambda: a << imm, "srli": lambda: a >> imm,
        "srai": lambda: sa >> imm, "slti": lambda: int(sa < imm),
        "sltiu": lambda: int(a < imm % WRAP), "lui": lambda: imm * 4096,
        "auipc": lambda: pc + imm * 4096,
    }
    return table[mnemonic]() % WRAP


LOADS = {"lb": (1, True), "lbu": (1, False), "lh": (2, True), "lhu": (2, False), "lw": (4, False)}
STORES = {"sb": 1, "sh": 2, "sw": 4}


def model_step(regs, data, mnemonic, ops, pc):
    """Apply one instruction to (regs, data: bytearray at DATA); raise Fault on a fault."""
    a, b = regs[ops.get("rs1", 0)], regs[ops.get("rs2", 0)]
    if mnemonic in LOADS or mnemonic in STORES:
        addr = (a + ops["imm"]) % WRAP
        size = LOADS[mnemonic][0] if mnemonic in LOADS else STORES[mnemonic]
        if addr % size:
            raise Fault(Vector.ALIGNMENT_CHECK, addr)
        at = addr - DATA
        if mnemonic in STORES:
            data[at:at + size] = (b % (1 << 8 * size)).to_bytes(size, "little")
            return
        value = int.from_bytes(data[at:at + size], "little", signed=LOADS[mnemonic][1])
    else:
        value = alu(mnemonic, a, b, ops.get("imm", 0), pc)
    if ops["rd"] != 0:
        regs[ops["rd"]] = value % WRAP


def model_run(program, regs, data):
    for index, (mnemonic, ops) in enumerate(program):
        try:
            model_step(regs, data, mnemonic, ops, CODE + 4 * index)
        except Fault as fault:
            return index, fault
    return len(program), None


def check_against_model(program, initial, seed_bytes):
    regs = [0] + initial[:14] + [DATA]
    data = bytearray(seed_bytes * (PAGE_SIZE // 64))
    memory = MachineMemory(2)
    load_words(memory, CODE, assemble(program + [i("halt")]))
    memory.write(DATA, bytes(data))
    cpu = CPUState(pc=CODE, ring=0)
    cpu.regs[:] = regs
    result = Interpreter(memory).run(cpu, len(program) + 1)

    retired, fault = model_run(program, regs, data)
    assert cpu.regs == regs
    assert memory.read(DATA, PAGE_SIZE) == bytes(data)
    if fault is None:
        assert result.reason is ExitReason.HALT and result.retired == retired + 1
    else:
        assert result.retired == retired == cpu.instret
        assert result.reason is ExitReason.TRAP and result.trap.vector is fault.vector
        assert result.trap.fault_addr == fault.addr and cpu.pc == CODE + 4 * retired
    assert regs[BASE_REG] == DATA


@given(straight_line_programs(), st.lists(interesting_words, min_size=15, max_size=15),
       st.binary(min_size=64, max_size=64))
def test_straight_line_programs_match_the_model(program, initial, seed_bytes):
    check_against_model(program, initial, seed_bytes)


@pytest.mark.parametrize("mnemonic", STRAIGHT_LINE_MNEMONICS)
@given(data=st.data(), initial=st.lists(interesting_words, min_size=15, max_size=15),
       seed_bytes=st.binary(min_size=64, max_size=64))
def test_each_instruction_matches_the_model(mnemonic, data, initial, seed_bytes):
    # One instruction at a time, so every mnemonic gets its share of random operands.
    insn = data.draw(straight_line_instruction(mnemonics=(mnemonic,)))
    check_against_model([insn, insn], initial, seed_bytes)
