"""The reference interpreter: the executable specification of PV32 (an `Engine`).

Structure.  Code is decoded once into basic blocks of closures (see semantics.py) and
cached per machine frame, keyed by (machine address, virtual pc) because auipc, jal and
branches bind their virtual pc.  A block ends after a branch or jump, before-and-at a
SYSTEM/CONTROL instruction (which becomes its terminator), before an undecodable word,
or at the page end.  `vblocks` maps a virtual pc straight to its block while the TLB
and the code are unchanged, so the hot loop costs one dict lookup per block.

Exact accounting.  The hot loop runs whole blocks; anything unusual leaves it as an
exception that says where it happened, and the retired count is rebuilt from the
instruction's pc and the block start (blocks are straight-line, so index = offset / 4):
- GuestFault: a fault; the faulting instruction did not retire.
- Resync: a store changed this CPU's cached code or page tables; it retired and the
  rest of the block is re-fetched.
- _SystemPending: the block's SYSTEM/CONTROL terminator is reached; it runs outside the
  hot loop with cpu.pc and cpu.instret exact (mfcr INSTRET reads them) and privilege
  checked against the table.

Coherence.  A frame with cached code is watched; any write to it drops its blocks (and
ends the running block if this CPU wrote it, so self-modifying code works).  The TLB is
in `paravisor.isa.mmu`.  The hypervisor changing cpu.tlb_epoch, PTBR, STATUS or the ring
between runs is noticed at the start of `run`.  If cpu.regs or cpu.cr is replaced by a
new list, the closures bound to the old one are dropped.

Ownership: an Interpreter runs over one MachineMemory (the hypervisor makes one per
domain); it may run many CPUs, one at a time (under --realtime, a per-engine lock sees to
that).  Each CPU's cached state (a CpuContext) lives in cpu.engine_state, or, when another
engine runs the interpreter as its cold tier, wherever that engine keeps it
(`context_for` / `run_context`).
"""

from __future__ import annotations

from collections.abc import Callable

from paravisor.isa.engine import CPUState, Exit, ExitReason, Trap
from paravisor.isa.memory import MachineMemory
from paravisor.isa.mmu import Mmu
from paravisor.isa.semantics import (
    GuestFault,
    OpShape,
    Resync,
    StopRun,
    factory_for,
    op_shape,
)
from paravisor.isa.table import (
    CR,
    PAGE_MASK,
    PAGE_SHIFT,
    STATUS_PG,
    WORD_MASK,
    Instruction,
    Ring,
    Vector,
    decode,
)

M = WORD_MASK


class _SystemPending(Exception):
    """The hot loop reached a SYSTEM/CONTROL instruction; run it in the slow path."""

    def __init__(self, op: Callable[[CPUState], int], insn: Instruction, pc: int) -> None:
        super().__init__(insn.mnemonic)
        self.op, self.insn, self.pc = op, insn, pc


class Block:
    """A decoded basic block starting at virtual pc `vpc`.

    `body` are BODY ops; `term()` returns the next pc (a transfer, a constant
    fall-through, or raises _SystemPending); `length` counts the instructions,
    the terminator included when it is one."""

    __slots__ = ("vpc", "body", "term", "length")

    def __init__(self, vpc: int, body: tuple, term: Callable[[], int], length: int) -> None:
        self.vpc, self.body, self.term, self.length = vpc, body, term, length


def _constant_pc(pc: int) -> Callable[[], int]:
    return lambda: pc


def _system_terminator(op: Callable[[CPUState], int], insn: Instruction,
                       pc: int) -> Callable[[], int]:
    def term() -> int:
        raise _SystemPending(op, insn, pc)
    return term


class CpuContext:
    """Everything the interpreter caches for one CPU (its `ExecEnv`)."""

    def __init__(self, engine: Interpreter, cpu: CPUState) -> None:
        self.engine = engine
        self.memory = engine.memory
        self.regs = cpu.regs
        self.cr = cpu.cr
        self.mmu = Mmu(engine.memory)
        self.code: dict[int, dict[tuple[int, int], Block]] = {}   # mfn -> blocks
        self.vblocks: dict[int, Block] = {}
        self.epoch = cpu.tlb_epoch
        self.mmu.flush_listeners.append(self.vblocks.clear)
        self.sync_translation(cpu)

    def sync_translation(self, cpu: CPUState) -> None:
        """Bring the MMU to cpu's current context (PG, PTBR, ring, tlb_epoch)."""
        if cpu.tlb_epoch != self.epoch:
            self.epoch = cpu.tlb_epoch
            self.mmu.flush()
        status = cpu.cr[CR.STATUS]
        self.mmu.set_context(bool(status & STATUS_PG), cpu.cr[CR.PTBR],
                             cpu.ring == Ring.USER)

    def lookup(self, pc: int) -> Block:
        """The block at virtual `pc`: fetch-translate, then decode unless cached.
        Raises GuestFault for a misaligned pc, a failed fetch or an undecodable word."""
        if pc & 3:
            raise GuestFault(Vector.ALIGNMENT_CHECK, pc, 0, pc)
        off = self.mmu.rtlb.get(pc >> PAGE_SHIFT)
        if off is None:
            off = self.mmu.translate_fetch(pc)
        maddr = pc + off
        mfn = maddr >> PAGE_SHIFT
        frame = self.code.get(mfn)
        if frame is None:
            frame = self.code[mfn] = {}
            self.memory.watch(mfn, self._code_written)
        block = frame.get((maddr, pc))
        if block is None:
            block = frame[(maddr, pc)] = self._decode_block(pc, maddr)
        self.vblocks[pc] = block
        return block

    def _decode_block(self, pc: int, maddr: int) -> Block:
        u32 = self.memory.u32
        body: list[Callable[[], None]] = []
        vpc = pc
        while True:
            decoded = decode(u32[maddr >> 2])
            if decoded is None:
                if not body:
                    raise GuestFault(Vector.INVALID_OPCODE, vpc)
                return Block(pc, tuple(body), _constant_pc(vpc), len(body))
            insn = decoded.insn
            op = factory_for(insn)(decoded, vpc, self)
            shape = op_shape(insn)
            if shape is OpShape.TRANSFER:
                return Block(pc, tuple(body), op, len(body) + 1)
            if shape is OpShape.SYSTEM:
                return Block(pc, tuple(body), _system_terminator(op, insn, vpc), len(body) + 1)
            body.append(op)
            vpc = (vpc + 4) & M
            maddr += 4
            if not maddr & PAGE_MASK:
                return Block(pc, tuple(body), _constant_pc(vpc), len(body))

    def drop_code(self, mfn: int) -> None:
        """Forget the blocks decoded from frame `mfn`."""
        if self.code.pop(mfn, None) is not None:
            self.memory.unwatch(mfn, self._code_written)
            self.vblocks.clear()

    def _code_written(self, mfn: int) -> None:
        self.drop_code(mfn)
        self.mmu.dirty = True

    def detach(self) -> None:
        for mfn in list(self.code):
            self.drop_code(mfn)
        self.mmu.detach()


class Interpreter:
    """The reference PV32 engine over one MachineMemory.

    `exit_on_control=True` is for bare-metal use only: run() then also returns after
    every retired mtcr or rfe, with ExitReason.CONTROL and the exact (smaller) retired
    count, so that a caller delivering interrupts sees IE and TIMECMP changes at once."""

    def __init__(self, memory: MachineMemory, exit_on_control: bool = False) -> None:
        self.memory = memory
        self.exit_on_control = exit_on_control
        self._contexts: list[CpuContext] = []
        self._exit_requested = False

    # --- contexts ------------------------------------------------------------------------

    def context(self, cpu: CPUState) -> CpuContext:
        """cpu's cached state, kept in cpu.engine_state (see context_for)."""
        ctx = self.context_for(cpu, cpu.engine_state)
        cpu.engine_state = ctx
        return ctx

    def context_for(self, cpu: CPUState, ctx: object) -> CpuContext:
        """`ctx` synced to cpu's translation context (tlb_epoch, PG, PTBR, ring), or a new
        context for cpu in its place if `ctx` is not one of ours or is bound to register
        lists cpu no longer uses (the old one is released).  An engine that runs the
        interpreter as a tier keeps the context itself and passes it here and to
        `run_context` (the JIT: its JitCpu holds it, with the Mmu both tiers share);
        the interpreter's own CPUs keep theirs in cpu.engine_state (`context`)."""
        if isinstance(ctx, CpuContext) and ctx.engine is self:
            if ctx.regs is cpu.regs and ctx.cr is cpu.cr:
                ctx.sync_translation(cpu)
                return ctx
            self.release(ctx)
        ctx = CpuContext(self, cpu)
        self._contexts.append(ctx)
        return ctx

    def release(self, ctx: object) -> None:
        """Drop a context made by context_for, and its watches (nothing if it is not
        one of ours)."""
        if isinstance(ctx, CpuContext) and ctx in self._contexts:
            self._contexts.remove(ctx)
            ctx.detach()

    # --- the Engine interface --------------------------------------------------------------

    def forget(self, cpu: CPUState) -> None:
        """Drop cpu's cached state and its watches (call when a vCPU is destroyed)."""
        self.release(cpu.engine_state)
        cpu.engine_state = None

    def invalidate_frame(self, mfn: int) -> None:
        for ctx in self._contexts:
            ctx.drop_code(mfn)
            ctx.mmu.drop_frame(mfn)

    def request_exit(self) -> None:
        """Every later run returns ExitReason.KICK at once, until `cancel_exit`.  A run
        already in progress runs to the end of its budget: the hot loop checks nothing."""
        self._exit_requested = True

    def cancel_exit(self) -> None:
        self._exit_requested = False

    def run(self, cpu: CPUState, budget: int) -> Exit:
        """Run `cpu` for at most `budget` instructions (see engine.Engine)."""
        if budget <= 0:
            raise ValueError(f"budget must be positive, got {budget}")
        if self._exit_requested:
            return Exit(ExitReason.KICK, 0)
        return self.run_context(self.context(cpu), cpu, budget)

    def run_context(self, ctx: CpuContext, cpu: CPUState, budget: int) -> Exit:
        """`run` with the context `ctx` that context_for returned for `cpu`, wherever
        the caller keeps it (cpu.engine_state is not touched)."""
        vblocks, lookup = ctx.vblocks, ctx.lookup
        pc, left, start = cpu.pc & M, budget, cpu.instret
        while True:
            block = None
            try:
                while left > 0:
                    block = vblocks.get(pc)
                    if block is None:
                        block = lookup(pc)
                    n = block.length
                    if n > left:
                        for op in block.body[:left]:
                            op()
                        pc = (block.vpc + 4 * left) & M
                        left = 0
                        break
                    for op in block.body:
                        op()
                    left -= n
                    pc = block.term()
                return self._stop(cpu, pc, start, budget, ExitReason.BUDGET)
            except GuestFault as fault:
                done = budget - left
                if block is not None:
                    done += (fault.pc - block.vpc) >> 2
                return self._stop(cpu, fault.pc, start, done, ExitReason.TRAP, fault.trap())
            except Resync as resync:
                left -= (resync.next_pc - block.vpc) >> 2
                pc = resync.next_pc & M
            except _SystemPending as pending:
                left += 1   # the terminator was counted with its block but has not run
                outcome = self._system(cpu, pending, start, budget - left)
                if isinstance(outcome, Exit):
                    return outcome
                left -= 1
                pc = outcome
                if self.exit_on_control and pending.insn.mnemonic in ("mtcr", "rfe"):
                    return self._stop(cpu, pc, start, budget - left, ExitReason.CONTROL)

    def _system(self, cpu: CPUState, pending: _SystemPending,
                start: int, done: int) -> int | Exit:
        """Run a SYSTEM/CONTROL instruction with exact state: the next pc, or the Exit."""
        cpu.pc, cpu.instret = pending.pc, start + done
        try:
            if cpu.ring > pending.insn.privilege:
                raise GuestFault(Vector.GENERAL_PROTECTION, pending.pc)
            return pending.op(cpu)
        except GuestFault as fault:
            return self._stop(cpu, fault.pc, start, done, ExitReason.TRAP, fault.trap())
        except StopRun as stop:
            return self._stop(cpu, stop.next_pc, start, done + 1, stop.reason, stop.trap)

    @staticmethod
    def _stop(cpu: CPUState, pc: int, start: int, retired: int, reason: ExitReason,
              trap: Trap | None = None) -> Exit:
        cpu.pc = pc
        cpu.instret = start + retired
        return Exit(reason, retired, trap)
