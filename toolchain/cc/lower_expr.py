"""Expressions: type checking (C99 6.5) and lowering to IR in one pass.

`rvalue(node)` gives an RV: the expression's type after the usual decays and its value
(an immediate when it is constant, so constant expressions fold as they are lowered);
struct and long long values are memory objects, so their RV holds an `Addr`.
`lvalue(node)` gives an LV: a memory address or a register variable.
"""

from __future__ import annotations

from dataclasses import dataclass

from pycparser import c_ast

from . import ctype as ct
from . import ir
from .fold import fold, s32, simplify
from .literals import LiteralError, char_constant, int_constant


@dataclass
class RV:
    type: ct.CType
    value: ir.Value | ir.Addr


@dataclass
class LV:
    type: ct.CType
    addr: ir.Addr | None = None
    vreg: ir.VReg | None = None
    bits: tuple[int, int] | None = None      # a bit-field: (bit offset, width)


_ARITH = {"+": "add", "-": "sub", "*": "mul", "&": "and", "|": "or", "^": "xor",
          "<<": "sll"}
_COMPARE = {"<": ("lt", "ltu"), ">": ("gt", "gtu"), "<=": ("le", "leu"),
            ">=": ("ge", "geu"), "==": ("eq", "eq"), "!=": ("ne", "ne")}
# a cond as a Branch: (branch cond, swap operands)
_BRANCH = {"lt": ("lt", False), "ltu": ("ltu", False), "gt": ("lt", True),
           "gtu": ("ltu", True), "le": ("ge", True), "leu": ("geu", True),
           "ge": ("ge", False), "geu": ("geu", False), "eq": ("eq", False),
           "ne": ("ne", False)}
_NEGATE = {"lt": "ge", "ge": "lt", "ltu": "geu", "geu": "ltu", "eq": "ne", "ne": "eq",
           "gt": "le", "le": "gt", "gtu": "leu", "leu": "gtu"}


def access_size(size: int, align: int) -> int:
    """The widest access (4, 2 or 1 bytes) that steps through `size` bytes at an
    address aligned to `align` without a misaligned access (#AC)."""
    for step in (4, 2):
        if size % step == 0 and align % step == 0:
            return step
    return 1


class ExprLowerer:
    """Mixin: needs self.fn (ir.Function), self.unit (the CompilationUnit), self.tb
    (its TypeBuilder) and self.error(node, message)."""

    fn: ir.Function

    # --- emission helpers ------------------------------------------------------------

    def emit(self, instr: ir.Instr) -> None:
        self.fn.code.append(instr)

    def reg(self, value: ir.Value) -> ir.VReg:
        """`value` in a vreg (an immediate is loaded into a fresh one)."""
        if isinstance(value, ir.VReg):
            return value
        dst = self.fn.new_vreg()
        self.emit(ir.Mov(dst, s32(value)))
        return dst

    def binop(self, op: str, a: ir.Value, b: ir.Value) -> ir.Value:
        """a `op` b with constant folding and strength reduction."""
        if isinstance(a, int) and isinstance(b, int):
            folded = fold(op, a, b)
            if folded is not None:
                return folded
        if isinstance(a, int) and op in ("add", "mul", "and", "or", "xor"):
            a, b = b, a                       # commutative: constant on the right
        if isinstance(b, int):
            reduced = simplify(op, b)
            if reduced == "x":
                return a
            if reduced == "0":
                return 0
            if isinstance(reduced, tuple):
                op, b = reduced
        dst = self.fn.new_vreg()
        self.emit(ir.Bin(op, dst, a if isinstance(a, ir.VReg) else self.reg(a), b))
        return dst

    def compare(self, cond: str, a: ir.Value, b: ir.Value) -> ir.Value:
        """0/1 for `a cond b` (cond from _BRANCH)."""
        if cond in ("eq", "ne"):
            diff = self.binop("xor", a, b)
            if isinstance(diff, int):
                return int((diff == 0) == (cond == "eq"))
            return self.binop("sltu", diff, 1) if cond == "eq" else self.binop("sltu", 0, diff)
        op = "sltu" if cond.endswith("u") else "slt"
        base = cond[:2]
        if base == "lt":
            return self.binop(op, a, b)
        if base == "gt":
            return self.binop(op, b, a)
        if base == "ge":
            return self.binop("xor", self.binop(op, a, b), 1)
        return self.binop("xor", self.binop(op, b, a), 1)        # le

    def load_addr(self, addr: ir.Addr) -> ir.VReg:
        dst = self.fn.new_vreg()
        self.emit(ir.LoadAddr(dst, addr))
        return dst

    def offset_addr(self, addr: ir.Addr, delta: int) -> ir.Addr:
        return ir.Addr(addr.base, addr.offset + delta)

    def new_label(self) -> str:
        return self.unit.new_label()

    # --- conversions -----------------------------------------------------------------

    def normalize(self, value: ir.Value, to: ct.IntType) -> ir.Value:
        """A 32-bit value cut to `to` and re-extended, as a register holds a `to`."""
        if isinstance(value, int):
            return s32(ct.wrap(value, to))
        if to == ct.BOOL:
            return self.binop("sltu", 0, value)
        if to.size >= 4:
            return value
        if not to.signed:
            return self.binop("and", value, (1 << to.bits) - 1)
        shift = 32 - to.bits
        return self.binop("sra", self.binop("sll", value, shift), shift)

    def convert(self, rv: RV, to: ct.CType, node: c_ast.Node, what: str = "conversion") -> RV:
        """`rv` converted to `to` as by assignment or a cast (the caller checks that
        the conversion is allowed)."""
        frm = rv.type
        if isinstance(to, ct.VoidType):
            return RV(to, 0)
        if ct.is_wide(to) or ct.is_wide(frm):
            return self._convert_wide(rv, to, node)
        if isinstance(to, ct.StructType) or isinstance(frm, ct.StructType):
            if to is frm:
                return rv
            raise self.error(node, f"invalid {what} from {frm} to {to}")
        if isinstance(to, ct.IntType):
            if isinstance(frm, ct.IntType):
                if to == ct.BOOL or to.size < 4 and not (
                        frm.size < to.size and not frm.signed or
                        frm.size <= to.size and frm.signed == to.signed):
                    return RV(to, self.normalize(rv.value, to))
                return RV(to, rv.value)
            if isinstance(frm, ct.PointerType):
                return RV(to, self.normalize(rv.value, to) if to.size < 4 else rv.value)
        if isinstance(to, ct.PointerType) and isinstance(frm, (ct.IntType, ct.PointerType)):
            return RV(to, rv.value)
        raise self.error(node, f"invalid {what} from {frm} to {to}")

    def _convert_wide(self, rv: RV, to: ct.CType, node: c_ast.Node) -> RV:
        """Conversions to and from long long, which lives in memory (an Addr): between
        64-bit types, from a 32-bit integer (sign- or zero-extended into a fresh
        slot), and to a 32-bit integer (its low word)."""
        frm = rv.type
        if ct.is_wide(to) and ct.is_wide(frm):
            return RV(to, rv.value)
        if ct.is_wide(to) and isinstance(frm, ct.IntType):
            slot = self.fn.new_slot(8, 8)
            high = self.binop("sra", self.reg(rv.value), 31) if frm.signed else 0
            self.emit(ir.Store(rv.value, ir.Addr(slot, 0), 4))
            self.emit(ir.Store(high, ir.Addr(slot, 4), 4))
            return RV(to, ir.Addr(slot, 0))
        if ct.is_wide(frm) and isinstance(to, ct.IntType):
            low = self.fn.new_vreg()
            self.emit(ir.Load(low, rv.value, 4, False))
            return RV(to, self.normalize(low, to))
        raise self.error(node, f"invalid conversion from {frm} to {to}")

    def assign_convert(self, rv: RV, to: ct.CType, node: c_ast.Node, what: str) -> RV:
        """Conversion as if by assignment (C99 6.5.16.1), with its constraints."""
        frm = rv.type
        if isinstance(to, ct.PointerType) and isinstance(frm, ct.IntType):
            if not (isinstance(rv.value, int) and rv.value == 0):
                raise self.error(node, f"{what} makes a pointer from an integer without "
                                 "a cast")
        elif isinstance(to, ct.IntType) and isinstance(frm, ct.PointerType) and to != ct.BOOL:
            raise self.error(node, f"{what} makes an integer from a pointer without a cast")
        elif isinstance(to, ct.StructType) and frm is not to:
            raise self.error(node, f"incompatible types in {what}: {frm} and {to}")
        return self.convert(rv, to, node, what)

    # --- type queries ------------------------------------------------------------------

    def type_of(self, node: c_ast.Node) -> ct.CType:
        """The type of expression `node` without evaluating it (for sizeof): lower it
        into a scratch list and throw the code away."""
        saved = self.fn.code
        self.fn.code = []
        try:
            return self._expr_type(node)
        finally:
            self.fn.code = saved

    def _expr_type(self, node: c_ast.Node) -> ct.CType:
        if isinstance(node, c_ast.ID) or isinstance(node, c_ast.ArrayRef) or \
                isinstance(node, c_ast.StructRef) or (
                isinstance(node, c_ast.UnaryOp) and node.op == "*") or (
                isinstance(node, c_ast.Constant) and node.type == "string"):
            lv = self.lvalue_or_none(node)
            if lv is not None:
                return lv.type                    # no decay under sizeof
        return self.rvalue(node).type

    def const_value(self, rv: RV) -> int | None:
        """The value of a constant RV, interpreted in its type, or None."""
        if isinstance(rv.value, int) and isinstance(rv.type, ct.IntType):
            return ct.wrap(rv.value, rv.type)
        return None

    # --- rvalues -------------------------------------------------------------------------

    def rvalue(self, node: c_ast.Node) -> RV:
        method = getattr(self, "rv_" + type(node).__name__, None)
        if method is None:
            lv = self.lvalue_or_none(node)
            if lv is not None:
                return self.load(lv)
            raise self.error(node, f"unsupported expression ({type(node).__name__})")
        return method(node)

    def load(self, lv: LV) -> RV:
        """An lvalue's value, with array and function decay."""
        t = lv.type
        if isinstance(t, ct.ArrayType):
            return RV(ct.PointerType(t.elem), self._address(lv))
        if isinstance(t, ct.FunctionType):
            return RV(ct.PointerType(t), self._address(lv))
        if isinstance(t, ct.StructType) or ct.is_wide(t):
            return RV(t, lv.addr)
        if isinstance(t, ct.VoidType):
            raise self.error(None, "a void value cannot be used")
        if lv.vreg is not None:
            return RV(t, lv.vreg)
        if lv.bits is not None:
            return self.load_bits(lv)
        dst = self.fn.new_vreg()
        signed = isinstance(t, ct.IntType) and t.signed
        self.emit(ir.Load(dst, lv.addr, t.size, signed))
        return RV(t, dst)

    def _address(self, lv: LV) -> ir.Value:
        addr = lv.addr
        if isinstance(addr.base, ir.VReg) and addr.offset == 0:
            return addr.base
        return self.load_addr(addr)

    def store(self, lv: LV, rv: RV, node: c_ast.Node) -> RV:
        """lv = rv (already converted to lv's type); the value lv now holds."""
        t = lv.type
        if isinstance(t, ct.StructType) or ct.is_wide(t):
            self.copy_memory(lv.addr, rv.value, t.size, t.align)
        elif lv.vreg is not None:
            self.emit(ir.Mov(lv.vreg, rv.value))
            return RV(t, lv.vreg)
        elif lv.bits is not None:
            return self.store_bits(lv, rv)
        else:
            self.emit(ir.Store(rv.value, lv.addr, t.size))
        return RV(t, rv.value)

    def copy_memory(self, dst: ir.Addr, src: ir.Addr, size: int, align: int) -> None:
        """Copy `size` bytes of objects aligned to `align` (a struct assignment):
        inline accesses for small objects, else a call to memcpy (guest_os/libc)."""
        if size > 64:
            self.fn.has_calls = True
            self.emit(ir.Call(None, "memcpy", [self._addr_value(dst), self._addr_value(src),
                                               size]))
            return
        step = access_size(size, align)
        for off in range(0, size, step):
            tmp = self.fn.new_vreg()
            self.emit(ir.Load(tmp, self.offset_addr(src, off), step, False))
            self.emit(ir.Store(tmp, self.offset_addr(dst, off), step))

    def _addr_value(self, addr: ir.Addr) -> ir.Value:
        if isinstance(addr.base, ir.VReg) and addr.offset == 0:
            return addr.base
        return self.load_addr(addr)

    def rv_Constant(self, node: c_ast.Constant) -> RV:
        try:
            if node.type == "char":
                return RV(ct.INT, char_constant(node.value))
            if node.type == "string":
                return self.load(self.lvalue(node))
            if node.type in ("int", "unsigned int", "long int", "unsigned long int",
                             "long long int", "unsigned long long int"):
                value, typ = int_constant(node.value)
                return RV(typ, s32(value))
        except LiteralError as err:
            raise self.error(node, str(err)) from None
        if node.type in ("float", "double", "long double"):
            raise self.error(node, "floating point is not supported by paravisor cc")
        raise self.error(node, f"unsupported constant {node.value}")

    def rv_Cast(self, node: c_ast.Cast) -> RV:
        to = self.tb.declarator_type(node.to_type.type)
        rv = self.rvalue(node.expr)
        if not (isinstance(to, ct.VoidType) or to.is_scalar()):
            raise self.error(node, f"cannot cast to {to}: only scalar types and void")
        if not isinstance(to, ct.VoidType) and not rv.type.is_scalar():
            raise self.error(node.expr, f"cannot cast a value of type {rv.type} to {to}")
        return self.convert(rv, to, node, "cast")

    def rv_UnaryOp(self, node: c_ast.UnaryOp) -> RV:
        op = node.op
        if op == "sizeof":
            if isinstance(node.expr, c_ast.Typename):
                t = self.tb.declarator_type(node.expr.type)
            else:
                lv = self.lvalue_or_none(node.expr) if isinstance(node.expr, c_ast.StructRef) \
                    else None
                if lv is not None and lv.bits is not None:
                    raise self.error(node, "sizeof applied to a bit-field")
                t = self.type_of(node.expr)
            if t.size is None or isinstance(t, ct.FunctionType):
                raise self.error(node, f"sizeof applied to incomplete type {t}")
            return RV(ct.SIZE_T, t.size)
        if op == "_Alignof":
            t = self.tb.declarator_type(node.expr.type)
            return RV(ct.SIZE_T, t.align)
        if op == "&":
            lv = self.lvalue(node.expr)
            if lv.bits is not None:
                raise self.error(node, "cannot take the address of a bit-field")
            if lv.vreg is not None:
                raise self.error(node, "internal: address of a register variable")
            return RV(ct.PointerType(lv.type), self._address(lv))
        if op == "*":
            return self.load(self.lvalue(node))
        if op in ("++", "--", "p++", "p--"):
            return self.inc_dec(node)
        if op == "!":
            rv = self.scalar(node.expr)
            return RV(ct.INT, self.compare("eq", rv.value, 0))
        rv = self.arith(node.expr)
        t = ct.promote(rv.type)
        if op == "-":
            return RV(t, self.binop("sub", 0, rv.value))
        if op == "+":
            return RV(t, rv.value)
        if op == "~":
            return RV(t, self.binop("xor", rv.value, -1))
        raise self.error(node, f"unsupported operator {op}")

    def scalar(self, node: c_ast.Node) -> RV:
        rv = self.rvalue(node)
        if not rv.type.is_scalar() or ct.is_wide(rv.type):
            raise self.error(node, f"a scalar is required here, not {rv.type}")
        return rv

    def arith(self, node: c_ast.Node) -> RV:
        rv = self.rvalue(node)
        if not isinstance(rv.type, ct.IntType):
            raise self.error(node, f"an integer is required here, not {rv.type}")
        if ct.is_wide(rv.type):
            raise self.error(node, "64-bit (long long) arithmetic is not supported by "
                             "paravisor cc")
        return rv

    def rv_BinaryOp(self, node: c_ast.BinaryOp) -> RV:
        op = node.op
        if op in ("&&", "||"):
            return self.logical(node)
        left, right = self.rvalue(node.left), self.rvalue(node.right)
        return self.binary(op, left, right, node)

    def binary(self, op: str, left: RV, right: RV, node: c_ast.Node) -> RV:
        """left op right for every binary operator but && || and comma."""
        lt, rt = left.type, right.type
        if op in _COMPARE:
            return self._comparison(op, left, right, node)
        if op in ("+", "-") and (lt.is_pointer() or rt.is_pointer()):
            return self.pointer_arith(op, left, right, node)
        for side, rv in (("left", left), ("right", right)):
            if not isinstance(rv.type, ct.IntType):
                raise self.error(node, f"invalid operand to binary {op} ({side}: {rv.type})")
            if ct.is_wide(rv.type):
                raise self.error(node, "64-bit (long long) arithmetic is not supported by "
                                 "paravisor cc")
        if op in ("<<", ">>"):
            t = ct.promote(lt)
            irop = "sll" if op == "<<" else ("sra" if t.signed else "srl")
            return RV(t, self.binop(irop, left.value, right.value))
        t = ct.usual_arithmetic(lt, rt)
        if op in _ARITH:
            irop = _ARITH[op]
        elif op in ("/", "%"):
            irop = ("div" if op == "/" else "rem") + ("" if t.signed else "u")
        else:
            raise self.error(node, f"unsupported operator {op}")
        return RV(t, self.binop(irop, left.value, right.value))

    def _comparison(self, op: str, left: RV, right: RV, node: c_ast.Node) -> RV:
        cond, a, b = self.comparison_operands(op, left, right, node)
        return RV(ct.INT, self.compare(cond, a, b))

    def comparison_operands(self, op, left: RV, right: RV, node) -> tuple[str, ir.Value,
                                                                          ir.Value]:
        lt, rt = left.type, right.type
        if lt.is_pointer() or rt.is_pointer():
            for rv in (left, right):
                if not rv.type.is_scalar():
                    raise self.error(node, f"invalid operand to {op} ({rv.type})")
            return _COMPARE[op][1], left.value, right.value
        if not (isinstance(lt, ct.IntType) and isinstance(rt, ct.IntType)) or \
                ct.is_wide(lt) or ct.is_wide(rt):
            raise self.error(node, f"invalid operands to {op} ({lt} and {rt})")
        t = ct.usual_arithmetic(lt, rt)
        return _COMPARE[op][0 if t.signed else 1], left.value, right.value

    def pointer_arith(self, op: str, left: RV, right: RV, node: c_ast.Node) -> RV:
        lt, rt = left.type, right.type
        if op == "-" and lt.is_pointer() and rt.is_pointer():
            size = self._elem_size(lt, node)
            diff = self.binop("sub", left.value, right.value)
            if size & (size - 1) == 0:
                return RV(ct.PTRDIFF_T, self.binop("sra", diff, size.bit_length() - 1))
            return RV(ct.PTRDIFF_T, self.binop("div", diff, size))
        if rt.is_pointer():
            if op == "-":
                raise self.error(node, "cannot subtract a pointer from an integer")
            left, right = right, left
        if not isinstance(right.type, ct.IntType) or ct.is_wide(right.type):
            raise self.error(node, f"invalid operands to {op} ({lt} and {rt})")
        size = self._elem_size(left.type, node)
        scaled = self.binop("mul", right.value, size)
        return RV(left.type, self.binop("add" if op == "+" else "sub", left.value, scaled))

    def _elem_size(self, ptr: ct.PointerType, node: c_ast.Node) -> int:
        target = ptr.target
        if isinstance(target, ct.VoidType):
            return 1                                   # GNU C: void * steps bytes
        if target.size is None or isinstance(target, ct.FunctionType):
            raise self.error(node, f"arithmetic on a pointer to incomplete type {target}")
        return target.size

    def logical(self, node: c_ast.BinaryOp) -> RV:
        if self._is_pure(node.left):
            # a constant left operand decides statically (and keeps `1 && 2` an
            # integer constant expression for case labels and static initializers)
            left = self.const_value(self.rvalue(node.left))
            if left is not None:
                if (node.op == "&&") != bool(left):
                    return RV(ct.INT, int(bool(left)))
                return RV(ct.INT, self.compare("ne", self.scalar(node.right).value, 0))
        true, false, end = self.new_label(), self.new_label(), self.new_label()
        dst = self.fn.new_vreg()
        self.cond_branch(node, true, false)
        self.emit(ir.Label(true))
        self.emit(ir.Mov(dst, 1))
        self.emit(ir.Jump(end))
        self.emit(ir.Label(false))
        self.emit(ir.Mov(dst, 0))
        self.emit(ir.Label(end))
        return RV(ct.INT, dst)

    def cond_branch(self, node: c_ast.Node, true: str, false: str) -> None:
        """Jump to `true` if the scalar `node` is non-zero, else to `false`."""
        if isinstance(node, c_ast.BinaryOp) and node.op in ("&&", "||"):
            middle = self.new_label()
            if node.op == "&&":
                self.cond_branch(node.left, middle, false)
            else:
                self.cond_branch(node.left, true, middle)
            self.emit(ir.Label(middle))
            self.cond_branch(node.right, true, false)
            return
        if isinstance(node, c_ast.UnaryOp) and node.op == "!":
            self.cond_branch(node.expr, false, true)
            return
        if isinstance(node, c_ast.BinaryOp) and node.op in _COMPARE:
            left, right = self.rvalue(node.left), self.rvalue(node.right)
            cond, a, b = self.comparison_operands(node.op, left, right, node)
        else:
            rv = self.scalar(node)
            cond, a, b = "ne", rv.value, 0
        self.branch(cond, a, b, true, false)

    def branch(self, cond: str, a: ir.Value, b: ir.Value, true: str, false: str) -> None:
        if isinstance(a, int) and isinstance(b, int):
            self.emit(ir.Jump(true if self.compare(cond, a, b) else false))
            return
        bcond, swap = _BRANCH[cond]
        if swap:
            a, b = b, a
        self.emit(ir.Branch(bcond, a, b, true))
        self.emit(ir.Jump(false))

    def rv_TernaryOp(self, node: c_ast.TernaryOp) -> RV:
        t = self._ternary_type(node)
        true, false, end = self.new_label(), self.new_label(), self.new_label()
        cond = self.const_value(self.rvalue(node.cond)) if self._is_pure(node.cond) else None
        if cond is not None:                    # a constant condition: fold the branch
            rv = self.rvalue(node.iftrue if cond else node.iffalse)
            return rv if isinstance(t, (ct.VoidType, ct.StructType)) else \
                self.convert(rv, t, node)
        self.cond_branch(node.cond, true, false)
        dst = self.fn.new_vreg()
        for label, arm in ((true, node.iftrue), (false, node.iffalse)):
            self.emit(ir.Label(label))
            rv = self.rvalue(arm)
            if not isinstance(t, ct.VoidType):
                if not isinstance(t, ct.StructType):
                    rv = self.convert(rv, t, node)
                self.emit(ir.Mov(dst, self._as_value(rv)))
            self.emit(ir.Jump(end))
        self.emit(ir.Label(end))
        if isinstance(t, ct.StructType):
            return RV(t, ir.Addr(dst, 0))
        return RV(t, dst)

    def _is_pure(self, node: c_ast.Node) -> bool:
        """A constant or an expression made only of constants and operators."""
        if isinstance(node, c_ast.Constant):
            return node.type != "string"
        if isinstance(node, c_ast.UnaryOp):
            return node.op == "sizeof" or node.op in ("-", "+", "~", "!") and \
                self._is_pure(node.expr)
        if isinstance(node, c_ast.BinaryOp):
            return self._is_pure(node.left) and self._is_pure(node.right)
        if isinstance(node, c_ast.Cast):
            return self._is_pure(node.expr)
        if isinstance(node, c_ast.ID):
            sym = self.tb.scope.lookup(node.name)
            return sym is not None and sym.kind == "enum"
        return False

    def _as_value(self, rv: RV) -> ir.Value:
        if isinstance(rv.value, ir.Addr):
            return self._addr_value(rv.value)
        return rv.value

    def _ternary_type(self, node: c_ast.TernaryOp) -> ct.CType:
        at, bt = self.type_of(node.iftrue), self.type_of(node.iffalse)
        at, bt = ct.decay(at), ct.decay(bt)
        null_a = self._is_pure(node.iftrue) and self.const_value(self.rvalue(node.iftrue)) == 0
        null_b = self._is_pure(node.iffalse) and \
            self.const_value(self.rvalue(node.iffalse)) == 0
        if isinstance(at, ct.IntType) and isinstance(bt, ct.IntType):
            return ct.usual_arithmetic(at, bt)
        if isinstance(at, ct.VoidType) and isinstance(bt, ct.VoidType):
            return ct.VOID
        if isinstance(at, ct.StructType) and at is bt:
            return at
        if at.is_pointer() and (bt.is_pointer() or null_b):
            return at if not (bt.is_pointer() and isinstance(at.target, ct.VoidType)) else bt
        if bt.is_pointer() and null_a:
            return bt
        raise self.error(node, f"mismatched types in ?: ({at} and {bt})")

    def rv_ExprList(self, node: c_ast.ExprList) -> RV:
        rv = RV(ct.VOID, 0)
        for expr in node.exprs:
            rv = self.rvalue(expr)
        return rv

    def rv_Assignment(self, node: c_ast.Assignment) -> RV:
        lv = self.lvalue(node.lvalue)
        self.check_modifiable(lv, node.lvalue)
        if node.op == "=":
            rv = self.assign_convert(self.rvalue(node.rvalue), lv.type, node, "assignment")
        else:
            current = self.load(lv)
            rhs = self.rvalue(node.rvalue)
            result = self.binary(node.op[:-1], current, rhs, node)
            rv = self.convert(result, lv.type, node)
        return self.store(lv, rv, node)

    def check_modifiable(self, lv: LV, node: c_ast.Node) -> None:
        if isinstance(lv.type, (ct.ArrayType, ct.FunctionType)):
            raise self.error(node, f"cannot assign to an expression of type {lv.type}")

    def inc_dec(self, node: c_ast.UnaryOp) -> RV:
        lv = self.lvalue(node.expr)
        self.check_modifiable(lv, node.expr)
        current = self.load(lv)
        if not current.type.is_scalar() or ct.is_wide(current.type):
            raise self.error(node, f"cannot increment a value of type {current.type}")
        old = current
        if lv.vreg is not None and node.op.startswith("p"):
            # the old value outlives the store; the copy is dead (and dropped) when the
            # expression's value is not used, as in `i++;`
            old = RV(current.type, self.fn.new_vreg())
            self.emit(ir.Mov(old.value, current.value))
        op = "+" if "+" in node.op else "-"
        new = self.convert(self.binary(op, current, RV(ct.INT, 1), node), lv.type, node)
        if isinstance(new.value, int):
            new = RV(new.type, self.reg(new.value))
        stored = self.store(lv, new, node)
        return old if node.op.startswith("p") else stored
