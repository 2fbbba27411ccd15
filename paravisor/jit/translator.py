"""Guest code -> LLVM IR: find the blocks of a region and emit its function.

A *block* here is what the interpreter calls one: straight-line code that ends after a
branch or jump, at (and including) a SYSTEM/CONTROL instruction, before an undecodable
word, or at the page end.  A *region* is the set of blocks reachable by static edges
from a hot entry without leaving its virtual page: they share one fetch translation, so
they can branch to each other directly inside one LLVM function.  Edges that leave the
page (or the region) go through the jump cache, where an entry means "this pc's fetch
translation was checked since the last TLB flush".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llvmlite import ir

from paravisor.isa.semantics import OpShape, op_shape
from paravisor.isa.table import PAGE_MASK, PAGE_SHIFT, WORD_MASK, Decoded, Kind, decode
from paravisor.jit.emitter import RegionEmitter
from paravisor.jit.lower import lowering_for

M = WORD_MASK


@dataclass(frozen=True)
class BlockPlan:
    """One block to translate: its instructions (decoded, pc) and, when it does not end
    in a transfer or SYSTEM/CONTROL instruction, the pc it falls through to."""
    vpc: int
    maddr: int
    insns: tuple[tuple[Decoded, int], ...]
    fall_through: int | None

    def successors(self) -> list[int]:
        """Static successor pcs (jalr's and SYSTEM's are unknown / in Python)."""
        if self.fall_through is not None:
            return [self.fall_through]
        last, pc = self.insns[-1]
        if last.insn.kind is Kind.BRANCH:
            return [(pc + 4 * last.imm) & M, (pc + 4) & M]
        if last.mnemonic == "jal":
            return [(pc + 4 * last.imm) & M]
        return []


def plan_block(u32: memoryview, vpc: int, maddr: int) -> BlockPlan | None:
    """Decode the block at virtual `vpc` / machine `maddr`; None if its first word is
    not an instruction (the interpreter raises #UD there)."""
    insns: list[tuple[Decoded, int]] = []
    pc, at = vpc, maddr
    while True:
        decoded = decode(u32[at >> 2])
        if decoded is None:
            return BlockPlan(vpc, maddr, tuple(insns), pc) if insns else None
        insns.append((decoded, pc))
        if op_shape(decoded.insn) is not OpShape.BODY:
            return BlockPlan(vpc, maddr, tuple(insns), None)
        pc, at = (pc + 4) & M, at + 4
        if not at & PAGE_MASK:
            return BlockPlan(vpc, maddr, tuple(insns), pc)


def plan_region(u32: memoryview, vpc: int, maddr: int, max_blocks: int,
                include: Callable[[int, int], bool] = lambda maddr, vpc: True,
                ) -> list[BlockPlan]:
    """The blocks reachable from (vpc, maddr) by static edges inside vpc's page, entry
    first, at most `max_blocks`; empty if the entry is not an instruction.  Blocks other
    than the entry are taken only if `include(maddr, vpc)` (the engine passes "has run"
    so that code that never ran is not compiled)."""
    page_va, page_ma = vpc & ~PAGE_MASK, maddr & ~PAGE_MASK
    plans: list[BlockPlan] = []
    seen, todo = {vpc}, [vpc]
    while todo and len(plans) < max_blocks:
        pc = todo.pop(0)
        at = page_ma + (pc & PAGE_MASK)
        plan = plan_block(u32, pc, at) if pc == vpc or include(at, pc) else None
        if plan is None:
            continue
        plans.append(plan)
        for succ in plan.successors():
            if succ >> PAGE_SHIFT == vpc >> PAGE_SHIFT and succ not in seen:
                seen.add(succ)
                todo.append(succ)
    assert all(p.vpc & ~PAGE_MASK == page_va for p in plans)
    return plans


def emit_region(module: ir.Module, name: str, plans: list[BlockPlan]) -> ir.Function:
    """Add the function of a region (see emitter.py for its shape) to `module`."""
    em = RegionEmitter(module, name, [p.vpc for p in plans])
    for plan in plans:
        em.begin_block(plan.vpc, len(plan.insns))
        for index, (decoded, pc) in enumerate(plan.insns):
            em.at(pc, index)
            lowering_for(decoded.mnemonic)(em, decoded)
        if plan.fall_through is not None:
            em.at(plan.fall_through, len(plan.insns))
            em.goto(plan.fall_through)
    return em.finish()
