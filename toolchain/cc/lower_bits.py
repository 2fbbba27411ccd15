"""Bit-fields: loads extract and sign- or zero-extend a field from its storage unit;
stores are read-modify-write of the unit (C99 6.7.2.1; layout in ctype.py)."""

from __future__ import annotations

from . import ctype as ct
from . import ir
from .lower_expr import LV, RV


def field_type(typ: ct.IntType, width: int) -> ct.IntType:
    """The type a bit-field's value has in expressions: int whenever int can hold
    every value (C99 6.3.1.1p2), else the declared type."""
    return ct.INT if width < 32 or typ.signed else typ


class BitfieldLowerer:
    """Mixin for the expression lowerers (see lower_expr.ExprLowerer)."""

    def load_bits(self, lv: LV) -> RV:
        offset, width = lv.bits
        unit = self.fn.new_vreg()
        self.emit(ir.Load(unit, lv.addr, lv.type.size, False))
        return RV(field_type(lv.type, width), self._extract(unit, offset, width,
                                                            lv.type.signed))

    def _extract(self, unit: ir.Value, offset: int, width: int, signed: bool) -> ir.Value:
        if signed:
            shifted = self.binop("sll", unit, 32 - offset - width)
            return self.binop("sra", shifted, 32 - width)
        low = self.binop("srl", unit, offset)
        return low if width == 32 else self.binop("and", low, (1 << width) - 1)

    def store_bits(self, lv: LV, rv: RV) -> RV:
        """Store `rv` (already of the field's declared type) into the field; returns
        the value the field now holds, which is the assignment's value."""
        offset, width = lv.bits
        mask = (1 << width) - 1
        unit = self.fn.new_vreg()
        self.emit(ir.Load(unit, lv.addr, lv.type.size, False))
        value = self.binop("and", rv.value, mask)
        cleared = self.binop("and", unit, ~(mask << offset))
        merged = self.binop("or", cleared, self.binop("sll", value, offset))
        self.emit(ir.Store(merged, lv.addr, lv.type.size))
        return RV(field_type(lv.type, width), self._extract(value, 0, width, lv.type.signed))


def pack_bits(data: bytearray, offset: int, size: int, bits: tuple[int, int],
              value: int) -> None:
    """Static data: put `value` into the bit-field at (offset, size, bits) of data."""
    bit_offset, width = bits
    unit = int.from_bytes(data[offset:offset + size], "little")
    mask = ((1 << width) - 1) << bit_offset
    unit = (unit & ~mask) | ((value << bit_offset) & mask)
    data[offset:offset + size] = unit.to_bytes(size, "little")
