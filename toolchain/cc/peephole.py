"""Clean-up on the IR before register allocation: drop code after an unconditional
jump or return (up to the next label); turn `branch c, T; jump F; T:` into
`branch !c, F; T:`; and compute straight into a variable instead of into a temporary
that is then copied (`t = a + b; x = t` becomes `x = a + b` when t has no other use)."""

from __future__ import annotations

from . import ir

_INVERSE = {"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "ltu": "geu", "geu": "ltu"}


def _unreachable_removed(code: list[ir.Instr]) -> list[ir.Instr]:
    out, dead = [], False
    for instr in code:
        if isinstance(instr, ir.Label):
            dead = False
        if not dead:
            out.append(instr)
        if isinstance(instr, (ir.Jump, ir.Ret, ir.JumpTable)):
            dead = True
    return out


def _branches_inverted(code: list[ir.Instr]) -> list[ir.Instr]:
    out: list[ir.Instr] = []
    i = 0
    while i < len(code):
        instr = code[i]
        if isinstance(instr, ir.Branch) and i + 2 < len(code) and \
                isinstance(code[i + 1], ir.Jump) and isinstance(code[i + 2], ir.Label) and \
                code[i + 2].name == instr.target:
            out.append(ir.Branch(_INVERSE[instr.cond], instr.a, instr.b, code[i + 1].target))
            i += 2
            continue
        out.append(instr)
        i += 1
    return out


def _copies_folded(code: list[ir.Instr]) -> list[ir.Instr]:
    uses: dict[int, int] = {}
    for instr in code:
        for v in instr.uses():
            uses[id(v)] = uses.get(id(v), 0) + 1
    out: list[ir.Instr] = []
    for instr in code:
        prev = out[-1] if out else None
        if isinstance(instr, ir.Mov) and isinstance(instr.src, ir.VReg) and \
                uses.get(id(instr.src)) == 1 and prev is not None and \
                isinstance(prev, _RETARGETABLE) and prev.defs() == [instr.src]:
            prev.dst = instr.dst                # the temporary disappears
            continue
        out.append(instr)
    return out


_RETARGETABLE = (ir.Bin, ir.Load, ir.LoadAddr, ir.Mov, ir.Call, ir.Hcall)


def clean(fn: ir.Function) -> None:
    """Rewrite fn.code in place (semantics unchanged)."""
    fn.code = _copies_folded(_branches_inverted(_unreachable_removed(fn.code)))
