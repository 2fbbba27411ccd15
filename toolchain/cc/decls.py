"""Declarations: scopes, and pycparser type syntax turned into CTypes.

One `Scope` per block (C99 6.2.1): ordinary identifiers (objects, functions, typedef
names, enum constants) and tags live in separate name spaces.  `TypeBuilder` reads
declarators and specifiers; array sizes and enum values are integer constant
expressions, evaluated through the `const_int` callback the compiler provides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pycparser import c_ast

from . import ctype as ct
from .ir import Slot, VReg
from .sources import Sources

_INT_NAMES = {
    ("char",): ct.CHAR, ("signed", "char"): ct.SCHAR, ("unsigned", "char"): ct.UCHAR,
    ("short",): ct.SHORT, ("signed", "short"): ct.SHORT, ("short", "int"): ct.SHORT,
    ("signed", "short", "int"): ct.SHORT, ("unsigned", "short"): ct.USHORT,
    ("unsigned", "short", "int"): ct.USHORT, ("int",): ct.INT, ("signed",): ct.INT,
    ("signed", "int"): ct.INT, ("unsigned",): ct.UINT, ("unsigned", "int"): ct.UINT,
    ("long",): ct.LONG, ("signed", "long"): ct.LONG, ("long", "int"): ct.LONG,
    ("signed", "long", "int"): ct.LONG, ("unsigned", "long"): ct.ULONG,
    ("unsigned", "long", "int"): ct.ULONG, ("long", "long"): ct.LLONG,
    ("signed", "long", "long"): ct.LLONG, ("long", "long", "int"): ct.LLONG,
    ("signed", "long", "long", "int"): ct.LLONG, ("unsigned", "long", "long"): ct.ULLONG,
    ("unsigned", "long", "long", "int"): ct.ULLONG, ("_Bool",): ct.BOOL, ("void",): ct.VOID,
}
_FLOATING = {"float", "double", "_Complex", "_Imaginary"}


@dataclass(eq=False)
class Symbol:
    """An ordinary identifier.  kind: "global" (a linker symbol: `asm_name`),
    "local" (a register variable `vreg`, a frame object `slot`, or an object whose
    address `ref` holds: a struct parameter), "enum" (`value`), "typedef" (`type` is
    the named type)."""
    name: str
    kind: str
    type: ct.CType
    asm_name: str | None = None
    vreg: VReg | None = None
    slot: Slot | None = None
    ref: VReg | None = None
    value: int = 0
    defined: bool = False


class Scope:
    def __init__(self, parent: Scope | None = None) -> None:
        self.parent = parent
        self.names: dict[str, Symbol] = {}
        self.tags: dict[str, ct.StructType | ct.IntType] = {}

    def lookup(self, name: str) -> Symbol | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return None

    def lookup_tag(self, name: str):
        scope: Scope | None = self
        while scope is not None:
            if name in scope.tags:
                return scope.tags[name]
            scope = scope.parent
        return None

    def is_typedef(self, name: str) -> bool:
        sym = self.lookup(name)
        return sym is not None and sym.kind == "typedef"


class TypeBuilder:
    """Turns pycparser declarator trees into CTypes in the current scope."""

    def __init__(self, sources: Sources, const_int: Callable[[c_ast.Node], int]) -> None:
        self.sources = sources
        self.const_int = const_int
        self.scope = Scope()

    def error(self, node: c_ast.Node | None, message: str):
        return self.sources.at(getattr(node, "coord", None), message)

    def declarator_type(self, node: c_ast.Node) -> ct.CType:
        """The type a declarator (TypeDecl / PtrDecl / ArrayDecl / FuncDecl) denotes."""
        if isinstance(node, c_ast.TypeDecl):
            return self.specifier_type(node.type)
        if isinstance(node, c_ast.Typename):
            return self.declarator_type(node.type)
        if isinstance(node, (c_ast.Struct, c_ast.Union, c_ast.Enum)):
            return self.specifier_type(node)
        if isinstance(node, c_ast.PtrDecl):
            return ct.PointerType(self.declarator_type(node.type))
        if isinstance(node, c_ast.ArrayDecl):
            return self._array_type(node)
        if isinstance(node, c_ast.FuncDecl):
            return self._function_type(node)
        raise self.error(node, f"unsupported declarator {type(node).__name__}")

    def _array_type(self, node: c_ast.ArrayDecl) -> ct.ArrayType:
        elem = self.declarator_type(node.type)
        if elem.size is None:
            raise self.error(node, f"array of incomplete type {elem}")
        if node.dim is None:
            return ct.ArrayType(elem, None)
        try:
            length = self.const_int(node.dim)
        except _NotConstant:
            raise self.error(node.dim, "variable-length arrays are not supported: "
                             "the size must be a constant expression") from None
        if length < 0:
            raise self.error(node.dim, f"array size is negative ({length})")
        return ct.ArrayType(elem, length)

    def _function_type(self, node: c_ast.FuncDecl) -> ct.FunctionType:
        ret = self.declarator_type(node.type)
        if isinstance(ret, (ct.ArrayType, ct.FunctionType)):
            raise self.error(node, f"a function cannot return {ret}")
        params, variadic = [], False
        if node.args is None:
            return ct.FunctionType(ret, (), False, prototyped=False)
        for p in node.args.params:
            if isinstance(p, c_ast.EllipsisParam):
                variadic = True
                continue
            if isinstance(p, c_ast.ID):
                raise self.error(p, "old-style (K&R) parameter lists are not supported")
            ptype = self.declarator_type(p.type)
            params.append(ct.decay(ptype))
        if len(params) == 1 and isinstance(params[0], ct.VoidType):
            params = []
        return ct.FunctionType(ret, tuple(params), variadic)

    def specifier_type(self, spec: c_ast.Node) -> ct.CType:
        if isinstance(spec, c_ast.IdentifierType):
            return self._named_type(spec)
        if isinstance(spec, (c_ast.Struct, c_ast.Union)):
            return self.struct_type(spec)
        if isinstance(spec, c_ast.Enum):
            return self.enum_type(spec)
        raise self.error(spec, f"unsupported type specifier {type(spec).__name__}")

    def _named_type(self, spec: c_ast.IdentifierType) -> ct.CType:
        names = [n for n in spec.names if n not in ("const", "volatile")]
        if any(n in _FLOATING for n in names):
            raise self.error(spec, "floating point is not supported by paravisor cc")
        if len(names) == 1 and self.scope.is_typedef(names[0]):
            return self.scope.lookup(names[0]).type
        key = tuple(sorted(names, key=_SPEC_ORDER.index)) if all(
            n in _SPEC_ORDER for n in names) else None
        if key is None or key not in _INT_NAMES:
            raise self.error(spec, f"unknown type name '{' '.join(spec.names)}'")
        return _INT_NAMES[key]

    def struct_type(self, node: c_ast.Struct | c_ast.Union) -> ct.StructType:
        kind = "struct" if isinstance(node, c_ast.Struct) else "union"
        typ = None
        if node.name is not None:
            found = self.scope.tags.get(node.name)
            outer = self.scope.lookup_tag(node.name)
            if node.decls is None and found is None and outer is not None:
                found = outer            # a reference to a visible tag
            typ = found
            if typ is not None and (not isinstance(typ, ct.StructType) or typ.kind != kind):
                raise self.error(node, f"'{node.name}' defined as a different kind of tag")
        if typ is None:
            typ = ct.StructType(kind, node.name)
            if node.name is not None:
                self.scope.tags[node.name] = typ
        if node.decls is not None:
            if typ.complete:
                raise self.error(node, f"redefinition of {kind} {node.name}")
            typ.define(self._members(node))
        return typ

    def _members(self, node) -> list[tuple]:
        members = []
        for decl in node.decls:
            mtype = self.declarator_type(decl.type)
            if getattr(decl, "bitsize", None) is not None:
                members.append((decl.name, mtype, self._bit_width(decl, mtype)))
                continue
            if mtype.size is None:
                if isinstance(mtype, ct.ArrayType) and mtype.length is None and \
                        decl is node.decls[-1] and kind_is_struct(node):
                    mtype = ct.ArrayType(mtype.elem, 0)      # flexible array member
                else:
                    raise self.error(decl, f"member '{decl.name}' has incomplete type {mtype}")
            if decl.name is None and not isinstance(mtype, ct.StructType):
                continue
            members.append((decl.name, mtype))
        return members

    def _bit_width(self, decl: c_ast.Decl, mtype: ct.CType) -> int:
        if not isinstance(mtype, ct.IntType) or ct.is_wide(mtype):
            raise self.error(decl, f"bit-field '{decl.name}' has invalid type {mtype}")
        try:
            width = self.const_int(decl.bitsize)
        except _NotConstant:
            raise self.error(decl.bitsize, "bit-field width is not an integer constant "
                             "expression") from None
        if not 0 <= width <= mtype.bits or (mtype == ct.BOOL and width > 1):
            raise self.error(decl.bitsize, f"width of bit-field '{decl.name}' ({width} "
                             f"bits) is invalid for {mtype}")
        if width == 0 and decl.name is not None:
            raise self.error(decl, f"named bit-field '{decl.name}' has zero width")
        return width

    def enum_type(self, node: c_ast.Enum) -> ct.IntType:
        if node.values is None:
            if node.name is not None and self.scope.lookup_tag(node.name) is not None:
                return ct.INT
            raise self.error(node, f"enum {node.name} is not defined")
        if node.name is not None:
            self.scope.tags[node.name] = ct.INT
        value = 0
        for item in node.values.enumerators:
            if item.value is not None:
                try:
                    value = self.const_int(item.value)
                except _NotConstant:
                    raise self.error(item.value, "enumerator value is not an integer "
                                     "constant expression") from None
            if not -2**31 <= value < 2**32:
                raise self.error(item, f"enumerator value {value} does not fit in an int")
            self.declare(item, Symbol(item.name, "enum", ct.INT, value=ct.wrap(value, ct.INT)))
            value += 1
        return ct.INT

    def declare(self, node: c_ast.Node, sym: Symbol) -> Symbol:
        """Add `sym` to the current scope; a compatible redeclaration of a global (or
        typedef) returns the existing symbol."""
        old = self.scope.names.get(sym.name)
        if old is not None:
            if old.kind == sym.kind == "global" and _redeclarable(old.type, sym.type):
                if isinstance(old.type, ct.ArrayType) and old.type.length is None:
                    old.type = sym.type
                return old
            if old.kind == sym.kind == "typedef" and ct.same_type(old.type, sym.type):
                return old
            raise self.error(node, f"redefinition of '{sym.name}'")
        self.scope.names[sym.name] = sym
        return sym

    def push(self) -> None:
        self.scope = Scope(self.scope)

    def pop(self) -> None:
        assert self.scope.parent is not None
        self.scope = self.scope.parent


class _NotConstant(Exception):
    """Raised by const_int callbacks for expressions that are not constant."""


NotConstant = _NotConstant
_SPEC_ORDER = ["signed", "unsigned", "short", "long", "char", "int", "_Bool", "void"]


def kind_is_struct(node: c_ast.Node) -> bool:
    return isinstance(node, c_ast.Struct)


def _redeclarable(a: ct.CType, b: ct.CType) -> bool:
    if isinstance(a, ct.FunctionType) and isinstance(b, ct.FunctionType):
        if not a.prototyped or not b.prototyped:
            return ct.same_type(a.ret, b.ret)
        return a == b
    if isinstance(a, ct.ArrayType) and isinstance(b, ct.ArrayType):
        return ct.same_type(a.elem, b.elem) and None in (a.length, b.length) or a == b
    return ct.same_type(a, b)
