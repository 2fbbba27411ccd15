"""Declarative layouts for the structures the hypervisor shares with guests.

A structure is declared once, as data:

    SCHED_SHUTDOWN = Struct("sched_shutdown", [("reason", U32)])

and everything else derives from that declaration: member offsets with natural C
alignment (every scalar aligned to its own size, u64 included -- see below), the size,
`pack`/`unpack` to and from little-endian bytes, and the C and assembly headers that
guests include (paravisor.abi.headers).

Alignment: PV32 is a 32-bit ISA, but u64 members are aligned to 8 bytes (as on x86-64,
unlike i386 where they are aligned to 4).  Every gap is written out as an explicit
padding member in the generated C header, so the layout is the same whatever the C
compiler's ABI.

Guest memory is reached through callables, so this module knows nothing of domains:
`read(mem_read, addr, path)` calls `mem_read(address, length) -> bytes` and
`write(mem_write, addr, path, value)` calls `mem_write(address, data)`.  The address
handed to them is `addr + offset` *unwrapped*: a reader must refuse anything past
4 GiB (a guest passing a pointer near the top of the address space) the same way it
refuses an unmapped page, typically by raising an exception the handler turns into
-EFAULT.

Misuse by hypervisor code (an unknown member, a value out of range) raises AbiError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MemRead = Callable[[int, int], bytes]
MemWrite = Callable[[int, bytes], None]


class AbiError(ValueError):
    """A structure was used wrongly: unknown member, bad index, value out of range."""


@dataclass(frozen=True)
class Scalar:
    """A little-endian integer of `size` bytes; `c_type` is its name in C."""

    c_type: str
    size: int
    signed: bool

    @property
    def align(self) -> int:
        return self.size

    @property
    def bits(self) -> int:
        return self.size * 8

    def check(self, value: Any) -> int:
        """`value` as an int that fits; unsigned members also accept negative values
        down to -2**(bits-1) (two's complement, e.g. a -errno stored in a u32)."""
        if not isinstance(value, int):
            raise AbiError(f"{self.c_type} needs an int, not {type(value).__name__}")
        low = -(1 << (self.bits - 1))
        high = (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1
        if not low <= value <= high:
            raise AbiError(f"{value} does not fit in {self.c_type}")
        return value

    def encode(self, value: Any) -> bytes:
        value = self.check(value)
        if not self.signed and value < 0:
            value += 1 << self.bits
        return value.to_bytes(self.size, "little", signed=self.signed)

    def decode(self, data: bytes) -> int:
        return int.from_bytes(data[:self.size], "little", signed=self.signed)

    def zero(self) -> int:
        return 0


U8 = Scalar("uint8_t", 1, False)
U16 = Scalar("uint16_t", 2, False)
U32 = Scalar("uint32_t", 4, False)
U64 = Scalar("uint64_t", 8, False)
I8 = Scalar("int8_t", 1, True)
I16 = Scalar("int16_t", 2, True)
I32 = Scalar("int32_t", 4, True)
I64 = Scalar("int64_t", 8, True)
CHAR = Scalar("char", 1, False)   # text: arrays of CHAR pack from str or bytes

BYTE_TYPES = (U8, CHAR, I8)


@dataclass(frozen=True)
class Array:
    """`count` elements of `elem`.  Arrays of bytes (U8, CHAR, I8) take and give
    `bytes`; other arrays take and give lists.  A shorter value is zero-filled."""

    elem: Type
    count: int

    def __post_init__(self) -> None:
        if self.count <= 0:
            raise AbiError("an array needs at least one element")

    @property
    def size(self) -> int:
        return self.elem.size * self.count

    @property
    def align(self) -> int:
        return self.elem.align

    @property
    def is_bytes(self) -> bool:
        return self.elem in BYTE_TYPES

    def encode(self, value: Any) -> bytes:
        if self.is_bytes:
            if isinstance(value, str):
                value = value.encode()
            if not isinstance(value, (bytes, bytearray)):
                raise AbiError(f"a byte array needs bytes, not {type(value).__name__}")
            if len(value) > self.count:
                raise AbiError(f"{len(value)} bytes do not fit in {self.count}")
            return bytes(value) + bytes(self.count - len(value))
        if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
            raise AbiError(f"an array needs a list, not {type(value).__name__}")
        if len(value) > self.count:
            raise AbiError(f"{len(value)} elements do not fit in {self.count}")
        parts = [self.elem.encode(v) for v in value]
        parts.append(bytes(self.elem.size * (self.count - len(value))))
        return b"".join(parts)

    def decode(self, data: bytes) -> bytes | list:
        if self.is_bytes:
            return bytes(data[:self.count])
        step = self.elem.size
        return [self.elem.decode(data[i * step:(i + 1) * step]) for i in range(self.count)]

    def zero(self) -> bytes | list:
        return bytes(self.count) if self.is_bytes else [self.elem.zero()] * self.count


@dataclass(frozen=True)
class Member:
    name: str
    type: Type
    offset: int


_INDEX = re.compile(r"\[(\d+)\]")


class Struct:
    """A C structure laid out with natural alignment.

    `size`, when given, is the size Xen (or we) fix for it; a mismatch is an error at
    import time, so a layout cannot drift silently.  `doc` is one line for headers.
    """

    def __init__(self, name: str, fields: Sequence[tuple[str, Type]], *,
                 size: int | None = None, doc: str = "") -> None:
        self.name, self.doc = name, doc
        self.members: list[Member] = []
        self._by_name: dict[str, Member] = {}
        offset, align = 0, 1
        for field_name, field_type in fields:
            if field_name in self._by_name:
                raise AbiError(f"{name}: member {field_name} declared twice")
            offset = _align_up(offset, field_type.align)
            member = Member(field_name, field_type, offset)
            self.members.append(member)
            self._by_name[field_name] = member
            offset += field_type.size
            align = max(align, field_type.align)
        self.align = align
        self.size = _align_up(offset, align)
        if size is not None and size != self.size:
            raise AbiError(f"{name} is {self.size} bytes; it must be {size}")

    def __repr__(self) -> str:
        return f"Struct({self.name!r}, size={self.size})"

    # --- layout -----------------------------------------------------------------

    def member(self, name: str) -> Member:
        try:
            return self._by_name[name]
        except KeyError:
            raise AbiError(f"{self.name} has no member {name!r}") from None

    def resolve(self, path: str) -> tuple[int, Type]:
        """(offset, type) of a member path: "time.system_time", "vcpu_info.3.arch.cr2"
        or "vcpu_info[3].arch.cr2" (array elements by index)."""
        offset, current = 0, self
        for part in _INDEX.sub(r".\1", path).split("."):
            if isinstance(current, Struct):
                member = current.member(part)
                offset, current = offset + member.offset, member.type
            elif isinstance(current, Union):
                current = current.variant(part)
            elif isinstance(current, Array) and part.isdigit():
                index = int(part)
                if index >= current.count:
                    raise AbiError(f"index {index} past the end of {path!r}")
                offset, current = offset + index * current.elem.size, current.elem
            else:
                raise AbiError(f"{self.name} has no member path {path!r}")
        return offset, current

    def offset(self, path: str) -> int:
        return self.resolve(path)[0]

    def type_of(self, path: str) -> Type:
        return self.resolve(path)[1]

    def gaps(self) -> list[tuple[int, int]]:
        """(offset, length) of every padding hole, the tail included."""
        holes, end = [], 0
        for member in self.members:
            if member.offset > end:
                holes.append((end, member.offset - end))
            end = member.offset + member.type.size
        if self.size > end:
            holes.append((end, self.size - end))
        return holes

    # --- values -----------------------------------------------------------------

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, Mapping):
            raise AbiError(f"{self.name} needs a dict, not {type(value).__name__}")
        return self.pack(**value)

    def pack(self, **values: Any) -> bytes:
        """The structure's bytes; members not named are zero, padding is zero."""
        unknown = set(values) - set(self._by_name)
        if unknown:
            raise AbiError(f"{self.name} has no member {sorted(unknown)[0]!r}")
        out = bytearray(self.size)
        for member in self.members:
            if member.name in values:
                data = member.type.encode(values[member.name])
                out[member.offset:member.offset + len(data)] = data
        return bytes(out)

    def decode(self, data: bytes) -> dict[str, Any]:
        return self.unpack(data)

    def unpack(self, data: bytes) -> dict[str, Any]:
        """Every member of the structure read from the first `size` bytes of `data`."""
        if len(data) < self.size:
            raise AbiError(f"{self.name} needs {self.size} bytes, got {len(data)}")
        return {m.name: m.type.decode(data[m.offset:m.offset + m.type.size])
                for m in self.members}

    def zero(self) -> dict[str, Any]:
        return {m.name: m.type.zero() for m in self.members}

    # --- guest memory -------------------------------------------------------------

    def read(self, mem_read: MemRead, addr: int, path: str | None = None) -> Any:
        """The value at `addr` (the whole structure as a dict) or of member `path`."""
        offset, typ = (0, self) if path is None else self.resolve(path)
        data = mem_read(addr + offset, typ.size)
        if len(data) != typ.size:
            raise AbiError(f"reader returned {len(data)} bytes for {typ.size}")
        return typ.decode(data)

    def write(self, mem_write: MemWrite, addr: int, path: str | None, value: Any) -> None:
        """Store `value` at `addr` (path None: the whole structure from a dict)."""
        offset, typ = (0, self) if path is None else self.resolve(path)
        mem_write(addr + offset, typ.encode(value))


class Union:
    """A C union: every variant at offset 0, the size of the largest.  Used where Xen
    overlays a few views of one small field (mmuext_op.arg1, start_info.console).

    `pack` takes a dict naming at most one variant (the rest of the bytes are zero);
    `unpack` gives every variant decoded from the same bytes.
    """

    def __init__(self, name: str, variants: Sequence[tuple[str, Type]]) -> None:
        self.name = name
        self.variants = {v_name: v_type for v_name, v_type in variants}
        if not self.variants or len(self.variants) != len(variants):
            raise AbiError(f"union {name} needs distinct variants")
        self.align = max(t.align for t in self.variants.values())
        self.size = _align_up(max(t.size for t in self.variants.values()), self.align)

    def __repr__(self) -> str:
        return f"Union({self.name!r}, size={self.size})"

    def variant(self, name: str) -> Type:
        try:
            return self.variants[name]
        except KeyError:
            raise AbiError(f"union {self.name} has no variant {name!r}") from None

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, Mapping) or len(value) > 1:
            raise AbiError(f"union {self.name} takes a dict naming one variant")
        out = bytearray(self.size)
        for name, item in value.items():
            data = self.variant(name).encode(item)
            out[:len(data)] = data
        return bytes(out)

    def decode(self, data: bytes) -> dict[str, Any]:
        return {name: typ.decode(data[:typ.size]) for name, typ in self.variants.items()}

    def zero(self) -> dict[str, Any]:
        return {}


Type = Scalar | Array | Struct | Union


def _align_up(value: int, align: int) -> int:
    return (value + align - 1) & ~(align - 1)


def cstring(data: bytes) -> bytes:
    """The bytes of a NUL-terminated field up to (not including) the first NUL."""
    end = data.find(b"\0")
    return data if end < 0 else data[:end]
