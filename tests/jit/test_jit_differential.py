"""The core check: random guest programs (ALU, mul/div by zero, every load/store size
across pages and misaligned, loops, calls, indirect jumps, atomics, faulting accesses,
privileged and system instructions, self-modifying stores) under random page tables
and random budgets give the same Exit after every run, the same architectural state
and the same memory on the JIT as on the interpreter.  The example counts come from the
Hypothesis profile: `ci` (60 per test) or HYPOTHESIS_PROFILE=campaign (5000 per test)."""

from hypothesis import given
from hypothesis import strategies as st

from paravisor.isa.interpreter import Interpreter
from paravisor.jit import JitEngine
from paravisor.jit.config import JitConfig
from paravisor.testing.jit_programs import compare_engines, guest_programs

budgets = st.lists(st.integers(1, 300), min_size=10, max_size=40)


def jit_with(**options):
    return lambda memory: JitEngine(memory, JitConfig(**options))


@given(guest_programs(), budgets, st.integers(1, 3))
def test_random_programs_agree_with_the_interpreter(program, runs, threshold):
    # Thresholds 1..3 mix cold (interpreted) and hot (native) execution of the same code.
    compare_engines(program, runs, Interpreter, jit_with(threshold=threshold))


@given(guest_programs(max_snippets=12), budgets, st.sampled_from([0, 2]))
def test_other_optimisation_levels_agree(program, runs, opt_level):
    compare_engines(program, runs, Interpreter, jit_with(threshold=1, opt_level=opt_level))


@given(guest_programs(max_snippets=12), st.lists(st.integers(1, 5), min_size=20, max_size=60))
def test_tiny_budgets_stop_inside_blocks_exactly(program, runs):
    compare_engines(program, runs, Interpreter, jit_with(threshold=1))


@given(guest_programs(), budgets)
def test_one_block_per_region_chains_through_the_jump_cache(program, runs):
    # Regions of one block: every transfer leaves its function through the jump cache.
    compare_engines(program, runs, Interpreter,
                    jit_with(threshold=1, region_blocks=1, batch_regions=1))
