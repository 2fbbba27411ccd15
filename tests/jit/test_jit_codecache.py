"""The JIT's life cycle (add IR, finalize once, get addresses; adding after finalizing is
an error), its environment flags, and the translator's block and region boundaries."""

import pytest

from paravisor.errors import UserError
from paravisor.isa.engine import CPUState
from paravisor.isa.memory import MachineMemory
from paravisor.jit import JitEngine
from paravisor.jit.codecache import CodeCache
from paravisor.jit.config import JitConfig
from paravisor.jit.translator import emit_region, plan_block, plan_region
from paravisor.testing.programs import assemble, i, load_words

LOOP = [i("addi", rd=3, rs1=3, imm=1), i("bne", rs1=3, rs2=4, imm=-1), i("halt")]


def test_a_module_finalizes_once_and_refuses_later_functions():
    memory = MachineMemory(1)
    load_words(memory, 0, assemble(LOOP))
    cache = CodeCache(JitConfig())
    module = cache.new_module()
    name = cache.function_name()
    emit_region(module.ir, name, plan_region(memory.u32, 0, 0, 8))
    module.add_function(name)
    addresses = module.finalize()
    assert addresses[name] > 0
    with pytest.raises(RuntimeError):
        module.add_function("late")
    with pytest.raises(RuntimeError):
        module.finalize()


def test_blocks_end_after_transfers_at_system_instructions_and_at_the_page_end():
    memory = MachineMemory(2)
    load_words(memory, 0, assemble(LOOP))
    load_words(memory, 0xFF8, assemble([i("addi", rd=3, rs1=3, imm=1)] * 2))
    first = plan_block(memory.u32, 0, 0)
    assert [d.mnemonic for d, _ in first.insns] == ["addi", "bne"]
    assert first.successors() == [0, 8] and first.fall_through is None
    assert [d.mnemonic for d, _ in plan_block(memory.u32, 8, 8).insns] == ["halt"]
    tail = plan_block(memory.u32, 0xFF8, 0xFF8)
    assert len(tail.insns) == 2 and tail.fall_through == 0x1000
    assert plan_block(memory.u32, 0x10, 0x10) is None      # zero word: #UD, not a block
    region = plan_region(memory.u32, 0, 0, 64)
    assert [p.vpc for p in region] == [0, 8]                 # 0x1000 is another page


def test_flags_are_read_from_the_environment():
    config = JitConfig.from_env({"PARAVISOR_DUMP_IR": "1", "PARAVISOR_JIT_OPT": "2",
                                 "PARAVISOR_JIT_THRESHOLD": "5", "PARAVISOR_DUMP_ASM": "0"})
    assert config.dump_ir and not config.dump_asm
    assert (config.opt_level, config.threshold) == (2, 5)
    assert JitConfig.from_env({}) == JitConfig()
    with pytest.raises(UserError, match="PARAVISOR_JIT_OPT"):
        JitConfig.from_env({"PARAVISOR_JIT_OPT": "7"})
    with pytest.raises(UserError, match="PARAVISOR_JIT_THRESHOLD"):
        JitConfig.from_env({"PARAVISOR_JIT_THRESHOLD": "many"})


def test_dump_flags_show_each_stage(capsys):
    memory = MachineMemory(1)
    load_words(memory, 0, assemble(LOOP))
    engine = JitEngine(memory, JitConfig(threshold=1, dump_ir=True, dump_opt_ir=True,
                                         dump_asm=True))
    cpu = CPUState(pc=0, ring=0)
    cpu.regs[4] = 50
    engine.run(cpu, 1000)
    err = capsys.readouterr().err
    assert "; --- IR of" in err and "; --- optimised IR of" in err
    assert "# --- assembly of" in err and "define i32 @pv_r" in err
    assert cpu.regs[3] == 50
