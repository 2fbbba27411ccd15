"""Initializers (C99 6.7.8): braces, brace elision, designators and strings.

`flatten(type, init)` turns an initializer into the list of scalar stores it means:
(offset, scalar type, expression node), or (offset, char array type, bytes) for a
string initializing a char array.  Locals are zeroed and then stored in that order;
globals are built into bytes plus relocations (unit.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from pycparser import c_ast

from . import ctype as ct
from .decls import NotConstant
from .literals import LiteralError, string_literal


@dataclass
class Item:
    offset: int
    type: ct.CType
    expr: c_ast.Node | None = None
    data: bytes | None = None
    bits: tuple[int, int] | None = None       # a bit-field's (bit offset, width)


class Flattener:
    """Walks one initializer.  `type_of(expr)` types an expression (to tell a struct
    value from the first member of an elided brace); `error(node, msg)` reports."""

    def __init__(self, type_of, error, const_int) -> None:
        self.type_of, self.error, self.const_int = type_of, error, const_int
        self.items: list[Item] = []
        self.root: ct.CType | None = None
        self.root_extent = 0          # elements of the outermost array initialized

    def flatten(self, typ: ct.CType, node: c_ast.Node) -> list[Item]:
        self.root = typ
        self.init(typ, node, 0)
        return self.items

    def init(self, typ: ct.CType, node: c_ast.Node, offset: int,
             bits: tuple[int, int] | None = None) -> None:
        if isinstance(node, c_ast.InitList):
            if isinstance(typ, (ct.ArrayType, ct.StructType)):
                self.braced(typ, node.exprs, offset, node)
                return
            if len(node.exprs) != 1:
                raise self.error(node, f"too many initializers for {typ}")
            self.init(typ, node.exprs[0], offset, bits)
            return
        string = self._string_for(typ, node)
        if string is not None:
            self.items.append(Item(offset, typ, data=string))
            return
        if isinstance(typ, ct.ArrayType):
            raise self.error(node, f"an array ({typ}) needs a braced initializer")
        self.items.append(Item(offset, typ, expr=node, bits=bits))

    def _string_for(self, typ: ct.CType, node: c_ast.Node) -> bytes | None:
        if not (isinstance(typ, ct.ArrayType) and isinstance(typ.elem, ct.IntType)
                and typ.elem.size == 1 and isinstance(node, c_ast.Constant)
                and node.type == "string"):
            return None
        try:
            data = string_literal(node.value)
        except LiteralError as err:
            raise self.error(node, str(err)) from None
        if typ.length is not None:
            if len(data) > typ.length:
                raise self.error(node, f"initializer-string is too long for {typ}")
            data = data + bytes(typ.length - len(data))
        else:
            data += b"\0"
        return data

    def braced(self, typ, exprs: list, offset: int, node) -> None:
        pos, index, nested = 0, 0, False
        while pos < len(exprs):
            item = exprs[pos]
            if isinstance(item, c_ast.NamedInitializer):
                index = self.designated(typ, item, offset)
                nested = len(item.name) > 1
                pos += 1
                self._extent(typ, index)
                continue
            if nested:
                raise self.error(item, "a positional initializer after a nested "
                                 "designator (.a.b = ...) is not supported")
            if self._full(typ, index):
                raise self.error(item, f"excess elements in the initializer of {typ}")
            subtype, suboffset, bits = self.subobject(typ, index, item)
            pos = self.consume(subtype, exprs, pos, offset + suboffset, bits)
            index += 1
            self._extent(typ, index)
            if isinstance(typ, ct.StructType) and typ.kind == "union":
                index = len(typ.members)
        del node

    def _extent(self, typ, index: int) -> None:
        if typ is self.root:
            self.root_extent = max(self.root_extent, index)

    def _full(self, typ, index: int) -> bool:
        if isinstance(typ, ct.ArrayType):
            return typ.length is not None and index >= typ.length
        return index >= len(typ.members)

    def subobject(self, typ, index: int, node) -> tuple[ct.CType, int, tuple | None]:
        """The type, offset and bit-field bits (or None) of element/member `index`."""
        if isinstance(typ, ct.ArrayType):
            return typ.elem, index * typ.elem.size, None
        member = typ.members[index]
        return member.type, member.offset, member.bits

    def designated(self, typ, item: c_ast.NamedInitializer, offset: int) -> int:
        """Initialize the designated subobject; the index after it (positional
        initializers continue from there)."""
        first, *rest = item.name
        index, subtype, suboffset, bits = self._designator(typ, first)
        if rest:
            inner = c_ast.NamedInitializer(rest, item.expr, item.coord)
            if not isinstance(subtype, (ct.ArrayType, ct.StructType)):
                raise self.error(item, f"designator into non-aggregate {subtype}")
            self.designated(subtype, inner, offset + suboffset)
        else:
            self.consume(subtype, [item.expr], 0, offset + suboffset, bits)
        if isinstance(typ, ct.StructType) and typ.kind == "union":
            return len(typ.members)
        return index + 1

    def _designator(self, typ, designator) -> tuple[int, ct.CType, int, tuple | None]:
        if isinstance(typ, ct.ArrayType):
            # pycparser spells `.name` and `[name]` alike (an ID); in an array it can
            # only be an index expression.
            try:
                index = self.const_int(designator)
            except NotConstant:
                raise self.error(designator, "array designator is not an integer "
                                 "constant expression") from None
            if index < 0 or typ.length is not None and index >= typ.length:
                raise self.error(designator, f"array index {index} out of bounds for {typ}")
            return index, typ.elem, index * typ.elem.size, None
        if not isinstance(typ, ct.StructType) or not isinstance(designator, c_ast.ID):
            raise self.error(designator, f"invalid designator for {typ}")
        for i, member in enumerate(typ.members):
            if member.name == designator.name:
                return i, member.type, member.offset, member.bits
        raise self.error(designator, f"{typ} has no member named '{designator.name}'")

    def consume(self, typ: ct.CType, exprs: list, pos: int, offset: int,
                bits: tuple[int, int] | None = None) -> int:
        """Initialize one subobject of type `typ` from exprs[pos:], eliding braces
        if it is an aggregate and exprs[pos] is not a brace or a matching value."""
        item = exprs[pos]
        if isinstance(item, c_ast.InitList) or not isinstance(typ, (ct.ArrayType,
                                                                     ct.StructType)):
            self.init(typ, item, offset, bits)
            return pos + 1
        if self._string_for(typ, item) is not None:
            self.init(typ, item, offset)
            return pos + 1
        if isinstance(typ, ct.StructType) and self.type_of(item) is typ:
            self.init(typ, item, offset)
            return pos + 1
        index = 0
        while pos < len(exprs) and not self._full(typ, index):
            if isinstance(exprs[pos], c_ast.NamedInitializer):
                break
            subtype, suboffset, subbits = self.subobject(typ, index, exprs[pos])
            pos = self.consume(subtype, exprs, pos, offset + suboffset, subbits)
            index += 1
            if isinstance(typ, ct.StructType) and typ.kind == "union":
                break
        if index == 0 and isinstance(typ, ct.ArrayType) and typ.length is None:
            raise self.error(item, "cannot elide braces around a flexible array")
        return pos


def array_length(typ: ct.ArrayType, init: c_ast.Node, type_of, const_int, error) -> int:
    """The length of `T name[] = init` (C99 6.7.8p22)."""
    if isinstance(init, c_ast.InitList) and len(init.exprs) == 1 and \
            isinstance(init.exprs[0], c_ast.Constant) and init.exprs[0].type == "string":
        init = init.exprs[0]
    flat = Flattener(type_of, error, const_int)
    items = flat.flatten(typ, init)
    if len(items) == 1 and items[0].data is not None and items[0].type is typ:
        return len(items[0].data)
    return flat.root_extent
