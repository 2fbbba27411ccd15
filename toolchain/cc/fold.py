"""Constant folding and strength reduction on 32-bit register values.

An immediate in the IR is the *bit pattern* a register would hold, as a signed 32-bit
Python int; these functions compute what PV32's instructions compute (docs/isa.md), so
folding can never disagree with the machine.
"""

from __future__ import annotations

MASK = 0xFFFF_FFFF


def s32(value: int) -> int:
    value &= MASK
    return value - (1 << 32) if value & 0x8000_0000 else value


def u32(value: int) -> int:
    return value & MASK


def _div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return s32(q if (a < 0) == (b < 0) else -q)


def _rem(a: int, b: int) -> int:
    r = abs(a) % abs(b)
    return s32(r if a >= 0 else -r)


_FOLD = {
    "add": lambda a, b: s32(a + b),
    "sub": lambda a, b: s32(a - b),
    "mul": lambda a, b: s32(a * b),
    "mulh": lambda a, b: s32((a * b) >> 32),
    "mulhu": lambda a, b: s32((u32(a) * u32(b)) >> 32),
    "and": lambda a, b: s32(a & b),
    "or": lambda a, b: s32(a | b),
    "xor": lambda a, b: s32(a ^ b),
    "sll": lambda a, b: s32(a << (b & 31)),
    "srl": lambda a, b: s32(u32(a) >> (b & 31)),
    "sra": lambda a, b: s32(a >> (b & 31)),
    "slt": lambda a, b: int(a < b),
    "sltu": lambda a, b: int(u32(a) < u32(b)),
}


def fold(op: str, a: int, b: int) -> int | None:
    """The value of `op a, b` on constants, or None when it must stay a runtime
    operation (division by zero traps at run time, as the program asked)."""
    if op in _FOLD:
        return _FOLD[op](s32(a), s32(b))
    if b == 0:
        return None
    if op == "div":
        return _div(s32(a), s32(b))
    if op == "rem":
        return _rem(s32(a), s32(b))
    if op == "divu":
        return s32(u32(a) // u32(b))
    if op == "remu":
        return s32(u32(a) % u32(b))
    raise ValueError(op)


def log2_exact(value: int) -> int | None:
    """k when value == 2**k (as an unsigned 32-bit number), else None."""
    value = u32(value)
    if value == 0 or value & (value - 1):
        return None
    return value.bit_length() - 1


def simplify(op: str, b: int) -> tuple[str, int] | str | None:
    """Strength reduction of `op x, b` for a constant b: a cheaper (op, b), or "x"
    when the result is x itself, or "0" when it is 0, or None to keep it."""
    b = s32(b)
    if b == 0 and op in ("add", "sub", "or", "xor", "sll", "srl", "sra"):
        return "x"
    if b == 0 and op in ("and", "mul"):
        return "0"
    if b == -1 and op == "and":
        return "x"
    if b == 1 and op in ("mul", "div", "divu"):
        return "x"
    if b == 1 and op in ("rem", "remu"):
        return "0"
    k = log2_exact(b)
    if k is not None and op == "mul":
        return ("sll", k)
    if k is not None and op == "divu":
        return ("srl", k)
    if k is not None and op == "remu":
        return ("and", s32(u32(b) - 1))
    return None
