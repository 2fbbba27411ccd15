"""C types for PV32 and their layout (docs/cc.md, "Types and layout").

ILP32: char 1, short 2, int 4, long 4, long long 8, pointers 4.  Every scalar is
aligned to its own size (8 for long long, as docs/abi.md fixes for u64); a struct is
aligned to its most aligned member and padded to a multiple of that; members are laid
out in declaration order, each at the next offset aligned for it.  Types are immutable
values compared structurally, except structs/unions, which are identified by their
declaration (two `struct s` declared in different scopes are different types).
"""

from __future__ import annotations

from dataclasses import dataclass, field

WORD = 4


class CType:
    """Base of every C type.  `size` is None for incomplete types (void, `int[]`,
    a declared-but-undefined struct, functions)."""

    def is_pointer(self) -> bool:
        return isinstance(self, PointerType)

    def is_scalar(self) -> bool:
        return isinstance(self, (IntType, PointerType))


@dataclass(frozen=True)
class VoidType(CType):
    size = None
    align = 1

    def __str__(self) -> str:
        return "void"


@dataclass(frozen=True)
class IntType(CType):
    """An integer type; `rank` orders the standard conversions (C99 6.3.1.1)."""
    name: str
    size: int
    signed: bool
    rank: int

    @property
    def align(self) -> int:  # type: ignore[override]
        return self.size

    @property
    def bits(self) -> int:
        return 8 * self.size

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class PointerType(CType):
    target: CType
    size: int = WORD
    align: int = WORD

    def __str__(self) -> str:
        return f"{self.target} *"


@dataclass(frozen=True)
class ArrayType(CType):
    elem: CType
    length: int | None

    @property
    def size(self) -> int | None:  # type: ignore[override]
        if self.length is None or self.elem.size is None:
            return None
        return self.length * self.elem.size

    @property
    def align(self) -> int:  # type: ignore[override]
        return self.elem.align

    def __str__(self) -> str:
        return f"{self.elem}[{'' if self.length is None else self.length}]"


@dataclass(frozen=True)
class FunctionType(CType):
    ret: CType
    params: tuple[CType, ...]
    variadic: bool
    prototyped: bool = True
    size = None
    align = 1

    def __str__(self) -> str:
        params = ", ".join(str(p) for p in self.params) + (", ..." if self.variadic else "")
        return f"{self.ret} ({params or 'void'})"


@dataclass
class Member:
    """A member at byte `offset`; a bit-field's storage unit (an object of its type)
    is at `offset` and the field is bits bit_offset .. bit_offset + bit_width - 1."""
    name: str | None
    type: CType
    offset: int
    bit_offset: int = 0
    bit_width: int | None = None

    @property
    def bits(self) -> tuple[int, int] | None:
        return None if self.bit_width is None else (self.bit_offset, self.bit_width)


@dataclass(eq=False)
class StructType(CType):
    """A struct or union, completed by `define`.  Identity is the declaration."""
    kind: str                       # "struct" or "union"
    tag: str | None
    members: list[Member] = field(default_factory=list)
    complete: bool = False
    size_: int = 0
    align_: int = 1

    @property
    def size(self) -> int | None:  # type: ignore[override]
        return self.size_ if self.complete else None

    @property
    def align(self) -> int:  # type: ignore[override]
        return self.align_

    def define(self, members: list[tuple]) -> None:
        """Lay out `members`: (name, complete type) or (name, integer type, bit width)
        tuples, as the module docstring says.  A bit-field goes at the next free bit
        if it fits in the naturally aligned storage unit of its type there, else at
        the start of the next unit; a zero-width one closes the unit; unnamed ones
        take space but are not members (C99 6.7.2.1, as GCC lays them out)."""
        bit, align, laid = 0, 1, []
        for name, typ, *width in members:
            assert typ.size is not None
            start = 0 if self.kind == "union" else bit
            if width and width[0] is not None:
                member, end = _place_bitfield(name, typ, width[0], start)
                if name is not None:
                    align = max(align, typ.align)
            else:
                offset = align_up((start + 7) // 8, typ.align)
                member, end = Member(name, typ, offset), 8 * (offset + typ.size)
                align = max(align, typ.align)
            if member is not None:
                laid.append(member)
            bit = max(bit, end) if self.kind == "union" else end
        self.members, self.align_ = laid, align
        self.size_ = align_up((bit + 7) // 8, align)
        self.complete = True

    def find(self, name: str) -> Member | None:
        """The member called `name`, looking into anonymous struct/union members
        (the offset returned is from the start of this struct)."""
        for m in self.members:
            if m.name == name:
                return m
            if m.name is None and isinstance(m.type, StructType):
                inner = m.type.find(name)
                if inner is not None:
                    return Member(inner.name, inner.type, m.offset + inner.offset,
                                  inner.bit_offset, inner.bit_width)
        return None

    def __str__(self) -> str:
        return f"{self.kind} {self.tag or '<anonymous>'}"


def _place_bitfield(name, typ: IntType, width: int, bit: int) -> tuple[Member | None, int]:
    """A bit-field of `width` bits at or after bit `bit`: (its Member or None if it
    is unnamed, the bit after it)."""
    unit = 8 * typ.size
    if width == 0:
        return None, (bit + unit - 1) // unit * unit
    if bit // unit != (bit + width - 1) // unit:
        bit = (bit + unit - 1) // unit * unit           # would straddle: next unit
    offset = bit // unit * typ.size
    member = Member(name, typ, offset, bit - 8 * offset, width) if name else None
    return member, bit + width


def align_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align


VOID = VoidType()
BOOL = IntType("_Bool", 1, False, 0)
CHAR = IntType("char", 1, True, 1)          # plain char is signed, as on x86
SCHAR = IntType("signed char", 1, True, 1)
UCHAR = IntType("unsigned char", 1, False, 1)
SHORT = IntType("short", 2, True, 2)
USHORT = IntType("unsigned short", 2, False, 2)
INT = IntType("int", 4, True, 3)
UINT = IntType("unsigned int", 4, False, 3)
LONG = IntType("long", 4, True, 4)
ULONG = IntType("unsigned long", 4, False, 4)
LLONG = IntType("long long", 8, True, 5)
ULLONG = IntType("unsigned long long", 8, False, 5)
SIZE_T = UINT
PTRDIFF_T = INT


def is_wide(t: CType) -> bool:
    """64-bit integers: storable and copyable, but no arithmetic (docs/cc.md)."""
    return isinstance(t, IntType) and t.size == 8


def promote(t: IntType) -> IntType:
    """The integer promotions (C99 6.3.1.1p2): anything narrower than int becomes int."""
    return INT if t.rank < INT.rank else t


def usual_arithmetic(a: IntType, b: IntType) -> IntType:
    """The usual arithmetic conversions (C99 6.3.1.8) for ILP32 integer types."""
    a, b = promote(a), promote(b)
    if a == b:
        return a
    if a.signed == b.signed:
        return a if a.rank > b.rank else b
    unsigned, signed = (a, b) if not a.signed else (b, a)
    if unsigned.rank >= signed.rank:
        return unsigned
    if signed.size > unsigned.size:
        return signed
    # e.g. long vs unsigned int: long cannot hold every unsigned int, so unsigned long.
    return {LONG: ULONG, LLONG: ULLONG}.get(signed, UINT)


def wrap(value: int, t: IntType) -> int:
    """`value` converted to `t` (modulo 2^bits, then signed if `t` is)."""
    if t is BOOL or t == BOOL:
        return 1 if value else 0
    bits = t.bits
    value &= (1 << bits) - 1
    if t.signed and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def decay(t: CType) -> CType:
    """Array-to-pointer and function-to-pointer conversion (C99 6.3.2.1)."""
    if isinstance(t, ArrayType):
        return PointerType(t.elem)
    if isinstance(t, FunctionType):
        return PointerType(t)
    return t


def same_type(a: CType, b: CType) -> bool:
    if isinstance(a, IntType) and isinstance(b, IntType):
        return a.size == b.size and a.signed == b.signed
    return a == b
