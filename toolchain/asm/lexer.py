"""Assembler lexer: one source line into tokens, each with its 1-based column.

Token kinds:
    ident   names, directives and mnemonics: [A-Za-z_.$][A-Za-z0-9_.$]*  (`.` alone is the
            location counter)
    num     integers: 123, 0x7f, 0b101, 0o17, 'c' (value: int)
    local   numeric local-label references 1b / 1f (value: (number, "b" | "f"))
    str     "..." with C escapes (value: bytes)
    mod     %hi / %lo, written directly before "(" (value: "hi" | "lo")
    op      punctuation and operators: , : ( ) + - * / % << >> & | ^ ~ @
Comments start at `#` or `//` outside string and character literals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class AsmError(Exception):
    """A mistake at column `col` of the statement being processed; the assembler adds
    the file and line and renders it as a SourceError."""

    def __init__(self, col: int, message: str) -> None:
        super().__init__(message)
        self.col, self.message = col, message


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    col: int
    value: object = None


_IDENT = re.compile(r"[A-Za-z_.$][A-Za-z0-9_.$]*")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|[0-9]+")
_LOCAL = re.compile(r"([0-9]+)([bf])(?![A-Za-z0-9_.$])")
_WORDISH = re.compile(r"[A-Za-z0-9_.$]*")
_OPERATORS = ("<<", ">>", ",", ":", "(", ")", "+", "-", "*", "/", "%", "&", "|", "^",
              "~", "@")
_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, '"': 34, "'": 39, "a": 7,
            "b": 8, "f": 12, "v": 11, "e": 27}


def tokenize(line: str) -> list[Token]:
    """The tokens of `line` up to its comment.  Raises AsmError on a bad character,
    a malformed number or an unterminated string or character literal."""
    tokens: list[Token] = []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch in " \t\r\f\v":
            i += 1
        elif ch == "#" or line.startswith("//", i):
            break
        else:
            token, i = _next_token(line, i)
            tokens.append(token)
    return tokens


def _next_token(line: str, i: int) -> tuple[Token, int]:
    ch, col = line[i], i + 1
    if ch.isdigit():
        return _number(line, i)
    if m := _IDENT.match(line, i):
        return Token("ident", m.group(), col), m.end()
    if ch == '"':
        data, end = _string(line, i)
        return Token("str", line[i:end], col, data), end
    if ch == "'":
        return _char(line, i)
    if ch == "%":
        for mod in ("hi", "lo"):
            if line.startswith(mod + "(", i + 1):
                return Token("mod", "%" + mod, col, mod), i + 1 + len(mod)
    for op in _OPERATORS:
        if line.startswith(op, i):
            return Token("op", op, col), i + len(op)
    raise AsmError(col, f"unexpected character {ch!r}")


def _number(line: str, i: int) -> tuple[Token, int]:
    col = i + 1
    # "1b" is a local reference, "0b101" a binary number: the lookahead in _LOCAL
    # refuses a match followed by more digits.
    if m := _LOCAL.match(line, i):
        return Token("local", m.group(), col, (int(m.group(1)), m.group(2))), m.end()
    m = _NUMBER.match(line, i)
    assert m is not None   # line[i] is a digit
    tail = _WORDISH.match(line, m.end())
    if tail and tail.group():
        bad = m.group() + tail.group()
        raise AsmError(col, f"malformed number {bad!r}")
    text = m.group()
    base = {"x": 16, "b": 2, "o": 8}.get(text[1:2].lower(), 10)
    value = int(text, base) if base == 10 else int(text[2:], base)
    return Token("num", text, col, value), m.end()


def _escape(line: str, i: int, col: int) -> tuple[int, int]:
    """The byte value of the escape sequence starting at line[i] (just after the
    backslash), and the index after it."""
    if i >= len(line):
        raise AsmError(col, "unterminated escape sequence")
    ch = line[i]
    if ch == "x":
        m = re.compile(r"[0-9a-fA-F]{1,2}").match(line, i + 1)
        if not m:
            raise AsmError(i + 1, "\\x needs hex digits")
        return int(m.group(), 16), m.end()
    if ch in "01234567":
        m = re.compile(r"[0-7]{1,3}").match(line, i)
        assert m is not None
        if int(m.group(), 8) > 255:
            raise AsmError(i + 1, f"octal escape \\{m.group()} does not fit in a byte")
        return int(m.group(), 8), m.end()
    if ch in _ESCAPES:
        return _ESCAPES[ch], i + 1
    raise AsmError(i + 1, f"unknown escape sequence \\{ch}")


def _string(line: str, i: int) -> tuple[bytes, int]:
    col, out, j = i + 1, bytearray(), i + 1
    while j < len(line):
        ch = line[j]
        if ch == '"':
            return bytes(out), j + 1
        if ch == "\\":
            value, j = _escape(line, j + 1, col)
            out.append(value)
        else:
            out += ch.encode()
            j += 1
    raise AsmError(col, "unterminated string")


def _char(line: str, i: int) -> tuple[Token, int]:
    col = i + 1
    if line.startswith("\\", i + 1):
        value, j = _escape(line, i + 2, col)
    elif i + 1 < len(line) and line[i + 1] != "'":
        encoded = line[i + 1].encode()
        if len(encoded) != 1:
            raise AsmError(col, "character literal must be a single byte")
        value, j = encoded[0], i + 2
    else:
        raise AsmError(col, "empty character literal")
    if not line.startswith("'", j):
        raise AsmError(col, "unterminated character literal")
    return Token("num", line[i:j + 1], col, value), j + 1
