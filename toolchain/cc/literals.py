"""C literals: integer and character constants (C99 6.4.4) and string literals."""

from __future__ import annotations

from . import ctype as ct

_SIMPLE_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, "'": 39, '"': 34, "?": 63,
                   "a": 7, "b": 8, "f": 12, "v": 11, "e": 27}


class LiteralError(ValueError):
    """A literal we cannot represent; the message says why."""


def decode_escapes(body: str) -> bytes:
    """The bytes a string or character literal's body (without quotes) stands for."""
    out, i = bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        i += 1
        if i >= len(body):
            raise LiteralError("a backslash ends the literal")
        c = body[i]
        if c == "x":
            j = i + 1
            while j < len(body) and body[j] in "0123456789abcdefABCDEF":
                j += 1
            if j == i + 1:
                raise LiteralError("\\x used with no following hex digits")
            out.append(int(body[i + 1:j], 16) & 0xFF)
            i = j
        elif c in "01234567":
            j = i
            while j < len(body) and j < i + 3 and body[j] in "01234567":
                j += 1
            out.append(int(body[i:j], 8) & 0xFF)
            i = j
        elif c in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[c])
            i += 1
        else:
            raise LiteralError(f"unknown escape sequence \\{c}")
    return bytes(out)


def string_literal(text: str) -> bytes:
    """A pycparser string constant (quotes included) as bytes, without the NUL."""
    if text.startswith(("L", "u", "U")):
        raise LiteralError("wide string literals are not supported")
    return decode_escapes(text[1:-1])


def char_constant(text: str) -> int:
    """A character constant's value (type int; plain char is signed)."""
    if text.startswith(("L", "u", "U")):
        raise LiteralError("wide character constants are not supported")
    data = decode_escapes(text[1:-1])
    if len(data) != 1:
        raise LiteralError("multi-character constants are not supported")
    return ct.wrap(data[0], ct.CHAR)


def int_constant(text: str) -> tuple[int, ct.IntType]:
    """An integer constant's value and type, by C99 6.4.4.1's table for ILP32."""
    lower = text.lower()
    digits = lower.rstrip("ul")
    suffix = lower[len(digits):]
    if suffix not in ("", "u", "l", "ul", "lu", "ll", "ull", "llu"):
        raise LiteralError(f"invalid suffix on integer constant {text}")
    try:
        if digits.startswith("0x"):
            value, decimal = int(digits[2:], 16), False
        elif digits.startswith("0b"):
            value, decimal = int(digits[2:], 2), False
        elif digits.startswith("0") and len(digits) > 1:
            value, decimal = int(digits[1:], 8), False
        else:
            value, decimal = int(digits, 10), True
    except ValueError:
        raise LiteralError(f"invalid integer constant {text}") from None
    unsigned, longs = "u" in suffix, suffix.count("l")
    if longs == 2:
        candidates = [ct.ULLONG] if unsigned else [ct.LLONG, ct.ULLONG]
    elif unsigned:
        candidates = [ct.UINT, ct.ULONG, ct.ULLONG]
    elif decimal:
        candidates = [ct.INT, ct.LONG, ct.LLONG] if longs == 0 else [ct.LONG, ct.LLONG]
    else:
        candidates = [ct.INT, ct.UINT, ct.LONG, ct.ULONG, ct.LLONG, ct.ULLONG]
        if longs:
            candidates = candidates[2:]
    for typ in candidates:
        limit = 1 << (typ.bits - 1 if typ.signed else typ.bits)
        if value < limit:
            if typ.size == 8:
                raise LiteralError(f"integer constant {text} needs 64 bits (long long), "
                                   "which paravisor cc supports only as a storage type")
            return value, typ
    raise LiteralError(f"integer constant {text} is too large")


def asm_string(data: bytes) -> str:
    """`data` as an assembler string literal body."""
    out = []
    for b in data:
        ch = chr(b)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append(f"\\{b:03o}")
    return "".join(out)
