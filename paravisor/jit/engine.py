"""`JitEngine`: the llvmlite-compiled PV32 engine, exit for exit identical to the interpreter.

    run(cpu, budget)
      loop until the budget is spent or something must leave the engine:
        pc has a validated translation (jump cache) ------> native code (GIL released)
           |                                                 | exits
           v                                                 v
        no translation: interpret one block; count it;    LOOKUP: back to the loop
        hot -> translate a batch of regions, go native    STEP: the interpreter runs that
                                                          one instruction (TLB miss, fault,
                                                          system...), then the TLB entry
                                                          it filled is mirrored natively
                                                          BUDGET: the interpreter runs the
                                                          last, partial block exactly
                                                          HCALL/SYSCALL/BREAK: return

Tiering.  Cold code runs in a private `Interpreter` on the same CPUState.  Its per-CPU
context (which holds the one `Mmu` of this CPU: the walk, the TLB dicts and the page-table
watches) is kept in our `JitCpu` (cpu.engine_state is the JitCpu) and handed to the
interpreter through its declared interface for a tier (`Interpreter.context_for`,
`run_context`, `release`), so the two tiers share one TLB and cannot disagree on a
translation.  The native TLB and jump cache (softmmu.py) mirror that Mmu and are cleared
whenever it flushes.

Coherence.  Every frame holding translated code is watched; a write to it (a guest store,
which always reaches the interpreter because watched frames never get native write
entries, or the hypervisor) drops that frame's translations and clears the jump caches.
The interpreter ends its block after such a store, so self-modifying code behaves the same.

Exit requests.  `request_exit` (from another host thread: --realtime's TLB shootdown)
sets a flag that the run loop reads whenever control is back in Python: between cold
blocks, after each native call.  The run then returns ExitReason.KICK.  Native code does
not read it (a load and a branch per loop iteration made benchmarks/realtime.py's
spinners ~40% slower), so a native stretch still runs until its next exit or the end of
its budget.  The flag stays set, so every run returns at once, until `cancel_exit`.

Ownership: one JitEngine per domain (translations are never shared between engines); it
may run several vCPUs, one at a time.  Native code runs only inside `run`, and Python
touches native state only while none runs.  Only `request_exit`/`cancel_exit` may be
called while a run is in progress.
"""

from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass, field

from paravisor.isa.engine import CPUState, Exit, ExitReason, Trap
from paravisor.isa.interpreter import CpuContext, Interpreter
from paravisor.isa.memory import MachineMemory
from paravisor.isa.semantics import GuestFault
from paravisor.isa.table import PAGE_SHIFT, WORD_MASK, Vector
from paravisor.jit.codecache import CodeCache, TranslationStats
from paravisor.jit.config import JitConfig
from paravisor.jit.softmmu import (
    EXIT_BREAK,
    EXIT_BUDGET,
    EXIT_HCALL,
    EXIT_LOOKUP,
    EXIT_STEP,
    EXIT_SYSCALL,
    NativeState,
)
from paravisor.jit.translator import emit_region, plan_region

M = WORD_MASK
# A frame whose translations were lost to writes this often (code and data sharing a
# page, or real self-modifying code) stays with the interpreter: recompiling it after
# every write would cost far more than interpreting it.
MAX_REWRITES = 4
_TRAP_EXITS = {EXIT_SYSCALL: Vector.SYSCALL, EXIT_BREAK: Vector.BREAKPOINT}
TRANSLATE_LOCK = threading.Lock()   # llvmlite is not thread-safe: one translation at a time
NativeEntry = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)   # releases the GIL


@dataclass
class ExecStats:
    """Where instructions retired and why native code was left (for tests and benchmarks)."""
    native: int = 0            # instructions retired in native code
    interpreted: int = 0       # instructions retired by the interpreter tier
    entries: int = 0           # calls into native code
    exits: dict[int, int] = field(default_factory=dict)   # native exit code -> count


class JitCpu:
    """Everything the JIT keeps for one vCPU (lives in cpu.engine_state): its native
    state and the interpreter tier's context, whose Mmu the native TLB mirrors."""

    def __init__(self, engine: JitEngine) -> None:
        self.engine = engine
        self.native = NativeState(engine.mem_base)
        self.ctx: CpuContext | None = None    # the interpreter's context: owns the Mmu

    def attach(self, ctx: CpuContext) -> None:
        """Mirror `ctx`'s Mmu from now on (a new context starts with an empty TLB)."""
        self.ctx = ctx
        ctx.mmu.flush_listeners.append(self.on_flush)
        self.on_flush()

    def on_flush(self) -> None:
        self.native.flush_tlb()
        self.native.clear_jumps()


class JitEngine:
    """The JIT engine over one MachineMemory (see the module docstring).

    `exit_on_control=True` is for bare-metal use, as for the Interpreter: run() also
    returns right after every retired mtcr or rfe (which always run in the interpreter
    tier), with ExitReason.BUDGET and the exact retired count."""

    def __init__(self, memory: MachineMemory, config: JitConfig | None = None,
                 exit_on_control: bool = False) -> None:
        self.memory = memory
        self.config = config if config is not None else JitConfig.from_env()
        self.interp = Interpreter(memory, exit_on_control=exit_on_control)
        self.cache = CodeCache(self.config)
        self._buffer = (ctypes.c_char * memory.size).from_buffer(memory.data)
        self.mem_base = ctypes.addressof(self._buffer)
        self._cpus: list[JitCpu] = []
        self._counts: dict[tuple[int, int], int] = {}   # (maddr, vpc) -> cold executions
        self._warm: set[tuple[int, int]] = set()        # half-way hot: batched with hot ones
        self._seen: set[tuple[int, int]] = set()        # ran at least once (cold)
        self._rewrites: dict[int, int] = {}             # mfn -> translations lost to writes
        self._callers: dict[int, ctypes._CFuncPtr] = {}
        self.exec_stats = ExecStats()
        self._listening = False
        self._exit_requested = False    # see request_exit

    @property
    def stats(self) -> TranslationStats:
        return self.cache.stats

    # --- the Engine interface ------------------------------------------------------------------

    def run(self, cpu: CPUState, budget: int) -> Exit:
        """Run `cpu` for at most `budget` instructions (see paravisor.isa.engine.Engine)."""
        if budget <= 0:
            raise ValueError(f"budget must be positive, got {budget}")
        jc = self._prepare(cpu)
        done = 0
        while done < budget:
            if self._exit_requested:
                return Exit(ExitReason.KICK, done)
            code = self._entry(jc, cpu)
            if code is None:
                ran, final = self._run_cold(jc, cpu, budget - done)
            else:
                ran, final = self._run_native(jc, cpu, code, budget - done)
            done += ran
            if final is not None:
                return Exit(final.reason, done, final.trap)
        return Exit(ExitReason.BUDGET, done)

    def request_exit(self) -> None:
        """Make the run in progress (on another thread) return with ExitReason.KICK
        at its next return to Python, and every later run at once, until `cancel_exit`."""
        self._exit_requested = True

    def cancel_exit(self) -> None:
        self._exit_requested = False

    def invalidate_frame(self, mfn: int) -> None:
        """Drop everything cached from machine frame `mfn` (it was freed or reused)."""
        self.interp.invalidate_frame(mfn)
        for jc in self._cpus:
            jc.native.drop_write_frame(mfn)
        self._drop_code(mfn)

    def forget(self, cpu: CPUState) -> None:
        """Drop cpu's JIT state and its watches (call when a vCPU is destroyed).  When
        the last vCPU goes, the engine also stops watching memory (its translations go;
        the machine code stays mapped until the engine itself is collected)."""
        jc = cpu.engine_state
        if isinstance(jc, JitCpu) and jc.engine is self:
            self.interp.release(jc.ctx)
            self._cpus.remove(jc)
        cpu.engine_state = None
        if not self._cpus and self._listening:
            for mfn in self.cache.frames():
                self._drop_code(mfn)
            self.memory.remove_watch_listener(self._frame_watched)
            self._listening = False

    # --- the interpreter tier --------------------------------------------------------------------

    def _prepare(self, cpu: CPUState) -> JitCpu:
        """cpu's JitCpu, with the translation context synced to cpu (epoch, PTBR, ring)."""
        jc = cpu.engine_state
        if not (isinstance(jc, JitCpu) and jc.engine is self):
            if not self._listening:
                self.memory.add_watch_listener(self._frame_watched)
                self._listening = True
            jc = JitCpu(self)
            self._cpus.append(jc)
            cpu.engine_state = jc
        self._sync_context(jc, cpu)
        return jc

    def _sync_context(self, jc: JitCpu, cpu: CPUState) -> CpuContext:
        """The interpreter's context for cpu, synced to it (a new one is mirrored)."""
        ctx = self.interp.context_for(cpu, jc.ctx)
        if ctx is not jc.ctx:
            jc.attach(ctx)
        return ctx

    def _interpret(self, jc: JitCpu, cpu: CPUState, n: int) -> tuple[int, Exit | None]:
        """Interpret up to `n` instructions: (retired, the Exit if the run must end)."""
        result = self.interp.run_context(self._sync_context(jc, cpu), cpu, n)
        self.exec_stats.interpreted += result.retired
        if result.reason is ExitReason.BUDGET and result.retired == n:
            return n, None
        return result.retired, result

    def _run_cold(self, jc: JitCpu, cpu: CPUState, left: int) -> tuple[int, Exit | None]:
        """Interpret the block at cpu.pc (counting it; translating it once hot)."""
        pc, ctx = cpu.pc & M, jc.ctx
        block = None
        if not pc & 3:
            try:
                block = ctx.vblocks.get(pc) or ctx.lookup(pc)
            except GuestFault:
                block = None   # the interpreter raises it again, exactly
        if block is None:
            return self._interpret(jc, cpu, 1)
        key = (pc + ctx.mmu.rtlb[pc >> PAGE_SHIFT], pc)
        if self._rewrites.get(key[0] >> PAGE_SHIFT, 0) >= MAX_REWRITES:
            return self._interpret(jc, cpu, min(block.length, left))
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        self._seen.add(key)
        if count >= max(self.config.threshold, 1):
            self._translate(key)
            if self.cache.lookup(*key) is not None:
                return 0, None
        elif count >= self.config.threshold // 2:
            self._warm.add(key)
        return self._interpret(jc, cpu, min(block.length, left))

    # --- native code --------------------------------------------------------------------------

    def _entry(self, jc: JitCpu, cpu: CPUState) -> int | None:
        """The code address for cpu.pc if a translation exists (installing it in the jump
        cache after checking the fetch translation, as the interpreter would)."""
        pc = cpu.pc & M
        code = jc.native.entries.get(pc)
        if code is not None:
            jc.native.install(pc, code)   # its jump-cache slot may have been taken since
            return code
        if pc & 3:
            return None
        mmu = jc.ctx.mmu
        off = mmu.rtlb.get(pc >> PAGE_SHIFT)
        if off is None:
            try:
                off = mmu.translate_fetch(pc)
            except GuestFault:
                return None    # the interpreter will raise it (a failed walk changes nothing)
        code = self.cache.lookup(pc + off, pc)
        if code is not None:
            jc.native.install(pc, code)
        return code

    def _run_native(self, jc: JitCpu, cpu: CPUState, code: int,
                    left: int) -> tuple[int, Exit | None]:
        native = jc.native
        native.load(cpu.regs, cpu.pc & M, left, cpu.ring)
        reason = self._caller(code)(native.address)
        native.store_regs(cpu.regs)
        state = native.struct
        ran = left - state.budget
        cpu.instret += ran
        stats = self.exec_stats
        stats.native += ran
        stats.entries += 1
        stats.exits[reason] = stats.exits.get(reason, 0) + 1
        cpu.pc = state.pc
        if reason == EXIT_LOOKUP:
            return ran, None
        if reason == EXIT_HCALL:
            return ran, Exit(ExitReason.HYPERCALL, ran)
        if reason in _TRAP_EXITS:
            return ran, Exit(ExitReason.TRAP, ran, Trap(_TRAP_EXITS[reason], cpu.pc))
        if reason == EXIT_STEP:
            stepped, final = self._interpret(jc, cpu, 1)
            native.fill_from(jc.ctx.mmu, state.aux)
            return ran + stepped, final
        if reason == EXIT_BUDGET:
            if state.budget == 0:
                return ran, None
            tail, final = self._interpret(jc, cpu, state.budget)
            return ran + tail, final
        raise RuntimeError(f"translated code returned unknown exit code {reason}")

    def _caller(self, code: int) -> ctypes._CFuncPtr:
        fn = self._callers.get(code)
        if fn is None:
            fn = self._callers[code] = NativeEntry(code)
        return fn

    # --- translation and coherence --------------------------------------------------------------

    def _translate(self, hot: tuple[int, int]) -> None:
        """Compile the region at `hot` and up to batch_regions - 1 warm ones, in one module.
        One translation at a time in the whole process: llvmlite is not thread-safe and
        releases the GIL (this matters only to --realtime's threads)."""
        with TRANSLATE_LOCK:
            self._translate_locked(hot)

    def _translate_locked(self, hot: tuple[int, int]) -> None:
        started = time.perf_counter()
        self._warm.discard(hot)
        keys = [hot] + sorted(self._warm, key=lambda k: -self._counts.get(k, 0))
        keys = [k for k in keys if self.cache.lookup(*k) is None][:self.config.batch_regions]
        module = self.cache.new_module()
        regions = []
        for maddr, vpc in keys:
            self._warm.discard((maddr, vpc))
            plans = plan_region(self.memory.u32, vpc, maddr, self.config.region_blocks,
                                lambda at, pc: (at, pc) in self._seen)
            if plans:
                name = self.cache.function_name()
                emit_region(module.ir, name, plans)
                module.add_function(name)
                regions.append((name, plans))
        if not regions:
            return
        addresses = module.finalize()
        stats = self.cache.stats
        for name, plans in regions:
            for plan in plans:
                self.cache.add_entry(plan.maddr, plan.vpc, addresses[name])
                self._counts.pop((plan.maddr, plan.vpc), None)
                stats.blocks += 1
                stats.instructions += len(plan.insns)
                stats.lowered.update(decoded.mnemonic for decoded, _pc in plan.insns)
            self.memory.watch(plans[0].maddr >> PAGE_SHIFT, self._code_written)
        stats.modules += 1
        stats.regions += len(regions)
        stats.seconds += time.perf_counter() - started

    def _code_written(self, mfn: int) -> None:
        self._rewrites[mfn] = self._rewrites.get(mfn, 0) + 1
        self._drop_code(mfn)

    def _drop_code(self, mfn: int) -> None:
        if self.cache.drop_frame(mfn):
            self.memory.unwatch(mfn, self._code_written)
            for jc in self._cpus:
                jc.native.clear_jumps()

    def _frame_watched(self, mfn: int) -> None:
        # The frame just became watched: native stores must stop going straight to it.
        for jc in self._cpus:
            jc.native.drop_write_frame(mfn)
