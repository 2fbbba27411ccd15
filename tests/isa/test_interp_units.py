"""One hand-computed case (or several edge cases) per PV32 instruction, run through the
reference interpreter with paging off in ring 0."""

import pytest

from paravisor.isa import semantics
from paravisor.isa.engine import CPUState, ExitReason
from paravisor.isa.interpreter import Interpreter
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import (
    CR,
    INSTRUCTIONS,
    STATUS_PIE,
    STATUS_PRING_SHIFT,
    STATUS_RING_SHIFT,
    Vector,
)
from paravisor.testing.programs import assemble, i, load_words, run_program

INT_MIN = 0x8000_0000
NEG1 = 0xFFFF_FFFF


def test_every_table_entry_has_its_semantics():
    for insn in INSTRUCTIONS:
        assert callable(getattr(semantics, "execute_" + insn.mnemonic, None)), insn.mnemonic


def rrr(mnemonic, x, y):
    cpu, _, ex = run_program([i(mnemonic, rd=3, rs1=1, rs2=2), i("halt")], regs={1: x, 2: y})
    assert ex.reason is ExitReason.HALT, ex
    return cpu.regs[3]


@pytest.mark.parametrize("mnemonic, x, y, expected", [
    ("add", 5, 7, 12), ("add", NEG1, 1, 0), ("add", 0x7FFF_FFFF, 1, INT_MIN),
    ("sub", 5, 7, 0xFFFF_FFFE), ("sub", INT_MIN, 1, 0x7FFF_FFFF),
    ("and", 0xF0F0, 0xFF00, 0xF000), ("or", 0xF0F0, 0x0F00, 0xFFF0),
    ("xor", 0xFFFF, 0x0F0F, 0xF0F0),
    ("sll", 1, 31, INT_MIN), ("sll", 3, 32, 3), ("sll", 3, 0, 3), ("sll", NEG1, 4, 0xFFFF_FFF0),
    ("srl", INT_MIN, 31, 1), ("srl", NEG1, 0, NEG1), ("srl", NEG1, 36, 0x0FFF_FFFF),
    ("sra", INT_MIN, 31, NEG1), ("sra", INT_MIN, 4, 0xF800_0000), ("sra", 0x4000_0000, 30, 1),
    ("slt", NEG1, 0, 1), ("slt", 0, NEG1, 0), ("slt", 3, 3, 0), ("slt", INT_MIN, 0x7FFF_FFFF, 1),
    ("sltu", NEG1, 0, 0), ("sltu", 0, NEG1, 1), ("sltu", 3, 3, 0),
    ("mul", 0x10000, 0x10000, 0), ("mul", NEG1, NEG1, 1), ("mul", 7, 6, 42),
    ("mulh", NEG1, NEG1, 0), ("mulh", INT_MIN, 2, NEG1), ("mulh", 0x10000, 0x10000, 1),
    ("mulhu", NEG1, NEG1, 0xFFFF_FFFE), ("mulhu", INT_MIN, 2, 1),
    ("div", 7, 2, 3), ("div", (-7) & NEG1, 2, (-3) & NEG1), ("div", 7, (-2) & NEG1, (-3) & NEG1),
    ("div", INT_MIN, NEG1, INT_MIN), ("divu", NEG1, 2, 0x7FFF_FFFF), ("divu", 7, 8, 0),
    ("rem", 7, 2, 1), ("rem", (-7) & NEG1, 2, NEG1), ("rem", 7, (-2) & NEG1, 1),
    ("rem", INT_MIN, NEG1, 0), ("remu", NEG1, 10, 5), ("remu", 3, 8, 3),
])
def test_register_register_alu(mnemonic, x, y, expected):
    assert rrr(mnemonic, x, y) == expected


@pytest.mark.parametrize("mnemonic", ["div", "divu", "rem", "remu"])
@pytest.mark.parametrize("rd", [0, 3])
def test_division_by_zero_faults_and_changes_nothing(mnemonic, rd):
    cpu, _, ex = run_program([i("addi", rd=3, rs1=0, imm=9),
                              i(mnemonic, rd=rd, rs1=1, rs2=2), i("halt")], regs={1: 5})
    assert ex.reason is ExitReason.TRAP and ex.trap.vector is Vector.DIVIDE_ERROR
    assert (ex.retired, cpu.pc, ex.trap.pc, cpu.regs[3]) == (1, 4, 4, 9)


def rri(mnemonic, x, imm):
    cpu, _, ex = run_program([i(mnemonic, rd=3, rs1=1, imm=imm), i("halt")], regs={1: x})
    assert ex.reason is ExitReason.HALT, ex
    return cpu.regs[3]


@pytest.mark.parametrize("mnemonic, x, imm, expected", [
    ("addi", 5, -6, NEG1), ("addi", NEG1, 1, 0), ("addi", 0, -0x8000, 0xFFFF_8000),
    ("andi", NEG1, 0xFFFF, 0xFFFF), ("ori", INT_MIN, 0x8000, 0x8000_8000),
    ("xori", NEG1, 0xFFFF, 0xFFFF_0000),
    ("slli", 1, 31, INT_MIN), ("slli", 5, 0, 5), ("srli", INT_MIN, 31, 1), ("srli", NEG1, 0, NEG1),
    ("srai", INT_MIN, 31, NEG1), ("srai", 0x7000_0000, 28, 7), ("srai", 9, 0, 9),
    ("slti", NEG1, 0, 1), ("slti", 0, -1, 0), ("slti", 5, 6, 1),
    ("sltiu", 5, -1, 1), ("sltiu", NEG1, -1, 0), ("sltiu", 0, 1, 1),
])
def test_register_immediate_alu(mnemonic, x, imm, expected):
    assert rri(mnemonic, x, imm) == expected


def test_lui_and_auipc():
    cpu, _, _ = run_program([i("lui", rd=3, imm=0xFFFFF), i("auipc", rd=4, imm=0x12345),
                             i("auipc", rd=5, imm=0), i("halt")], at=0x1000)
    assert cpu.regs[3:6] == [0xFFFF_F000, 0x1234_6004, 0x1008]


def test_writes_to_r0_are_dropped():
    cpu, _, _ = run_program([i("addi", rd=0, rs1=0, imm=5), i("lui", rd=0, imm=1),
                             i("add", rd=3, rs1=0, rs2=0), i("jal", rd=0, imm=1), i("halt")])
    assert cpu.regs[0] == 0 and cpu.regs[3] == 0


DATA = 0x1000   # the second frame


def memory_program(op, regs=None, data=None):
    return run_program([i("addi", rd=1, rs1=0, imm=DATA)] + op + [i("halt")], regs=regs,
                       data=data)


@pytest.mark.parametrize("mnemonic, offset, expected", [
    ("lb", 0, 0xFFFF_FF80), ("lbu", 0, 0x80), ("lb", 1, 0x7F), ("lh", 2, 0xFFFF_8001),
    ("lhu", 2, 0x8001), ("lw", 0, 0x8001_7F80), ("lw", 4, 0x1234_5678),
])
def test_loads_extend_as_the_table_says(mnemonic, offset, expected):
    cpu, _, _ = memory_program([i(mnemonic, rd=3, rs1=1, imm=offset)],
                               data={DATA: [0x8001_7F80, 0x1234_5678]})
    assert cpu.regs[3] == expected


def test_load_to_r0_still_faults():
    cpu, _, ex = memory_program([i("lw", rd=0, rs1=1, imm=2)])
    assert ex.trap.vector is Vector.ALIGNMENT_CHECK and ex.trap.fault_addr == DATA + 2
    cpu, _, ex = run_program([i("lui", rd=1, imm=0x10), i("lw", rd=0, rs1=1, imm=0)])
    assert ex.trap.vector is Vector.GENERAL_PROTECTION and ex.trap.fault_addr == 0x10000


@pytest.mark.parametrize("mnemonic, expected", [
    ("sb", [0xEF, 0, 0, 0]), ("sh", [0xEF, 0xBE, 0, 0]), ("sw", [0xEF, 0xBE, 0xAD, 0xDE])])
def test_stores_write_their_size(mnemonic, expected):
    _, memory, ex = memory_program([i(mnemonic, rs2=2, rs1=1, imm=4)], regs={2: 0xDEADBEEF})
    assert ex.reason is ExitReason.HALT
    assert list(memory.read(DATA + 4, 4)) == expected


@pytest.mark.parametrize("mnemonic, offset", [
    ("lh", 1), ("lhu", 3), ("lw", 2), ("sh", 1), ("sw", 3), ("cas", 1), ("amoadd", 2),
    ("amoswap", 3)])
def test_misaligned_access_faults_ac(mnemonic, offset):
    insn = i(mnemonic, rd=3, rs1=1, imm=offset) if mnemonic[0] == "l" else (
        i(mnemonic, rs2=3, rs1=1, imm=offset) if mnemonic[0] == "s" else
        i(mnemonic, rd=3, rs1=2, rs2=3))
    cpu, memory, ex = memory_program([i("addi", rd=2, rs1=1, imm=offset), insn])
    assert ex.reason is ExitReason.TRAP and ex.trap.vector is Vector.ALIGNMENT_CHECK
    assert ex.trap.fault_addr == DATA + offset and ex.retired == 2 and cpu.pc == 8


BRANCH_CASES = [("beq", 3, 3, True), ("beq", 3, 4, False), ("bne", 3, 4, True),
                ("bne", 3, 3, False), ("blt", NEG1, 0, True), ("blt", 0, NEG1, False),
                ("bge", 0, NEG1, True), ("bge", NEG1, 0, False), ("bge", 5, 5, True),
                ("bltu", 0, NEG1, True), ("bltu", NEG1, 0, False), ("bgeu", NEG1, 0, True),
                ("bgeu", 0, NEG1, False), ("bgeu", 5, 5, True)]


@pytest.mark.parametrize("mnemonic, x, y, taken", BRANCH_CASES)
def test_branches_both_ways(mnemonic, x, y, taken):
    cpu, _, _ = run_program([i(mnemonic, rs1=1, rs2=2, imm=2), i("addi", rd=3, rs1=0, imm=1),
                             i("halt")], regs={1: x, 2: y})
    assert cpu.regs[3] == (0 if taken else 1)


def test_backward_branch_and_jal_link():
    cpu, _, _ = run_program([i("jal", rd=0, imm=3), i("addi", rd=4, rs1=0, imm=1), i("halt"),
                             i("jal", rd=5, imm=-2)], at=0x100)
    assert cpu.regs[5] == 0x110 and cpu.regs[4] == 1 and cpu.pc == 0x10C


def test_jalr_links_before_jumping_even_when_rd_is_rs1():
    cpu, _, _ = run_program([i("addi", rd=1, rs1=0, imm=0x10), i("jalr", rd=1, rs1=1, imm=-4),
                             i("halt"), i("halt")])
    assert cpu.regs[1] == 8 and cpu.pc == 0x10


def test_jalr_to_a_misaligned_target_retires_then_the_fetch_faults():
    cpu, _, ex = run_program([i("addi", rd=1, rs1=0, imm=0x12), i("jalr", rd=2, rs1=1, imm=0)])
    assert ex.reason is ExitReason.TRAP and ex.trap.vector is Vector.ALIGNMENT_CHECK
    assert (ex.retired, cpu.pc, ex.trap.fault_addr, cpu.regs[2]) == (2, 0x12, 0x12, 8)


def test_cas_success_and_failure():
    cpu, memory, _ = memory_program([
        i("addi", rd=3, rs1=0, imm=0), i("addi", rd=2, rs1=0, imm=7),
        i("cas", rd=3, rs1=1, rs2=2),            # 0 == 0: stores 7, rd = 0
        i("addi", rd=4, rs1=0, imm=1), i("addi", rd=5, rs1=0, imm=9),
        i("cas", rd=4, rs1=1, rs2=5)])           # 7 != 1: no store, rd = 7
    assert memory.read32(DATA) == 7 and cpu.regs[3] == 0 and cpu.regs[4] == 7


def test_amoadd_and_amoswap():
    cpu, memory, _ = memory_program([
        i("addi", rd=2, rs1=0, imm=-1), i("amoadd", rd=3, rs1=1, rs2=2),
        i("amoadd", rd=4, rs1=1, rs2=2), i("addi", rd=5, rs1=0, imm=42),
        i("amoswap", rd=6, rs1=1, rs2=5), i("fence")])
    assert (cpu.regs[3], cpu.regs[4], cpu.regs[6]) == (0, NEG1, 0xFFFF_FFFE)
    assert memory.read32(DATA) == 42


def test_hcall_syscall_break_retire_with_pc_next():
    cpu, _, ex = run_program([i("hcall")], ring=1)
    assert (ex.reason, ex.retired, cpu.pc) == (ExitReason.HYPERCALL, 1, 4)
    for mnemonic, vector in (("syscall", Vector.SYSCALL), ("break", Vector.BREAKPOINT)):
        cpu, _, ex = run_program([i("addi", rd=1, rs1=0, imm=1), i(mnemonic)], ring=3)
        assert ex.reason is ExitReason.TRAP and ex.trap.vector is vector
        assert (ex.retired, cpu.pc, ex.trap.pc, cpu.instret) == (2, 8, 8, 2)


def test_hcall_in_ring_3_is_gp():
    cpu, _, ex = run_program([i("hcall")], ring=3)
    assert ex.trap.vector is Vector.GENERAL_PROTECTION and ex.retired == 0 and cpu.pc == 0


def test_undecodable_word_is_ud():
    cpu, _, ex = run_program([i("addi", rd=1, rs1=0, imm=1), 0x0000_00FF])
    assert ex.trap.vector is Vector.INVALID_OPCODE and ex.retired == 1 and cpu.pc == 4
    assert cpu.regs[1] == 1


def test_control_registers():
    cpu, _, ex = run_program([
        i("lui", rd=1, imm=0xFFFFF), i("ori", rd=1, rs1=1, imm=0xF7F),   # all bits but PG
        i("mtcr", rs1=1, imm=CR.STATUS), i("mfcr", rd=2, imm=CR.STATUS),
        i("mtcr", rs1=1, imm=CR.SCRATCH), i("mfcr", rd=3, imm=CR.SCRATCH),
        i("mtcr", rs1=1, imm=CR.PTBR), i("mfcr", rd=4, imm=CR.PTBR),
        i("tlbflush"), i("invlpg", rs1=1), i("halt")])
    assert ex.reason is ExitReason.HALT and ex.retired == 11 and cpu.instret == 11
    assert cpu.regs[2] == 0x0F          # writable bits only; ring 0 in bits 5..4
    assert cpu.regs[3] == 0xFFFF_FF7F and cpu.regs[4] == 0xFFFF_F000


def test_mfcr_status_shows_the_current_ring():
    memory = MachineMemory(1)
    cpu = CPUState(pc=0, ring=0)
    cpu.cr[CR.STATUS] = 3 << STATUS_RING_SHIFT   # stale ring bits are ignored
    load_words(memory, 0, assemble([i("mfcr", rd=2, imm=CR.STATUS), i("halt")]))
    Interpreter(memory).run(cpu, 5)
    assert cpu.regs[2] == 0


def test_mfcr_instret_and_status_ring():
    cpu, _, ex = run_program([i("addi", rd=1, rs1=0, imm=0x3), i("mtcr", rs1=1, imm=CR.STATUS),
                              i("mfcr", rd=2, imm=CR.STATUS), i("mfcr", rd=3, imm=CR.INSTRET),
                              i("mtcr", rs1=1, imm=CR.INSTRET), i("mfcr", rd=4, imm=CR.INSTRET),
                              i("halt")])
    assert cpu.regs[2] == 0x3 and cpu.regs[3] == 3 and cpu.regs[4] == 5
    assert ex.retired == 7


def test_rfe_returns_to_epc_ring_and_ie():
    status = STATUS_PIE | (3 << STATUS_PRING_SHIFT)
    cpu, _, ex = run_program([i("addi", rd=1, rs1=0, imm=status), i("mtcr", rs1=1, imm=CR.STATUS),
                              i("addi", rd=2, rs1=0, imm=0x40), i("mtcr", rs1=2, imm=CR.EPC),
                              i("rfe")] + [0] * 11 + [i("mfcr", rd=3, imm=CR.STATUS)])
    # Back in ring 3 at 0x40, where mfcr is privileged.
    assert cpu.ring == 3 and cpu.pc == 0x40 and ex.trap.vector is Vector.GENERAL_PROTECTION
    assert cpu.cr[CR.STATUS] & 1 == 1 and ex.retired == 5
