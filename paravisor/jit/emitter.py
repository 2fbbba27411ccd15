"""`RegionEmitter`: builds the LLVM function of one region, for the `lower_*` functions.

A region is a set of blocks of one virtual page (so of one machine frame).  Its function
`i32 f(ptr state)` works like this:

    entry:     guest registers and budget -> allocas (SROA turns them into SSA values)
    dispatch:  switch on the pc to the block that starts there
    block:     if budget < length: exit BUDGET at the block start; else budget -= length
               ... one lowered instruction after another ...
               static successor in this region -> br (direct chaining)
               any other successor -> jump cache: this function -> dispatch,
                   another function -> musttail call (control stays native),
                   no entry -> exit LOOKUP
    exit:      registers, budget, pc, aux -> state; return the exit code

An instruction that needs the interpreter (TLB miss, misalignment, division by zero,
SYSTEM/CONTROL but hcall/syscall/break) exits STEP at its own pc, giving back the budget
of itself and the rest of its block, so the earlier instructions of the block have
retired exactly.  hcall, syscall and break retire and exit with their own codes.
"""

from __future__ import annotations

from llvmlite import ir

from paravisor.jit.softmmu import (
    EXIT_BUDGET,
    EXIT_LOOKUP,
    EXIT_STEP,
    JUMP_BITS,
    JUMP_ENTRY_SIZE,
    OFF_AUX,
    OFF_BUDGET,
    OFF_JUMP,
    OFF_PC,
    OFF_REGS,
    OFF_RING,
    OFF_TLB,
    TLB_BITS,
    TLB_ENTRY_SIZE,
)

I8, I16, I32, I64 = ir.IntType(8), ir.IntType(16), ir.IntType(32), ir.IntType(64)
PTR = ir.PointerType()
REGION_TYPE = ir.FunctionType(I32, [PTR])
INT_OF_SIZE = {1: I8, 2: I16, 4: I32}


def const32(value: int) -> ir.Constant:
    return ir.Constant(I32, value & 0xFFFF_FFFF)


class RegionEmitter:
    """The function of one region under construction.

    Lowering functions use: `b` (the builder), `pc` and `index` (the instruction being
    lowered and its position in its block), `reg`/`set_reg`, `require`, `host_pointer`,
    `goto`/`goto_dynamic` and `branch` (block terminators) and `step_here`."""

    def __init__(self, module: ir.Module, name: str, block_pcs: list[int]) -> None:
        self.fn = ir.Function(module, REGION_TYPE, name)
        self.fn.args[0].add_attribute("noalias")
        self.state = self.fn.args[0]
        self.pc, self.index, self.length = 0, 0, 0
        self._written: set[int] = set()     # guest registers some instruction writes
        self._entry = self.fn.append_basic_block("entry")
        self.b = ir.IRBuilder(self._entry)
        self._regs = [None] + [self.b.alloca(I32, name=f"r{n}") for n in range(1, 16)]
        self._budget = self.b.alloca(I64, name="budget")
        self._blocks = {vpc: self.fn.append_basic_block(f"b_{vpc:08x}") for vpc in block_pcs}
        self._make_shared_blocks()
        for n in range(1, 16):
            self.b.store(self.b.load(self._field(OFF_REGS + 4 * n), typ=I32), self._regs[n])
        self.b.store(self.b.load(self._field(OFF_BUDGET), typ=I64), self._budget)
        start_pc = self.b.load(self._field(OFF_PC), typ=I32)
        self.b.branch(self._dispatch)
        self._dispatch_pc.add_incoming(start_pc, self._entry)

    # --- shared blocks ------------------------------------------------------------------

    def _field(self, offset: int | ir.Value) -> ir.Value:
        index = const32(offset) if isinstance(offset, int) else offset
        return self.b.gep(self.state, [index], source_etype=I8)

    def _make_shared_blocks(self) -> None:
        b = self.b
        self._dispatch = self.fn.append_basic_block("dispatch")
        self._exit = self.fn.append_basic_block("exit")
        self._tail = self.fn.append_basic_block("tail")
        self._miss = self.fn.append_basic_block("dispatch_miss")
        with b.goto_block(self._dispatch):
            self._dispatch_pc = b.phi(I32, "pc")
            self._switch = b.switch(self._dispatch_pc, self._miss)
        with b.goto_block(self._exit):
            self._exit_pc = b.phi(I32, "exit_pc")
            self._exit_code = b.phi(I32, "exit_code")
            self._exit_refund = b.phi(I64, "exit_refund")
            self._exit_aux = b.phi(I32, "exit_aux")
        with b.goto_block(self._tail):
            self._tail_pc = b.phi(I32, "tail_pc")
            self._tail_code = b.phi(I64, "tail_code")
        with b.goto_block(self._miss):
            self._leave(self._dispatch_pc, EXIT_LOOKUP, 0, self._dispatch_pc)

    def _spill(self, budget: ir.Value, pc: ir.Value) -> None:
        """Write the registers the region may have changed, the budget and the pc back
        to the state (before leaving)."""
        b = self.b
        for n in sorted(self._written):
            b.store(b.load(self._regs[n], typ=I32), self._field(OFF_REGS + 4 * n))
        b.store(budget, self._field(OFF_BUDGET))
        b.store(pc, self._field(OFF_PC))

    def _leave(self, pc: ir.Value, code: int, refund: int, aux: ir.Value) -> None:
        """Terminate the current block with a branch to the exit."""
        here = self.b.block
        self._exit_pc.add_incoming(pc, here)
        self._exit_code.add_incoming(const32(code), here)
        self._exit_refund.add_incoming(ir.Constant(I64, refund), here)
        self._exit_aux.add_incoming(aux, here)
        self.b.branch(self._exit)

    # --- per block / per instruction ------------------------------------------------------

    def begin_block(self, vpc: int, length: int) -> None:
        """Start emitting the block at `vpc` of `length` instructions (budget check)."""
        block = self._blocks[vpc]
        self._switch.add_case(const32(vpc), block)
        self.b.position_at_end(block)
        self.length = length
        budget = self.b.load(self._budget, typ=I64)
        fits = self.b.icmp_signed(">=", budget, ir.Constant(I64, length))
        body = self.fn.append_basic_block(f"b_{vpc:08x}_body")
        short = self.fn.append_basic_block(f"b_{vpc:08x}_short")
        self.b.cbranch(fits, body, short)
        self.b.position_at_end(short)
        self._leave(const32(vpc), EXIT_BUDGET, 0, const32(vpc))
        self.b.position_at_end(body)
        self.b.store(self.b.sub(budget, ir.Constant(I64, length)), self._budget)

    def at(self, pc: int, index: int) -> None:
        self.pc, self.index = pc, index

    def reg(self, n: int) -> ir.Value:
        return const32(0) if n == 0 else self.b.load(self._regs[n], typ=I32)

    def set_reg(self, n: int, value: ir.Value) -> None:
        if n:   # r0 is hard-wired to zero: writes are dropped
            self.b.store(value, self._regs[n])
            self._written.add(n)

    def step_here(self, aux: ir.Value | None = None) -> None:
        """Terminate: the current instruction is left to the interpreter (not retired)."""
        self._leave(const32(self.pc), EXIT_STEP, self.length - self.index,
                    aux if aux is not None else const32(self.pc))

    def retire_and_exit(self, code: int) -> None:
        """Terminate: the current instruction retired and the run returns `code` with
        pc = the next instruction."""
        self._leave(const32(self.pc + 4), code, self.length - self.index - 1, const32(self.pc))

    def ring(self) -> ir.Value:
        return self.b.load(self._field(OFF_RING), typ=I32)

    def require(self, ok: ir.Value, aux: ir.Value | None = None) -> None:
        """Continue only if `ok`; otherwise the interpreter runs this instruction."""
        cont = self.fn.append_basic_block(f"i_{self.pc:08x}_ok")
        slow = self.fn.append_basic_block(f"i_{self.pc:08x}_slow")
        self.b.cbranch(ok, cont, slow)
        self.b.position_at_end(slow)
        self.step_here(aux)
        self.b.position_at_end(cont)

    def host_pointer(self, va: ir.Value, size: int, write: bool) -> ir.Value:
        """The host address of guest access [va, va+size): one test covers alignment and
        the TLB tag, and a miss or misalignment leaves to the interpreter."""
        b = self.b
        vpn = b.lshr(va, const32(12))
        slot = b.zext(b.and_(vpn, const32((1 << TLB_BITS) - 1)), I64)
        entry = b.add(b.mul(slot, ir.Constant(I64, TLB_ENTRY_SIZE)), ir.Constant(I64, OFF_TLB))
        tag_at = b.add(entry, ir.Constant(I64, 4 if write else 0))
        tag = b.load(self._field(tag_at), typ=I32)
        hit = b.icmp_unsigned("==", tag, vpn)
        if size > 1:
            aligned = b.icmp_unsigned("==", b.and_(va, const32(size - 1)), const32(0))
            hit = b.and_(hit, aligned)
        self.require(hit, va)
        addend = b.load(self._field(b.add(entry, ir.Constant(I64, 8))), typ=I64)
        return b.inttoptr(b.add(addend, b.zext(va, I64)), PTR)

    def load_guest(self, va: ir.Value, size: int, signed: bool) -> ir.Value:
        ptr = self.host_pointer(va, size, write=False)
        value = self.b.load(ptr, typ=INT_OF_SIZE[size], align=1)
        if size == 4:
            return value
        return self.b.sext(value, I32) if signed else self.b.zext(value, I32)

    def store_guest(self, va: ir.Value, size: int, value: ir.Value) -> None:
        ptr = self.host_pointer(va, size, write=True)
        if size < 4:
            value = self.b.trunc(value, INT_OF_SIZE[size])
        self.b.store(value, ptr, align=1)

    # --- control transfer (block terminators) -----------------------------------------------

    def goto(self, target: int) -> None:
        """Continue at the static `target` (a direct branch if it is in this region)."""
        block = self._blocks.get(target & 0xFFFF_FFFF)
        if block is not None:
            self.b.branch(block)
        else:
            self.goto_dynamic(const32(target))

    def branch(self, taken: ir.Value, target: int, fall: int) -> None:
        yes = self.fn.append_basic_block(f"i_{self.pc:08x}_taken")
        no = self.fn.append_basic_block(f"i_{self.pc:08x}_fall")
        self.b.cbranch(taken, yes, no)
        self.b.position_at_end(yes)
        self.goto(target)
        self.b.position_at_end(no)
        self.goto(fall)

    def goto_dynamic(self, target: ir.Value) -> None:
        """Continue at a computed pc through the jump cache."""
        b = self.b
        slot = b.zext(b.and_(b.lshr(target, const32(2)), const32((1 << JUMP_BITS) - 1)), I64)
        entry = b.add(b.mul(slot, ir.Constant(I64, JUMP_ENTRY_SIZE)), ir.Constant(I64, OFF_JUMP))
        vpc = b.load(self._field(entry), typ=I32)
        code = b.load(self._field(b.add(entry, ir.Constant(I64, 8))), typ=I64)
        hit = b.and_(b.icmp_unsigned("==", vpc, target),
                     b.icmp_unsigned("!=", code, ir.Constant(I64, 0)))
        found = self.fn.append_basic_block("chain_hit")
        missing = self.fn.append_basic_block("chain_miss")
        b.cbranch(hit, found, missing)
        b.position_at_end(missing)
        self._leave(target, EXIT_LOOKUP, 0, target)
        b.position_at_end(found)
        here = b.block
        same = b.icmp_unsigned("==", code, b.ptrtoint(self.fn, I64))
        b.cbranch(same, self._dispatch, self._tail)
        self._dispatch_pc.add_incoming(target, here)
        self._tail_pc.add_incoming(target, here)
        self._tail_code.add_incoming(code, here)

    def finish(self) -> ir.Function:
        """Close the function (every block must have been emitted): the exit and tail
        blocks spill only the registers the region writes, now that they are known."""
        b = self.b
        with b.goto_block(self._exit):
            self._spill(b.add(b.load(self._budget, typ=I64), self._exit_refund), self._exit_pc)
            b.store(self._exit_aux, self._field(OFF_AUX))
            b.ret(self._exit_code)
        with b.goto_block(self._tail):
            self._spill(b.load(self._budget, typ=I64), self._tail_pc)
            callee = b.inttoptr(self._tail_code, REGION_TYPE.as_pointer())
            b.ret(b.call(callee, [self.state], tail="musttail"))
        if not self._tail_pc.incomings:
            # Nothing leaves through the jump cache: drop the unreachable tail block
            # (a phi without incoming values does not print as valid IR).
            self.fn.blocks.remove(self._tail)
        return self.fn
