"""Assembler parser: source text into statements, with `.include` expanded.

A statement is one line: any labels (`name:` or numeric `1:`), then at most one
mnemonic or directive with comma-separated operands.  Instruction operands are parsed
here, against the operand template of the instruction (the ISA table's `syntax`, or a
pseudo-instruction's), so that a wrong operand count or a bad register is reported
before any layout happens.  Directive operands stay raw token groups; each directive
parses its own.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field

from paravisor.errors import SourceError
from paravisor.isa.table import CR, register_number
from paravisor.toolchain.asm.expr import Node, Num, parse_expression
from paravisor.toolchain.asm.lexer import AsmError, Token, tokenize

MAX_INCLUDE_DEPTH = 32


@dataclass(frozen=True)
class SourceLine:
    path: str
    number: int
    text: str

    def error(self, col: int, message: str) -> SourceError:
        return SourceError(self.path, self.number, col, message, self.text)


@dataclass
class Operand:
    """A parsed instruction operand: a register, an expression, or `expr(reg)`."""
    col: int
    reg: int = 0
    expr: Node | None = None


@dataclass
class Statement:
    line: SourceLine
    labels: list[tuple[str | int, int]] = field(default_factory=list)   # (name, col)
    name: str | None = None          # mnemonic or directive, lower case
    name_col: int = 0
    args: list[list[Token]] = field(default_factory=list)   # raw operand tokens
    arg_cols: list[int] = field(default_factory=list)
    operands: list[Operand] = field(default_factory=list)   # instructions only
    index: int = 0                   # position in the program (for 1b / 1f)
    dead: bool = False               # had an error; skipped by later passes
    words: int = 0                   # li: size chosen in the first pass

    @property
    def end_col(self) -> int:
        return len(self.line.text.rstrip()) + 1


class Syntax:
    """What the parser needs to know about mnemonics and directives."""

    def __init__(self, templates: dict[str, tuple[str, ...]], directives: set[str]) -> None:
        self.templates, self.directives = templates, directives

    def suggest(self, name: str) -> str:
        pool = self.directives if name.startswith(".") else self.templates
        close = difflib.get_close_matches(name, list(pool), n=1, cutoff=0.6)
        return f" (did you mean '{close[0]}'?)" if close else ""


def parse_program(text: str, path: str, syntax: Syntax,
                  errors: list[SourceError]) -> list[Statement]:
    """All statements of `text` (read from `path`) and of the files it includes, in
    order.  Errors go to `errors`; statements with errors are left out."""
    statements: list[Statement] = []
    _parse_file(text, path, syntax, errors, statements, [os.path.realpath(path)])
    for i, stmt in enumerate(statements):
        stmt.index = i
    return statements


def _parse_file(text: str, path: str, syntax: Syntax, errors: list[SourceError],
                out: list[Statement], stack: list[str]) -> None:
    for number, raw in enumerate(text.splitlines(), start=1):
        line = SourceLine(path, number, raw.expandtabs(1) if "\t" in raw else raw)
        try:
            stmt = parse_statement(line, syntax)
        except AsmError as err:
            errors.append(line.error(err.col, err.message))
            continue
        if stmt.name == ".include":
            if stmt.labels:
                out.append(Statement(line, stmt.labels))
            _include(stmt, syntax, errors, out, stack)
        elif stmt.labels or stmt.name:
            out.append(stmt)


def _include(stmt: Statement, syntax: Syntax, errors: list[SourceError],
             out: list[Statement], stack: list[str]) -> None:
    line = stmt.line
    if len(stmt.args) != 1 or len(stmt.args[0]) != 1 or stmt.args[0][0].kind != "str":
        errors.append(line.error(stmt.name_col, '.include takes one "file name"'))
        return
    name = bytes(stmt.args[0][0].value).decode(errors="replace")   # type: ignore[arg-type]
    target = find_include(name, line.path)
    real = os.path.realpath(target)
    col = stmt.arg_cols[0]
    if real in stack:
        errors.append(line.error(col, f"include cycle: {name} is already being included"))
        return
    if len(stack) >= MAX_INCLUDE_DEPTH:
        errors.append(line.error(col, f"includes nested deeper than {MAX_INCLUDE_DEPTH}"))
        return
    try:
        with open(target, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        errors.append(line.error(col, f"cannot include {name}: {_reason(err)}"))
        return
    _parse_file(text, target, syntax, errors, out, [*stack, real])


def system_include_dirs() -> list[str]:
    """The guest runtime shipped with paravisor: `paravisor.inc` and the library sources,
    so any kernel can `.include "paravisor.inc"` wherever it lives."""
    import paravisor.guest_os as guest_os
    root = os.path.dirname(os.path.abspath(guest_os.__file__))
    return [os.path.join(root, "include"), os.path.join(root, "lib"), root]


def find_include(name: str, including_path: str) -> str:
    """`name` relative to the including file if it exists there, else in the system
    include directories; else the relative path (whose open fails with a clear error)."""
    local = os.path.join(os.path.dirname(including_path), name)
    if os.path.isabs(name) or os.path.exists(local):
        return local
    for directory in system_include_dirs():
        candidate = os.path.join(directory, name)
        if os.path.exists(candidate):
            return candidate
    return local


def _reason(err: Exception) -> str:
    return err.strerror if isinstance(err, OSError) and err.strerror else str(err)


def parse_statement(line: SourceLine, syntax: Syntax) -> Statement:
    """Labels, mnemonic and operands of one line; raises AsmError."""
    tokens = tokenize(line.text)
    stmt = Statement(line)
    i = 0
    while i + 1 < len(tokens) and tokens[i + 1].text == ":" and tokens[i].kind in (
            "ident", "num"):
        tok = tokens[i]
        stmt.labels.append((int(tok.value) if tok.kind == "num" else tok.text, tok.col))  # type: ignore[call-overload]
        i += 2
    if i == len(tokens):
        return stmt
    head = tokens[i]
    if head.kind != "ident":
        raise AsmError(head.col, f"expected a mnemonic, directive or label, found '{head.text}'")
    stmt.name, stmt.name_col = head.text.lower(), head.col
    stmt.args, stmt.arg_cols = _split_operands(tokens[i + 1:], stmt.end_col)
    if stmt.name in syntax.templates:
        template = syntax.templates[stmt.name]
        stmt.operands = _parse_operands(stmt, template)
    elif stmt.name not in syntax.directives and stmt.name != ".include":
        kind = "directive" if stmt.name.startswith(".") else "mnemonic"
        raise AsmError(head.col, f"unknown {kind} '{head.text}'{syntax.suggest(stmt.name)}")
    return stmt


def _split_operands(tokens: list[Token], end_col: int) -> tuple[list[list[Token]], list[int]]:
    """Operand groups separated by top-level commas, with each group's column."""
    if not tokens:
        return [], []
    groups: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens:
        if tok.text == "," and tok.kind == "op" and depth == 0:
            if not groups[-1]:
                raise AsmError(tok.col, "empty operand")
            groups.append([])
            continue
        depth += {"(": 1, ")": -1}.get(tok.text, 0) if tok.kind == "op" else 0
        groups[-1].append(tok)
    if not groups[-1]:
        raise AsmError(end_col, "empty operand after ','")
    return groups, [group[0].col for group in groups]


def _parse_operands(stmt: Statement, template: tuple[str, ...]) -> list[Operand]:
    if len(stmt.args) != len(template):
        shown = ", ".join(template) if template else "no operands"
        raise AsmError(stmt.name_col, f"{stmt.name} takes {len(template)} operand"
                       f"{'' if len(template) == 1 else 's'} ({shown}), got {len(stmt.args)}")
    return [_operand(kind, toks, col, stmt.end_col)
            for kind, toks, col in zip(template, stmt.args, stmt.arg_cols, strict=True)]


def _operand(kind: str, toks: list[Token], col: int, end_col: int) -> Operand:
    if kind in ("rd", "rs1", "rs2"):
        return Operand(col, reg=parse_register(toks, col))
    if kind == "cr":
        if len(toks) == 1 and toks[0].kind == "ident":
            if toks[0].text.upper() not in CR.__members__:
                names = ", ".join(c.name.lower() for c in CR)
                raise AsmError(col, f"'{toks[0].text}' is not a control register ({names})")
            return Operand(col, expr=Num(col, int(CR[toks[0].text.upper()])))
        return Operand(col, expr=parse_expression(toks, end_col))
    if kind in ("imm", "target"):
        return Operand(col, expr=parse_expression(toks, end_col))
    if kind in ("imm(rs1)", "(rs1)"):
        return _memory_operand(kind, toks, col, end_col)
    raise ValueError(f"unknown operand template {kind!r}")


def parse_register(toks: list[Token], col: int) -> int:
    if len(toks) == 1 and toks[0].kind == "ident":
        number = register_number(toks[0].text)
        if number is not None:
            return number
        raise AsmError(toks[0].col, f"'{toks[0].text}' is not a register (r0..r15, zero, ra, "
                                    "sp, a0..a5, t0..t2, s0..s3, fp)")
    found = " ".join(t.text for t in toks)
    raise AsmError(col, f"expected a register, found '{found}'")


def _memory_operand(kind: str, toks: list[Token], col: int, end_col: int) -> Operand:
    """`imm(reg)` (imm may be empty, meaning 0) or `(reg)`."""
    if len(toks) < 3 or toks[-1].text != ")" or toks[-3].text != "(":
        form = "offset(register)" if kind == "imm(rs1)" else "(register)"
        raise AsmError(col, f"expected a memory operand {form}")
    reg = parse_register([toks[-2]], toks[-2].col)
    prefix = toks[:-3]
    if kind == "(rs1)":
        if prefix:
            raise AsmError(col, "this instruction takes no offset: write (register)")
        return Operand(col, reg=reg)
    expr = parse_expression(prefix, toks[-3].col) if prefix else Num(col, 0)
    return Operand(col, reg=reg, expr=expr)
