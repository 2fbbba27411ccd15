"""Assembler expressions: parsing (C precedence) and evaluation to relocatable values.

A `Value` is `offset` plus at most one base: a section (a label's address before
linking) or an undefined symbol (resolved by the linker).  `%hi(x)` / `%lo(x)` of a
relocatable x keep x and remember the modifier, so the encoder can emit the matching
relocation; of an absolute x they are plain numbers.  During the first pass a forward
reference evaluates to an *unknown* value, which propagates through arithmetic and is
never range-checked; the second pass knows every label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from paravisor.toolchain.asm.lexer import AsmError, Token

# --- Values --------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    offset: int
    section: str | None = None    # relative to this section's start
    symbol: str | None = None     # relative to this undefined (external) symbol
    modifier: str | None = None   # "hi" / "lo" applied to a relocatable value
    unknown: bool = False         # first pass: depends on a not-yet-defined symbol

    @property
    def is_absolute(self) -> bool:
        return self.section is None and self.symbol is None and self.modifier is None

    def describe(self) -> str:
        base = self.section or self.symbol
        return f"{base}{self.offset:+#x}" if base else f"{self.offset:#x}"


UNKNOWN = Value(0, unknown=True)

# --- Syntax tree ---------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    col: int


@dataclass(frozen=True)
class Num(Node):
    value: int


@dataclass(frozen=True)
class Sym(Node):
    name: str


@dataclass(frozen=True)
class LocalRef(Node):
    number: int
    direction: str   # "b" or "f"


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Modifier(Node):
    kind: str   # "hi" or "lo"
    operand: Node


_PRECEDENCE = {"|": 1, "^": 2, "&": 3, "<<": 4, ">>": 4, "+": 5, "-": 5,
               "*": 6, "/": 6, "%": 6}


class _Parser:
    def __init__(self, tokens: list[Token], end_col: int) -> None:
        self.tokens, self.pos, self.end_col = tokens, 0, end_col

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise AsmError(self.end_col, "expression ends too early")
        self.pos += 1
        return tok

    def expect(self, text: str) -> None:
        if self.peek() is None:
            raise AsmError(self.end_col, f"missing '{text}'")
        tok = self.take()
        if tok.text != text:
            raise AsmError(tok.col, f"expected '{text}', found '{tok.text}'")

    def binary(self, min_prec: int) -> Node:
        left = self.unary()
        while (tok := self.peek()) is not None and tok.kind == "op" and \
                _PRECEDENCE.get(tok.text, 0) >= min_prec:
            self.pos += 1
            right = self.binary(_PRECEDENCE[tok.text] + 1)
            left = Binary(tok.col, tok.text, left, right)
        return left

    def unary(self) -> Node:
        tok = self.take()
        if tok.kind == "op" and tok.text in "-~+":
            return Unary(tok.col, tok.text, self.unary())
        if tok.kind == "op" and tok.text == "(":
            inner = self.binary(1)
            self.expect(")")
            return inner
        if tok.kind == "mod":
            self.expect("(")
            inner = self.binary(1)
            self.expect(")")
            return Modifier(tok.col, str(tok.value), inner)
        if tok.kind == "num":
            return Num(tok.col, int(tok.value))   # type: ignore[call-overload]
        if tok.kind == "local":
            number, direction = tok.value   # type: ignore[misc]
            return LocalRef(tok.col, number, direction)
        if tok.kind == "ident":
            return Sym(tok.col, tok.text)
        raise AsmError(tok.col, f"expected a value, found '{tok.text}'")


def parse_expression(tokens: list[Token], end_col: int) -> Node:
    """Parse all of `tokens` as one expression; `end_col` is where the operand ends
    (for "ends too early" errors)."""
    if not tokens:
        raise AsmError(end_col, "missing expression")
    parser = _Parser(tokens, end_col)
    node = parser.binary(1)
    if (extra := parser.peek()) is not None:
        raise AsmError(extra.col, f"unexpected '{extra.text}' after expression")
    return node


# --- Evaluation ----------------------------------------------------------------------

class Scope(Protocol):
    """What evaluation needs from the assembler."""

    def symbol_value(self, name: str, col: int) -> Value: ...
    def local_label(self, number: int, direction: str, col: int) -> Value: ...
    def location(self) -> Value: ...


MAX_SHIFT = 64


def evaluate(node: Node, scope: Scope) -> Value:
    """The value of `node`; raises AsmError for what cannot be computed (division by
    zero, arithmetic mixing addresses of different sections, ...)."""
    if isinstance(node, Num):
        return Value(node.value)
    if isinstance(node, Sym):
        return scope.location() if node.name == "." else scope.symbol_value(node.name, node.col)
    if isinstance(node, LocalRef):
        return scope.local_label(node.number, node.direction, node.col)
    if isinstance(node, Modifier):
        return _modifier(node, evaluate(node.operand, scope))
    if isinstance(node, Unary):
        value = evaluate(node.operand, scope)
        if value.unknown or node.op == "+":
            return value
        _need_absolute(value, node.col, f"unary '{node.op}'")
        return Value(-value.offset if node.op == "-" else ~value.offset)
    assert isinstance(node, Binary)
    return _binary(node, evaluate(node.left, scope), evaluate(node.right, scope))


def _modifier(node: Modifier, value: Value) -> Value:
    if value.unknown:
        return value
    if value.modifier:
        raise AsmError(node.col, "%hi/%lo cannot be nested")
    if value.is_absolute:
        word = value.offset & 0xFFFF_FFFF
        return Value(word >> 12 if node.kind == "hi" else word & 0xFFF)
    return Value(value.offset, value.section, value.symbol, node.kind)


def _need_absolute(value: Value, col: int, what: str) -> None:
    if value.modifier:
        raise AsmError(col, "%hi/%lo must be the whole operand, not part of an expression")
    if not value.is_absolute:
        raise AsmError(col, f"{what} needs a constant, not the address {value.describe()}")


def _binary(node: Binary, a: Value, b: Value) -> Value:
    if a.unknown or b.unknown:
        return UNKNOWN
    if a.modifier or b.modifier:
        _need_absolute(a if a.modifier else b, node.col, node.op)
    op = node.op
    if op == "+" and (a.is_absolute or b.is_absolute):
        base, other = (b, a) if a.is_absolute else (a, b)
        return Value(base.offset + other.offset, base.section, base.symbol)
    if op == "-" and b.is_absolute:
        return Value(a.offset - b.offset, a.section, a.symbol)
    if op == "-" and (a.section, a.symbol) == (b.section, b.symbol):
        return Value(a.offset - b.offset)   # distance between two places of one base
    if not (a.is_absolute and b.is_absolute):
        raise AsmError(node.col, f"cannot compute {a.describe()} {op} {b.describe()}: "
                                 "only address + constant, address - constant and the "
                                 "difference of two addresses in one section are allowed")
    return Value(_arithmetic(op, a.offset, b.offset, node.col))


def _arithmetic(op: str, x: int, y: int, col: int) -> int:
    if op in ("/", "%"):
        if y == 0:
            raise AsmError(col, "division by zero")
        quotient = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)   # C truncation
        return quotient if op == "/" else x - quotient * y
    if op in ("<<", ">>"):
        if not 0 <= y <= MAX_SHIFT:
            raise AsmError(col, f"shift count {y} out of range 0..{MAX_SHIFT}")
        return x << y if op == "<<" else x >> y
    return {"+": x + y, "-": x - y, "*": x * y, "&": x & y, "|": x | y, "^": x ^ y}[op]
