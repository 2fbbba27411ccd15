"""The bare-metal machine: architectural trap delivery, the timer at exactly TIMECMP,
the firmware calls."""

from paravisor.isa.baremetal import BareMetalMachine, StopReason
from paravisor.isa.engine import CPUState
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import (
    CR,
    PTE_P,
    PTE_W,
    STATUS_IE,
    STATUS_PIE,
    STATUS_PRING_SHIFT,
    Ring,
    Vector,
)
from paravisor.testing.programs import (
    PageTables,
    assemble,
    bump_allocator,
    enable_paging,
    i,
    li,
    load_words,
)

HANDLER = 0x800   # in the code frame, identity-mapped or physical


def machine(program, handler=(), nframes=4):
    memory = MachineMemory(nframes)
    load_words(memory, 0, assemble(program))
    load_words(memory, HANDLER, assemble(handler))
    cpu = CPUState(pc=0, ring=Ring.HYPERVISOR)
    cpu.cr[CR.TVEC] = HANDLER
    return BareMetalMachine(memory, cpu), cpu, memory


def firmware_exit(reg):
    return [i("add", rd=3, rs1=reg, rs2=0), i("addi", rd=9, rs1=0, imm=1), i("hcall")]


def test_firmware_putchar_exit_and_unknown_call():
    program = [i("addi", rd=9, rs1=0, imm=0), i("addi", rd=3, rs1=0, imm=ord("h")), i("hcall"),
               i("addi", rd=3, rs1=0, imm=ord("i")), i("hcall"),
               i("addi", rd=9, rs1=0, imm=7), i("hcall"), i("add", rd=4, rs1=3, rs2=0),
               i("addi", rd=3, rs1=0, imm=3), i("addi", rd=9, rs1=0, imm=1), i("hcall")]
    bare, cpu, _ = machine(program)
    assert bare.run(1000) is StopReason.EXIT
    assert bare.output == b"hi" and bare.exit_code == 3 and cpu.regs[4] == (-38) & 0xFFFF_FFFF


def test_page_fault_handler_maps_the_page_and_returns_with_rfe():
    data_va, pt_va = 0x0080_0000, 0x00C0_0000
    program = li(1, data_va) + [i("lw", rd=5, rs1=1, imm=0x10)] + firmware_exit(5)
    handler = li(6, pt_va) + li(7, (2 << 12) | PTE_P | PTE_W) + [
        i("mfcr", rd=8, imm=CR.FADDR), i("srli", rd=8, rs1=8, imm=12),
        i("andi", rd=8, rs1=8, imm=0x3FF), i("slli", rd=8, rs1=8, imm=2),
        i("add", rd=8, rs1=8, rs2=6), i("sw", rs2=7, rs1=8, imm=0),   # L1[va] = frame 2
        i("mfcr", rd=10, imm=CR.ERRCODE), i("rfe")]
    bare, cpu, memory = machine(program, handler, nframes=8)
    memory.write32((2 << 12) + 0x10, 1234)
    tables = PageTables(memory, 4, bump_allocator(5))
    tables.map(0, 0, PTE_P)                           # code, identity mapped
    data_l1 = tables.l1e_addr(data_va) >> 12          # data_va's L1 table, entry not present
    tables.map(pt_va, data_l1, PTE_P | PTE_W)         # ... mapped for the handler to edit
    enable_paging(cpu, tables)
    assert bare.run(1000) is StopReason.EXIT
    assert bare.exit_code == 1234 and cpu.regs[10] == 0    # not-present read in ring 0
    assert cpu.cr[CR.CAUSE] == Vector.PAGE_FAULT and cpu.cr[CR.FADDR] == data_va + 0x10


def test_timer_interrupt_arrives_exactly_at_timecmp():
    program = [i("addi", rd=1, rs1=1, imm=1), i("jal", rd=0, imm=-1)]
    handler = [i("mfcr", rd=4, imm=CR.INSTRET), i("mfcr", rd=5, imm=CR.EPC),
               i("mfcr", rd=6, imm=CR.CAUSE)] + firmware_exit(4)
    bare, cpu, _ = machine(program, handler)
    cpu.cr[CR.TIMECMP], cpu.cr[CR.STATUS] = 37, STATUS_IE
    assert bare.run(10_000) is StopReason.EXIT
    assert bare.exit_code == 37 and cpu.regs[6] == Vector.TIMER
    assert cpu.regs[1] == 19 and cpu.regs[5] == 4   # 37 = 19 addi + 18 jal; next: jal at 4
    assert cpu.cr[CR.STATUS] & (STATUS_IE | STATUS_PIE) == STATUS_PIE


def test_timer_pending_while_ie_clear_arrives_right_after_mtcr_sets_ie():
    program = [i("addi", rd=1, rs1=1, imm=1)] * 30 + [
        i("addi", rd=2, rs1=0, imm=STATUS_IE), i("mtcr", rs1=2, imm=CR.STATUS),
        i("addi", rd=1, rs1=1, imm=1), i("halt")]
    handler = [i("mfcr", rd=4, imm=CR.INSTRET)] + firmware_exit(4)
    bare, cpu, _ = machine(program, handler)
    cpu.cr[CR.TIMECMP] = 10
    assert bare.run(10_000) is StopReason.EXIT
    assert bare.exit_code == 32 and cpu.cr[CR.EPC] == 4 * 32 and cpu.regs[1] == 30


def test_syscall_from_ring_3_enters_the_handler_in_ring_0():
    program = [i("addi", rd=1, rs1=0, imm=5), i("syscall")]
    handler = [i("mfcr", rd=4, imm=CR.STATUS), i("mfcr", rd=5, imm=CR.EPC)] + firmware_exit(4)
    bare, cpu, _ = machine(program, handler)
    cpu.ring = int(Ring.USER)
    cpu.cr[CR.STATUS] = STATUS_IE
    assert bare.run(100) is StopReason.EXIT
    status = bare.exit_code
    assert status >> STATUS_PRING_SHIFT & 3 == 3 and status & STATUS_PIE and not status & 1
    assert cpu.regs[5] == 8 and cpu.cr[CR.CAUSE] == Vector.SYSCALL and cpu.ring == 0


def test_unhandled_trap_stops_and_reports_it():
    bare, cpu, _ = machine([i("addi", rd=1, rs1=0, imm=1), 0xFF])
    cpu.cr[CR.TVEC] = 0
    assert bare.run(100) is StopReason.TRAP
    assert bare.trap.vector is Vector.INVALID_OPCODE and bare.trap.pc == 4


def test_halt_and_instruction_limit():
    bare, _, _ = machine([i("halt")])
    assert bare.run(10) is StopReason.HALT
    bare, cpu, _ = machine([i("jal", rd=0, imm=0)])
    assert bare.run(25) is StopReason.LIMIT and cpu.instret == 25
