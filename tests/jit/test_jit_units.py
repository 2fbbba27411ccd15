"""Targeted JIT behaviour: hot code really runs natively, exits are exact mid-block,
coherence (self-modifying code, page-table writes, invalidate_frame, flush_tlb),
several vCPUs on one engine, and the engine's life cycle."""

import threading

import pytest

from paravisor.isa.baremetal import BareMetalMachine
from paravisor.isa.engine import CPUState, ExitReason
from paravisor.isa.interpreter import Interpreter
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import CR, PTE_P, PTE_U, PTE_W, STATUS_IE, Ring, Vector, encode
from paravisor.jit import JitEngine
from paravisor.jit.config import JitConfig
from paravisor.jit.engine import MAX_REWRITES
from paravisor.jit.softmmu import EXIT_STEP
from paravisor.testing.programs import (
    PageTables,
    assemble,
    bump_allocator,
    enable_paging,
    i,
    li,
    load_words,
)

CODE_VA, DATA_VA, PT_VA = 0x0040_0000, 0x0080_0000, 0x00C0_0000
CODE, FRAME_A, FRAME_B, L2 = 1, 2, 3, 4
RW = PTE_P | PTE_W | PTE_U

COUNT_LOOP = [                                   # r3 = 1 + 2 + ... + r5
    i("add", rd=3, rs1=3, rs2=5),                # 0x00
    i("addi", rd=5, rs1=5, imm=-1),              # 0x04
    i("bne", rs1=5, rs2=0, imm=-2),              # 0x08
    i("halt"),                                   # 0x0c
]


def jit(memory, exit_on_control=False, **options):
    options.setdefault("threshold", 1)
    return JitEngine(memory, JitConfig(**options), exit_on_control=exit_on_control)


def flat(program, nframes=4, regs=None):
    memory = MachineMemory(nframes)
    load_words(memory, 0, assemble(program))
    cpu = CPUState(pc=0, ring=Ring.HYPERVISOR)
    for n, value in (regs or {}).items():
        cpu.regs[n] = value
    return memory, cpu


def on_both(program, budget, regs=None, nframes=4):
    """Run on the interpreter and the JIT; assert they agree; return the JIT side."""
    results = []
    for make in (Interpreter, jit):
        memory, cpu = flat(program, nframes, regs)
        engine = make(memory)
        results.append((engine.run(cpu, budget), cpu, memory, engine))
    (ea, ca, ma, _), (eb, cb, mb, engine) = results
    assert ea == eb and ca.snapshot() == cb.snapshot() and ma.data == mb.data
    return eb, cb, mb, engine


def paged(program, ring=Ring.KERNEL):
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
    return memory, tables, cpu


def test_a_hot_loop_runs_in_native_code():
    result, cpu, _, engine = on_both(COUNT_LOOP, 100_000, regs={5: 10_000})
    assert result.reason is ExitReason.HALT and result.retired == 30_001
    assert cpu.regs[3] == 10_000 * 10_001 // 2 % (1 << 32)
    stats = engine.exec_stats
    assert stats.native > 29_000 and stats.entries <= 3   # chained in native code
    assert engine.stats.modules >= 1 and engine.stats.seconds > 0


@pytest.mark.parametrize("budget", [1, 2, 3, 4, 5, 100, 2999, 3000, 3001])
def test_budget_runs_out_exactly_inside_blocks(budget):
    result, cpu, _, _ = on_both(COUNT_LOOP, budget, regs={5: 1000})
    assert result.retired == min(budget, 3001) == cpu.instret


def test_a_fault_mid_block_is_precise():
    program = [i("addi", rd=3, rs1=0, imm=7), i("addi", rd=4, rs1=0, imm=1),
               i("divu", rd=6, rs1=3, rs2=0), i("addi", rd=5, rs1=0, imm=9)]
    loop = COUNT_LOOP[:3] + program
    result, cpu, _, _ = on_both(loop, 10_000, regs={5: 50})
    assert result.reason is ExitReason.TRAP and result.trap.vector is Vector.DIVIDE_ERROR
    assert cpu.pc == 0x14 and result.trap.pc == 0x14
    assert (cpu.regs[3], cpu.regs[4], cpu.regs[5]) == (7, 1, 0)
    assert result.retired == 150 + 2


def test_misaligned_and_unmapped_accesses_fault_with_the_interpreters_trap():
    loop = li(1, 0x1001) + [i("addi", rd=3, rs1=3, imm=1), i("lw", rd=2, rs1=1, imm=0)]
    result, _, _, _ = on_both(loop, 100)
    assert result.trap.vector is Vector.ALIGNMENT_CHECK and result.trap.fault_addr == 0x1001
    far = li(1, 0x10_0000) + [i("lw", rd=2, rs1=1, imm=0)]
    result, _, _, _ = on_both(far, 100)
    assert result.trap.vector is Vector.GENERAL_PROTECTION and result.trap.fault_addr == 0x10_0000


def test_hcall_and_privileged_instructions_leave_native_code():
    program = [i("addi", rd=3, rs1=3, imm=1), i("hcall"), i("jal", rd=0, imm=-2)]
    memory, _, cpu = paged(program)
    engine = jit(memory)
    for n in range(1, 4):
        result = engine.run(cpu, 1000)
        assert result.reason is ExitReason.HYPERCALL and cpu.pc == CODE_VA + 8
        assert cpu.regs[3] == n and result.retired == (2 if n == 1 else 3)
    cpu.pc = CODE_VA + 0x100
    memory.write32((CODE << 12) + 0x100, encode("tlbflush"))
    result = engine.run(cpu, 10)
    assert result.trap.vector is Vector.GENERAL_PROTECTION and result.retired == 0


def test_store_into_the_running_block_changes_its_next_instruction():
    new = encode("addi", rd=3, rs1=0, imm=99)
    program = [i("addi", rd=5, rs1=5, imm=-1),          # 0x00  loop head
               i("sw", rs2=2, rs1=0, imm=0x0c),         # 0x04  rewrites 0x0c
               i("addi", rd=4, rs1=4, imm=1),           # 0x08
               i("addi", rd=3, rs1=0, imm=1),           # 0x0c  -> addi r3, r0, 99
               i("bne", rs1=5, rs2=0, imm=-4),          # 0x10
               i("halt")]
    result, cpu, _, engine = on_both(program, 1000, regs={2: new, 5: 5})
    assert result.reason is ExitReason.HALT and (cpu.regs[3], cpu.regs[4]) == (99, 5)
    assert engine.stats.invalidated_frames >= 1


def test_code_rewritten_on_every_iteration_stays_with_the_interpreter():
    one, two = encode("addi", rd=3, rs1=0, imm=1), encode("addi", rd=3, rs1=0, imm=2)
    program = [i("addi", rd=5, rs1=5, imm=-1),          # 0x00
               i("sw", rs2=2, rs1=0, imm=0x10),         # 0x04  rewrites 0x10 each time
               i("xor", rd=2, rs1=2, rs2=6),            # 0x08  one <-> two
               i("addi", rd=8, rs1=8, imm=1),           # 0x0c
               i("addi", rd=3, rs1=0, imm=0),           # 0x10  one, two, one, ...
               i("add", rd=7, rs1=7, rs2=3),            # 0x14
               i("bne", rs1=5, rs2=0, imm=-6),          # 0x18
               i("halt")]
    result, cpu, _, engine = on_both(program, 10_000, regs={2: one, 6: one ^ two, 5: 200})
    assert result.reason is ExitReason.HALT and cpu.regs[7] == 100 * 1 + 100 * 2
    assert 1 <= engine.stats.invalidated_frames <= MAX_REWRITES


def test_hypervisor_write_to_translated_code_takes_effect():
    memory, cpu = flat(COUNT_LOOP, regs={5: 100})
    engine = jit(memory)
    engine.run(cpu, 10_000)
    assert engine.stats.lowered["add"] == 1 and cpu.regs[3] == 5050
    memory.write32(0, encode("addi", rd=3, rs1=3, imm=2))   # "add" becomes "addi +2"
    cpu.pc, cpu.regs[5], cpu.regs[3] = 0, 100, 0
    engine.run(cpu, 10_000)
    assert cpu.regs[3] == 200 and engine.stats.invalidated_frames == 1


def test_invalidate_frame_drops_translations_written_behind_the_watchers():
    memory, cpu = flat(COUNT_LOOP, regs={5: 100})
    engine = jit(memory)
    engine.run(cpu, 10_000)
    memory.u32[0] = encode("addi", rd=3, rs1=3, imm=3)      # no watcher hears this
    engine.invalidate_frame(0)
    cpu.pc, cpu.regs[5], cpu.regs[3] = 0, 100, 0
    engine.run(cpu, 10_000)
    assert cpu.regs[3] == 300


def test_guest_store_to_a_pte_changes_the_next_load_in_the_same_block():
    program = li(5, PT_VA) + li(4, (FRAME_B << 12) | RW) + [
        i("addi", rd=7, rs1=7, imm=1),
        i("lw", rd=3, rs1=1, imm=0),
        i("sw", rs2=4, rs1=5, imm=4 * ((DATA_VA >> 12) & 0x3FF)),
        i("lw", rd=6, rs1=1, imm=0),
        i("halt")]
    results = []
    for make in (Interpreter, jit):
        memory, tables, cpu = paged(program, ring=Ring.HYPERVISOR)
        tables.map(PT_VA, tables.l1e_addr(DATA_VA) >> 12, RW)
        results.append((make(memory).run(cpu, 100), cpu.snapshot(), bytes(memory.data)))
    assert results[0] == results[1]
    assert results[1][1][0][3] == 0xAAAA and results[1][1][0][6] == 0xBBBB


def test_hypervisor_pte_change_and_flush_tlb_between_runs():
    program = [i("lw", rd=3, rs1=1, imm=0), i("addi", rd=4, rs1=4, imm=1), i("break")]
    memory, tables, cpu = paged(program)
    engine = jit(memory)
    engine.run(cpu, 10)
    assert cpu.regs[3] == 0xAAAA
    memory.u32[tables.l1e_addr(DATA_VA) >> 2] = (FRAME_B << 12) | RW   # raw: unheard
    cpu.flush_tlb()
    cpu.pc = CODE_VA
    engine.run(cpu, 10)
    assert cpu.regs[3] == 0xBBBB
    tables.map(DATA_VA, FRAME_B, 0)
    cpu.pc = CODE_VA
    result = engine.run(cpu, 10)
    assert result.trap.vector is Vector.PAGE_FAULT and result.trap.fault_addr == DATA_VA


def test_native_stores_never_reach_a_frame_that_became_watched():
    program = li(1, DATA_VA) + [i("sw", rs2=2, rs1=1, imm=0), i("addi", rd=2, rs1=2, imm=1),
                                i("jal", rd=0, imm=-2)]
    memory, _, cpu = paged(program)
    engine = jit(memory)
    engine.run(cpu, 2 + 66 * 3)                  # li, then 66 iterations: pc is at sw
    heard = []
    memory.watch(FRAME_A, heard.append)
    engine.run(cpu, 100 * 3)
    assert len(heard) == 100 and memory.read32(FRAME_A << 12) == cpu.regs[2] - 1
    assert engine.exec_stats.exits.get(EXIT_STEP, 0) >= 100


def test_two_vcpus_share_translations_but_not_state():
    memory, cpu_a = flat(COUNT_LOOP, regs={5: 10})
    cpu_b = CPUState(pc=0, ring=Ring.HYPERVISOR)
    cpu_b.regs[5] = 20
    engine = jit(memory)
    engine.run(cpu_a, 1000)
    engine.run(cpu_b, 1000)
    assert (cpu_a.regs[3], cpu_b.regs[3]) == (55, 210)
    assert engine.stats.lowered["add"] == 1      # the loop was compiled once, for both
    engine.forget(cpu_a)
    assert cpu_a.engine_state is None and cpu_b.engine_state is not None
    assert memory.is_watched(0)                  # cpu_b still runs the code
    engine.forget(cpu_b)
    assert not memory.is_watched(0) and not memory._watch_listeners


def test_replacing_the_register_list_between_runs_is_noticed():
    memory, cpu = flat(COUNT_LOOP, regs={5: 10})
    engine = jit(memory)
    engine.run(cpu, 1000)
    cpu.regs = [0] * 16
    cpu.regs[5], cpu.pc = 4, 0
    engine.run(cpu, 1000)
    assert cpu.regs[3] == 10
    engine.forget(cpu)
    assert cpu.engine_state is None


def test_native_code_runs_without_the_gil():
    # Two vCPUs of two engines in two threads: both finish with the right answer (the
    # parallel speed-up itself is measured by benchmarks/cpu.py, never asserted).
    results = {}

    def worker(name, n):
        memory, cpu = flat(COUNT_LOOP, regs={5: n})
        jit(memory).run(cpu, 10 * n)
        results[name] = cpu.regs[3]

    threads = [threading.Thread(target=worker, args=(k, n)) for k, n in (("a", 5000), ("b", 7000))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"a": 5000 * 5001 // 2, "b": 7000 * 7001 // 2}


@pytest.mark.parametrize("timecmp", [10, 37, 200])
def test_bare_metal_timer_is_exact_with_exit_on_control(timecmp):
    program = [i("addi", rd=1, rs1=1, imm=1)] * 30 + [
        i("addi", rd=2, rs1=0, imm=STATUS_IE), i("mtcr", rs1=2, imm=CR.STATUS),
        i("addi", rd=1, rs1=1, imm=1), i("jal", rd=0, imm=-1)]
    handler = [i("mfcr", rd=4, imm=CR.INSTRET), i("add", rd=3, rs1=4, rs2=0),
               i("addi", rd=9, rs1=0, imm=1), i("hcall")]
    outcomes = []
    for make in (lambda m: Interpreter(m, exit_on_control=True),
                 lambda m: jit(m, exit_on_control=True)):
        memory, cpu = flat(program)
        load_words(memory, 0x800, assemble(handler))
        cpu.cr[CR.TVEC], cpu.cr[CR.TIMECMP] = 0x800, timecmp
        bare = BareMetalMachine(memory, cpu, make(memory))
        outcomes.append((bare.run(10_000), bare.exit_code, cpu.snapshot()))
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][1] == max(timecmp, 32)


def test_pcs_sharing_a_jump_cache_slot_never_run_each_others_code():
    # 0x0 and 0x1000 hash to the same jump-cache slot and call each other across pages.
    memory = MachineMemory(4)
    load_words(memory, 0, assemble([i("addi", rd=3, rs1=3, imm=1), i("jal", rd=0, imm=0x3FF)]))
    load_words(memory, 0x1000, assemble([i("addi", rd=5, rs1=5, imm=-1),
                                         i("bne", rs1=5, rs2=0, imm=-0x401), i("halt")]))
    results = []
    for make in (Interpreter, jit):
        cpu = CPUState(pc=0, ring=Ring.HYPERVISOR)
        cpu.regs[5] = 300
        mem = MachineMemory(4)
        mem.data[:] = memory.data
        results.append((make(mem).run(cpu, 10_000), cpu.snapshot()))
    assert results[0] == results[1]
    assert results[1][0].reason is ExitReason.HALT and results[1][1][0][3] == 300


def test_budget_must_be_positive():
    memory, cpu = flat(COUNT_LOOP)
    with pytest.raises(ValueError):
        jit(memory).run(cpu, 0)
