"""A Python model of C's integer semantics on an ILP32 machine, and Hypothesis
strategies for random C expressions and statements, for differential tests of
paravisor cc.

The model is written from C99 6.3, 6.5 and 6.8 directly (it shares no code with the
compiler).  Where C leaves behaviour undefined the generated code avoids it (divisors
are forced odd unless they are non-zero literals, shift counts are masked to 0..31,
array indices to the array) except for signed overflow, which both the model and PV32
define as two's-complement wrap-around.  An expression's value is a function of the
environment (variable name -> value), so statements can change what later ones see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st

# name -> (bits, signed, rank)
TYPES = {
    "int": (32, True, 3), "unsigned": (32, False, 3), "char": (8, True, 1),
    "unsigned char": (8, False, 1), "short": (16, True, 2),
    "unsigned short": (16, False, 2),
}
Env = dict[str, object]


def convert(value: int, typ: str) -> int:
    """`value` converted to `typ` (C99 6.3.1.3; wrap-around for signed targets)."""
    bits, signed, _ = TYPES[typ]
    value &= (1 << bits) - 1
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def promote(typ: str) -> str:
    return "int" if TYPES[typ][2] < 3 else typ


def common(a: str, b: str) -> str:
    a, b = promote(a), promote(b)
    return "unsigned" if "unsigned" in (a, b) else "int"


@dataclass(frozen=True)
class Expr:
    """A C expression: its text, its type, and its value in an environment."""
    text: str
    type: str
    eval: Callable[[Env], int]
    constant: bool = False       # a literal: used as a divisor as it is, if non-zero

    def value(self, env: Env | None = None) -> int:
        return self.eval(env or {})


def _div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _divide(op: str, t: str, a: int, b: int) -> int:
    if t == "int" and a == -2**31 and b == -1:
        return a if op == "/" else 0          # PV32's div/rem (C leaves it undefined)
    return _div(a, b) if op == "/" else a - _div(a, b) * b


def _arith(op: str, a: int, b: int) -> int:
    return {"+": a + b, "-": a - b, "*": a * b, "&": a & b, "|": a | b, "^": a ^ b,
            "<": int(a < b), ">": int(a > b), "<=": int(a <= b), ">=": int(a >= b),
            "==": int(a == b), "!=": int(a != b)}[op]


def binary(op: str, x: Expr, y: Expr) -> Expr:
    """x op y under the model (y made safe for / % and shifts)."""
    if op in ("<<", ">>"):
        t = promote(x.type)

        def shift(env):
            a, n = convert(x.eval(env), t), y.eval(env) & 31
            return convert(a << n if op == "<<" else a >> n, t)
        return Expr(f"({x.text} {op} ({y.text} & 31))", t, shift)
    if op in ("&&", "||"):
        def logic(env):
            if op == "&&":
                return int(bool(x.eval(env)) and bool(y.eval(env)))
            return int(bool(x.eval(env)) or bool(y.eval(env)))
        return Expr(f"({x.text} {op} {y.text})", "int", logic)
    t = common(x.type, y.type)
    if op in ("/", "%"):
        literal = y.constant and convert(y.value(), t) != 0
        text = f"({x.text} {op} {y.text})" if literal else f"({x.text} {op} ({y.text} | 1))"

        def divide(env):
            a, b = convert(x.eval(env), t), convert(y.eval(env), t)
            return convert(_divide(op, t, a, b if literal else convert(b | 1, t)), t)
        return Expr(text, t, divide)
    result = "int" if op in ("<", ">", "<=", ">=", "==", "!=") else t
    return Expr(f"({x.text} {op} {y.text})", result, lambda env: convert(
        _arith(op, convert(x.eval(env), t), convert(y.eval(env), t)), result))


def unary(op: str, x: Expr) -> Expr:
    if op == "!":
        return Expr(f"(!{x.text})", "int", lambda env: int(x.eval(env) == 0))
    t = promote(x.type)
    fn = {"-": lambda a: -a, "~": lambda a: ~a, "+": lambda a: a}[op]
    return Expr(f"({op}{x.text})", t, lambda env: convert(fn(convert(x.eval(env), t)), t))


def cast(typ: str, x: Expr) -> Expr:
    return Expr(f"(({typ}){x.text})", typ, lambda env: convert(x.eval(env), typ))


def ternary(c: Expr, x: Expr, y: Expr) -> Expr:
    t = common(x.type, y.type)
    return Expr(f"({c.text} ? {x.text} : {y.text})", t,
                lambda env: convert(x.eval(env) if c.eval(env) else y.eval(env), t))


BINARY_OPS = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "<", ">", "<=", ">=",
              "==", "!=", "&&", "||"]


def variable(name: str, typ: str) -> Expr:
    return Expr(name, typ, lambda env: env[name])


def literal(value: int, unsigned: bool) -> Expr:
    if unsigned:
        v = value & 0xFFFFFFFF
        return Expr(f"{v}u", "unsigned", lambda env: v, True)
    v = convert(value, "int")
    text = f"({v})" if v >= 0 else f"(-{-v - 1} - 1)"
    return Expr(text, "int", lambda env: v, True)


def constants() -> st.SearchStrategy[Expr]:
    interesting = st.sampled_from([0, 1, -1, 2, 7, 8, 16, 31, 32, 255, 256, 1024, 65535,
                                   2**31 - 1, -2**31, 0x80000000, 0xFFFFFFFF, -8])
    return st.builds(literal, st.one_of(interesting, st.integers(-2**31, 2**32 - 1)),
                     st.booleans())


def expressions(leaves: st.SearchStrategy[Expr], max_leaves: int = 12):
    """Random well-typed integer expressions over `leaves`."""
    def extend(children):
        return st.one_of(
            st.builds(binary, st.sampled_from(BINARY_OPS), children, children),
            st.builds(unary, st.sampled_from(["-", "~", "!", "+"]), children),
            st.builds(cast, st.sampled_from(list(TYPES)), children),
            st.builds(ternary, children, children, children),
        )
    return st.recursive(leaves, extend, max_leaves=max_leaves)


def _declarations(draw) -> tuple[list[str], list[tuple[str, str]], Env]:
    decls, names, env = [], [], {}
    for k, typ in enumerate(TYPES):
        value = draw(st.integers(-2**31, 2**32 - 1))
        name = f"v{k}"
        names.append((name, typ))
        env[name] = convert(value, typ)
        decls.append(f"    {typ} {name} = ({typ}){value & 0xFFFFFFFF}u;")
    return decls, names, env


def _print(expr_text: str) -> str:
    return f'    printf("%u %d\\n", (unsigned)({expr_text}), ({expr_text}) < 0);'


def _printed(value: int) -> str:
    return f"{value & 0xFFFFFFFF} {int(value < 0)}\n"


def _program(decls: list[str], body: list[str]) -> str:
    return "\n".join(["#include <stdio.h>", "int main(void)", "{", *decls, *body,
                      "    return 0;", "}", ""])


@st.composite
def programs(draw, count: int = 6):
    """(C source, expected output): variables of every type with random values, and
    `count` random expressions printed as unsigned bit patterns with their sign."""
    decls, names, env = _declarations(draw)
    leaves = st.one_of(st.sampled_from([variable(n, t) for n, t in names]), constants())
    exprs = [draw(expressions(leaves)) for _ in range(count)]
    expected = "".join(_printed(e.value(env)) for e in exprs)
    return _program(decls, [_print(e.text) for e in exprs]), expected


ARRAY = "arr"           # short arr[8]: array and pointer statements use it
ARRAY_LEN = 8


@st.composite
def statement_programs(draw, count: int = 8):
    """(C source, expected output) for random statements: plain and compound
    assignments to variables of every type, stores and loads through an array and a
    pointer into it, and if/else; every variable is printed at the end."""
    decls, names, env = _declarations(draw)
    env[ARRAY] = [0] * ARRAY_LEN
    decls += [f"    short {ARRAY}[{ARRAY_LEN}] = {{0}};", f"    short *p = {ARRAY} + 2;"]
    element = st.builds(lambda i: Expr(f"{ARRAY}[{i}]", "short",
                                       lambda env: env[ARRAY][i]),
                        st.integers(0, ARRAY_LEN - 1))
    leaves = st.one_of(st.sampled_from([variable(n, t) for n, t in names]), constants(),
                       element)
    exprs = expressions(leaves, max_leaves=6)
    body, actions = [], []
    for _ in range(count):
        text, action = draw(_statement(names, exprs))
        body.append(text)
        actions.append(action)
    for action in actions:
        action(env)
    body += [_print(n) for n, _ in names] + [_print(f"{ARRAY}[{i}]") for i in
                                            range(ARRAY_LEN)]
    expected = "".join(_printed(env[n]) for n, _ in names)
    expected += "".join(_printed(v) for v in env[ARRAY])
    return _program(decls, body), expected


def _assign(name: str, typ: str, op: str, e: Expr):
    """`name op= e` as text and as an action on the environment."""
    if op == "=":
        return f"    {name} = {e.text};", lambda env: env.__setitem__(
            name, convert(e.eval(env), typ))
    combined = binary(op, variable(name, typ), e)
    return f"    {name} = {combined.text};", lambda env: env.__setitem__(
        name, convert(combined.eval(env), typ))


@st.composite
def _statement(draw, names, exprs):
    kind = draw(st.sampled_from(["assign", "compound", "store", "pointer", "if"]))
    e = draw(exprs)
    if kind in ("assign", "compound"):
        name, typ = draw(st.sampled_from(names))
        op = "=" if kind == "assign" else draw(st.sampled_from(["+", "-", "*", "&", "|",
                                                                "^", "<<", ">>"]))
        return _assign(name, typ, op, e)
    if kind in ("store", "pointer"):
        index = draw(st.integers(0, ARRAY_LEN - 1 if kind == "store" else ARRAY_LEN - 3))
        where = f"{ARRAY}[{index}]" if kind == "store" else f"*(p + {index})"
        slot = index if kind == "store" else index + 2

        def store(env):
            env[ARRAY][slot] = convert(e.eval(env), "short")
        return f"    {where} = {e.text};", store
    cond = draw(exprs)
    (n1, t1), (n2, t2) = draw(st.sampled_from(names)), draw(st.sampled_from(names))
    other = draw(exprs)
    then_text, then_act = _assign(n1, t1, "=", e)
    else_text, else_act = _assign(n2, t2, "=", other)
    text = f"    if ({cond.text})\n    {then_text}\n    else\n    {else_text}"
    return text, lambda env: then_act(env) if cond.eval(env) else else_act(env)
