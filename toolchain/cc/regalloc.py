"""Register allocation: linear scan (Poletto and Sarkar, TOPLAS 1999) over live
intervals computed from block liveness, and the frame layout.

Allocatable: caller-saved a0..a5 and t2 for values that do not live across a call,
callee-saved s0..s3 for any value.  t0 and t1 are never allocated: emit.py uses them
as scratch (spilled operands, large immediates, parallel moves).  At -O0 every
virtual register lives in a stack slot, like a classic unoptimized compiler.

Frame (sp after the prologue; it is 8-aligned, docs/isa.md):

    entry_sp + 0 ...          the caller's outgoing stack arguments (args 6+)
    entry_sp - 24 .. - 4      a0..a5 saved by a variadic function (va_list walks on up)
    ...                       ra and the callee-saved registers this function uses
    ...                       locals, temporaries and spill slots
    sp + 0 ...                our outgoing stack arguments
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ir
from .ctype import align_up

CALLER_SAVED = ("a0", "a1", "a2", "a3", "a4", "a5", "t2")
CALLEE_SAVED = ("s0", "s1", "s2", "s3")

Location = str | ir.Slot


@dataclass
class Frame:
    size: int = 0
    saved: list[tuple[str, int]] = field(default_factory=list)   # (register, sp offset)
    varargs_offset: int | None = None                             # a0's save slot


@dataclass
class Interval:
    vreg: ir.VReg
    start: int
    end: int
    crosses_call: bool = False
    location: Location | None = None


def _blocks(code: list[ir.Instr]) -> list[tuple[int, int]]:
    """[start, end) index ranges of the basic blocks."""
    starts = {0}
    for i, instr in enumerate(code):
        if isinstance(instr, ir.Label):
            starts.add(i)
        if isinstance(instr, (ir.Jump, ir.Branch, ir.Ret, ir.JumpTable)):
            starts.add(i + 1)
    ordered = sorted(s for s in starts if s < len(code))
    return [(s, ordered[k + 1] if k + 1 < len(ordered) else len(code))
            for k, s in enumerate(ordered)]


def _successors(code, blocks, label_block: dict[str, int], k: int) -> list[int]:
    start, end = blocks[k]
    last = code[end - 1]
    if isinstance(last, ir.Jump):
        return [label_block[last.target]]
    if isinstance(last, ir.JumpTable):
        return sorted({label_block[t] for t in last.targets})
    if isinstance(last, ir.Ret):
        return []
    succ = [k + 1] if k + 1 < len(blocks) else []
    if isinstance(last, ir.Branch):
        succ.append(label_block[last.target])
    return succ


def liveness(code: list[ir.Instr]) -> tuple[list[tuple[int, int]], list[set], list[set]]:
    """Blocks and their live-in / live-out sets of vreg ids (iterative dataflow)."""
    blocks = _blocks(code)
    label_block = {}
    for k, (s, e) in enumerate(blocks):
        for i in range(s, e):
            if isinstance(code[i], ir.Label):
                label_block[code[i].name] = k
    use, defs = [], []
    for s, e in blocks:
        u, d = set(), set()
        for instr in code[s:e]:
            u.update(id(v) for v in instr.uses() if id(v) not in d)
            d.update(id(v) for v in instr.defs())
        use.append(u)
        defs.append(d)
    succ = [_successors(code, blocks, label_block, k) for k in range(len(blocks))]
    live_in = [set() for _ in blocks]
    live_out = [set() for _ in blocks]
    changed = True
    while changed:
        changed = False
        for k in reversed(range(len(blocks))):
            out = set().union(*(live_in[j] for j in succ[k])) if succ[k] else set()
            inn = use[k] | (out - defs[k])
            if out != live_out[k] or inn != live_in[k]:
                live_out[k], live_in[k], changed = out, inn, True
    return blocks, live_in, live_out


def intervals(fn: ir.Function) -> list[Interval]:
    code = fn.code
    blocks, live_in, live_out = liveness(code)
    span: dict[int, list] = {}

    def touch(v: ir.VReg, pos: int) -> None:
        entry = span.setdefault(id(v), [v, pos, pos])
        entry[1], entry[2] = min(entry[1], pos), max(entry[2], pos)

    vregs, used = {}, set()
    for instr in code:
        used.update(id(v) for v in instr.uses())
    for i, instr in enumerate(code):
        for v in (*instr.uses(), *instr.defs()):
            if id(v) in used:             # a value nobody reads needs no location
                vregs[id(v)] = v
                touch(v, i)
    for k, (s, e) in enumerate(blocks):
        for vid in live_in[k]:
            touch(vregs[vid], s)
        for vid in live_out[k]:
            touch(vregs[vid], e - 1)
    calls = [i for i, instr in enumerate(code) if isinstance(instr, (ir.Call, ir.Hcall))]
    result = []
    for v, start, end in span.values():
        crosses = any(start < c < end for c in calls)
        result.append(Interval(v, start, end, crosses))
    result.sort(key=lambda iv: (iv.start, iv.end))
    return result


def linear_scan(ivs: list[Interval]) -> None:
    """Give each interval a register or a spill slot (set .location to a register
    name, or to None for "spill")."""
    active: list[Interval] = []
    free = set(CALLER_SAVED) | set(CALLEE_SAVED)
    for iv in ivs:
        for old in [a for a in active if a.end < iv.start]:
            active.remove(old)
            free.add(old.location)
        wanted = CALLEE_SAVED if iv.crosses_call else CALLER_SAVED + CALLEE_SAVED
        choice = next((r for r in wanted if r in free), None)
        if choice is not None:
            free.discard(choice)
            iv.location = choice
            active.append(iv)
            continue
        victims = [a for a in active if a.location in wanted]
        victim = max(victims, key=lambda a: a.end, default=None)
        if victim is not None and victim.end > iv.end:
            iv.location, victim.location = victim.location, None
            active.remove(victim)
            active.append(iv)
        else:
            iv.location = None


def allocate(fn: ir.Function, opt: int) -> tuple[dict[int, Location], Frame]:
    """Locations for every vreg (by id) and the frame layout (of any size: emit.py
    reaches offsets beyond 16 bits through a scratch register)."""
    ivs = intervals(fn)
    if opt >= 1:
        linear_scan(ivs)
    locations: dict[int, Location] = {}
    for iv in ivs:
        if iv.location is None:
            iv.location = fn.new_slot(4, 4)
        locations[id(iv.vreg)] = iv.location
    return locations, layout_frame(fn, {loc for loc in locations.values()
                                        if isinstance(loc, str)})


def layout_frame(fn: ir.Function, used_regs: set[str]) -> Frame:
    frame = Frame()
    offset = 4 * fn.max_stack_args
    for slot in fn.slots:
        offset = align_up(offset, slot.align)
        slot.offset = offset
        offset += slot.size
    saves = [r for r in CALLEE_SAVED if r in used_regs]
    if fn.has_calls or any(isinstance(i, ir.Atomic) and i.op == "cas" for i in fn.code):
        saves.insert(0, "ra")
    offset = align_up(offset, 4)
    for reg in saves:
        frame.saved.append((reg, offset))
        offset += 4
    if fn.variadic:
        offset = align_up(offset, 8)
        frame.varargs_offset = offset
        offset += 24
    frame.size = align_up(offset, 8)
    if fn.variadic:
        # the save area must end exactly at entry_sp, below the stack arguments
        frame.varargs_offset = frame.size - 24
    return frame
