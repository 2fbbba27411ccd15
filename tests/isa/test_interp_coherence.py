"""Architectural TLB coherence and self-modifying code: a change to a page-table entry or
to code takes effect at the very next access, whoever writes it."""

from paravisor.isa.engine import CPUState, ExitReason
from paravisor.isa.interpreter import Interpreter
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import PTE_P, PTE_U, PTE_W, Ring, Vector, encode
from paravisor.testing.programs import (
    PageTables,
    assemble,
    bump_allocator,
    enable_paging,
    i,
    li,
    load_words,
    run_program,
)

CODE_VA, DATA_VA, PT_VA, ALIAS_VA = 0x0040_0000, 0x0080_0000, 0x00C0_0000, 0x0100_0000
CODE, FRAME_A, FRAME_B, L2 = 1, 2, 3, 4
RW = PTE_P | PTE_W | PTE_U


def paged_machine(program, ring=Ring.KERNEL):
    memory = MachineMemory(16)
    load_words(memory, CODE << 12, assemble(program))
    memory.write32(FRAME_A << 12, 0xAAAA)
    memory.write32(FRAME_B << 12, 0xBBBB)
    tables = PageTables(memory, L2, bump_allocator(L2 + 1))
    tables.map(CODE_VA, CODE, PTE_P | PTE_U)
    tables.map(DATA_VA, FRAME_A, RW)
    cpu = CPUState(pc=CODE_VA, ring=ring)
    enable_paging(cpu, tables)
    cpu.regs[1] = DATA_VA
    return memory, tables, cpu, Interpreter(memory)


def test_hypervisor_pte_write_between_runs_takes_effect():
    memory, tables, cpu, engine = paged_machine([i("lw", rd=3, rs1=1, imm=0), i("break")])
    engine.run(cpu, 10)
    assert cpu.regs[3] == 0xAAAA
    tables.map(DATA_VA, FRAME_B, RW)         # through MachineMemory.write32
    cpu.pc = CODE_VA
    engine.run(cpu, 10)
    assert cpu.regs[3] == 0xBBBB
    tables.map(DATA_VA, FRAME_B, 0)          # unmapped: the next access faults
    cpu.pc = CODE_VA
    result = engine.run(cpu, 10)
    assert result.trap.vector is Vector.PAGE_FAULT and result.trap.fault_addr == DATA_VA


def test_a_write_that_bypasses_watchers_is_seen_after_flush_tlb():
    memory, tables, cpu, engine = paged_machine([i("lw", rd=3, rs1=1, imm=0), i("break")])
    engine.run(cpu, 10)
    entry = tables.l1e_addr(DATA_VA)
    memory.u32[entry >> 2] = (FRAME_B << 12) | RW     # raw view: no watcher hears it
    cpu.flush_tlb()
    cpu.pc = CODE_VA
    engine.run(cpu, 10)
    assert cpu.regs[3] == 0xBBBB


def test_guest_store_to_a_pte_changes_the_next_load_in_the_same_block():
    program = li(5, PT_VA) + li(4, (FRAME_B << 12) | RW) + [
        i("lw", rd=3, rs1=1, imm=0),
        i("sw", rs2=4, rs1=5, imm=4 * ((DATA_VA >> 12) & 0x3FF)),
        i("lw", rd=6, rs1=1, imm=0),
        i("halt")]
    memory, tables, cpu, engine = paged_machine(program, ring=Ring.HYPERVISOR)
    l1_table = tables.l1e_addr(DATA_VA) >> 12
    tables.map(PT_VA, l1_table, RW)      # bare metal: the L1 table is mapped writable
    result = engine.run(cpu, 100)
    assert result.reason is ExitReason.HALT and result.retired == len(program)
    assert (cpu.regs[3], cpu.regs[6]) == (0xAAAA, 0xBBBB)


def test_store_rewriting_the_next_instruction_of_its_block():
    new = encode("addi", rd=3, rs1=0, imm=99)
    cpu, _, result = run_program([i("sw", rs2=2, rs1=0, imm=4), i("addi", rd=3, rs1=0, imm=1),
                                  i("addi", rd=4, rs1=0, imm=1), i("halt")], regs={2: new})
    assert result.reason is ExitReason.HALT and result.retired == 4
    assert (cpu.regs[3], cpu.regs[4]) == (99, 1)


def test_store_rewriting_code_that_runs_on_a_later_iteration():
    new = encode("addi", rd=3, rs1=3, imm=100)
    cpu, _, result = run_program([
        i("addi", rd=5, rs1=0, imm=3),               # 0x00  three iterations
        i("addi", rd=3, rs1=3, imm=1),               # 0x04  loop: rewritten after pass 1
        i("sw", rs2=2, rs1=0, imm=4),                # 0x08
        i("addi", rd=5, rs1=5, imm=-1),              # 0x0c
        i("bne", rs1=5, rs2=0, imm=-3),              # 0x10
        i("halt")], regs={2: new})
    assert result.reason is ExitReason.HALT and cpu.regs[3] == 1 + 100 + 100


def test_invalidate_frame_drops_decoded_code():
    memory = MachineMemory(2)
    load_words(memory, 0, assemble([i("addi", rd=3, rs1=0, imm=1), i("halt")]))
    engine, cpu = Interpreter(memory), CPUState(pc=0, ring=0)
    engine.run(cpu, 10)
    memory.u32[0] = encode("addi", rd=3, rs1=0, imm=7)   # behind the watchers' back
    engine.invalidate_frame(0)
    cpu.pc = 0
    engine.run(cpu, 10)
    assert cpu.regs[3] == 7


def test_one_frame_at_two_virtual_addresses_binds_each_pc():
    memory, tables, cpu, engine = paged_machine([i("auipc", rd=3, imm=0), i("break")])
    tables.map(ALIAS_VA, CODE, PTE_P | PTE_U)
    engine.run(cpu, 10)
    cpu.pc = ALIAS_VA
    engine.run(cpu, 10)
    cpu.regs[4] = cpu.regs[3]
    cpu.pc = CODE_VA
    engine.run(cpu, 10)
    assert (cpu.regs[3], cpu.regs[4]) == (CODE_VA, ALIAS_VA)


def test_user_fetch_of_a_kernel_page_faults_after_kernel_ran_it():
    memory, tables, cpu, engine = paged_machine([i("addi", rd=3, rs1=3, imm=1), i("break")])
    tables.map(CODE_VA, CODE, PTE_P)          # kernel-only code
    assert engine.run(cpu, 10).trap.vector is Vector.BREAKPOINT
    cpu.pc, cpu.ring = CODE_VA, int(Ring.USER)
    result = engine.run(cpu, 10)
    assert result.trap.vector is Vector.PAGE_FAULT and result.trap.error_code == 0x15
    assert cpu.regs[3] == 1


def test_stores_to_watched_and_unwatched_frames_reach_memory():
    # The first store fills the fast write TLB; decoding code from that frame later
    # must take the entry away, or the next store would skip the code watcher.
    program = li(1, DATA_VA) + [i("sw", rs2=2, rs1=1, imm=0), i("break")]
    memory, tables, cpu, engine = paged_machine(program)
    cpu.regs[2] = 5
    engine.run(cpu, 20)
    assert memory.read32(FRAME_A << 12) == 5
    assert DATA_VA >> 12 in cpu.engine_state.mmu.wtlb
    memory.watch(FRAME_A, lambda mfn: None)
    assert DATA_VA >> 12 not in cpu.engine_state.mmu.wtlb


def test_replacing_the_register_list_between_runs_is_noticed():
    memory = MachineMemory(1)
    load_words(memory, 0, assemble([i("addi", rd=3, rs1=3, imm=1), i("halt")]))
    engine, cpu = Interpreter(memory), CPUState(pc=0, ring=0)
    engine.run(cpu, 10)
    cpu.regs = [0] * 16
    cpu.regs[3], cpu.pc = 41, 0
    engine.run(cpu, 10)
    assert cpu.regs[3] == 42
    engine.forget(cpu)
    assert cpu.engine_state is None and not memory.is_watched(0)
