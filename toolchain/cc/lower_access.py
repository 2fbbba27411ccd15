"""Names, memory access and calls: lvalues (C99 6.5.2, 6.5.3.2), function calls with
our calling convention (docs/cc.md), and the builtins (stdarg, hcall, atomics, asm)."""

from __future__ import annotations

from pycparser import c_ast

from . import ctype as ct
from . import ir
from .fold import s32
from .literals import LiteralError, string_literal
from .lower_expr import LV, RV

MAX_REG_ARGS = 6


class AccessLowerer:
    """Mixin for FunctionLowerer (see lower_expr.ExprLowerer for what it needs)."""

    def lvalue_or_none(self, node: c_ast.Node) -> LV | None:
        """The operand as an lvalue if it designates an object, else None (a value)."""
        if isinstance(node, c_ast.ID):
            sym = self.tb.scope.lookup(node.name)
            if sym is not None and sym.kind == "enum":
                return None                    # an enumerator is a constant, not an object
        if isinstance(node, (c_ast.ID, c_ast.ArrayRef, c_ast.StructRef,
                             c_ast.CompoundLiteral)) or (
                isinstance(node, c_ast.UnaryOp) and node.op == "*") or (
                isinstance(node, c_ast.Constant) and node.type == "string"):
            return self.lvalue(node)
        return None

    def lvalue(self, node: c_ast.Node) -> LV:
        if isinstance(node, c_ast.ID):
            return self.lv_id(node)
        if isinstance(node, c_ast.UnaryOp) and node.op == "*":
            rv = self.rvalue(node.expr)
            if not rv.type.is_pointer():
                raise self.error(node, f"cannot dereference a value of type {rv.type}")
            target = rv.type.target
            if isinstance(target, ct.VoidType):
                raise self.error(node, "cannot dereference a void *")
            return LV(target, ir.Addr(self.reg(rv.value), 0))
        if isinstance(node, c_ast.ArrayRef):
            return self.lv_index(node)
        if isinstance(node, c_ast.StructRef):
            return self.lv_member(node)
        if isinstance(node, c_ast.Constant) and node.type == "string":
            try:
                data = string_literal(node.value)
            except LiteralError as err:
                raise self.error(node, str(err)) from None
            label = self.unit.string_label(data)
            return LV(ct.ArrayType(ct.CHAR, len(data) + 1), ir.Addr(label, 0))
        if isinstance(node, c_ast.CompoundLiteral):
            return self.lv_compound_literal(node)
        raise self.error(node, "an lvalue (something that can be assigned to) is required")

    def lv_id(self, node: c_ast.ID) -> LV:
        sym = self.tb.scope.lookup(node.name)
        if sym is None:
            if node.name == "__func__":
                return self.lvalue(c_ast.Constant("string", f'"{self.fn.name}"', node.coord))
            raise self.error(node, f"'{node.name}' undeclared")
        if sym.kind == "enum":
            raise self.error(node, f"enumerator '{node.name}' is not an lvalue")
        if sym.kind == "typedef":
            raise self.error(node, f"'{node.name}' is a type name, not a value")
        if sym.kind == "global":
            return LV(sym.type, ir.Addr(sym.asm_name, 0))
        if sym.vreg is not None:
            return LV(sym.type, vreg=sym.vreg)
        if sym.ref is not None:
            return LV(sym.type, ir.Addr(sym.ref, 0))
        return LV(sym.type, ir.Addr(sym.slot, 0))

    def rv_ID(self, node: c_ast.ID) -> RV:
        sym = self.tb.scope.lookup(node.name)
        if sym is not None and sym.kind == "enum":
            return RV(ct.INT, s32(sym.value))
        return self.load(self.lv_id(node))

    def lv_index(self, node: c_ast.ArrayRef) -> LV:
        base, index = self.rvalue(node.name), self.rvalue(node.subscript)
        if not base.type.is_pointer():
            base, index = index, base               # i[a] is a[i]
        if not base.type.is_pointer() or not isinstance(index.type, ct.IntType):
            raise self.error(node, "subscripted value is not an array or pointer")
        target = base.type.target
        if target.size is None or isinstance(target, ct.FunctionType):
            raise self.error(node, f"subscript of a pointer to incomplete type {target}")
        if isinstance(index.value, int):
            return LV(target, self._displace(base.value, s32(index.value * target.size)))
        scaled = self.binop("mul", index.value, target.size)
        return LV(target, ir.Addr(self.reg(self.binop("add", base.value, scaled)), 0))

    def _displace(self, pointer: ir.Value, offset: int) -> ir.Addr:
        """Addr of pointer + offset, folding a constant offset into the access."""
        if isinstance(pointer, int):
            return ir.Addr(self.reg(s32(pointer + offset)), 0)
        if -2048 <= offset < 2048:
            return ir.Addr(pointer, offset)
        return ir.Addr(self.reg(self.binop("add", pointer, offset)), 0)

    def lv_member(self, node: c_ast.StructRef) -> LV:
        if node.type == "->":
            rv = self.rvalue(node.name)
            if not rv.type.is_pointer() or not isinstance(rv.type.target, ct.StructType):
                raise self.error(node, f"'->' needs a pointer to a struct or union, "
                                 f"not {rv.type}")
            stype, base = rv.type.target, None
        else:
            lv = self.lvalue_or_none(node.name)
            if lv is None:
                rv = self.rvalue(node.name)            # a struct returned by a call
                lv = LV(rv.type, rv.value if isinstance(rv.value, ir.Addr) else None)
            if not isinstance(lv.type, ct.StructType):
                raise self.error(node, f"'.' needs a struct or union, not {lv.type}")
            stype, base = lv.type, lv.addr
        if not stype.complete:
            raise self.error(node, f"use of incomplete type {stype}")
        member = stype.find(node.field.name)
        if member is None:
            raise self.error(node.field, f"{stype} has no member named '{node.field.name}'")
        if base is None:
            return LV(member.type, self._displace(rv.value, member.offset), bits=member.bits)
        return LV(member.type, self.offset_addr(base, member.offset), bits=member.bits)

    def lv_compound_literal(self, node: c_ast.CompoundLiteral) -> LV:
        typ = self.tb.declarator_type(node.type.type)
        typ = self.complete_array_type(typ, node.init)
        slot = self.fn.new_slot(typ.size, typ.align)
        self.init_local(LV(typ, ir.Addr(slot, 0)), node.init)
        return LV(typ, ir.Addr(slot, 0))

    # --- calls -----------------------------------------------------------------------

    def rv_FuncCall(self, node: c_ast.FuncCall) -> RV:
        if isinstance(node.name, c_ast.ID):
            builtin = getattr(self, "builtin_" + node.name.name.lstrip("_"), None)
            if builtin is not None and node.name.name.startswith("__") and \
                    self.tb.scope.lookup(node.name.name) is None:
                return builtin(node, node.args.exprs if node.args else [])
            if node.name.name == "offsetof":
                return self.builtin_offsetof(node, node.args.exprs)
            if self.tb.scope.lookup(node.name.name) is None:
                raise self.error(node, f"implicit declaration of function "
                                 f"'{node.name.name}' (declare it, or include its header)")
        if self._is_direct(node.name):
            sym = self.tb.scope.lookup(node.name.name)
            callee = RV(ct.PointerType(sym.type), 0)
        else:
            callee = self.rvalue(node.name)
        ftype = callee.type.target if callee.type.is_pointer() else None
        if not isinstance(ftype, ct.FunctionType):
            raise self.error(node, f"called object of type {callee.type} is not a function")
        args = node.args.exprs if node.args else []
        values, result = self.call_arguments(ftype, args, node)
        self.fn.has_calls = True
        target = callee.value
        if self._is_direct(node.name):
            target = self._direct_name(node.name)
        dst = None if isinstance(ftype.ret, ct.VoidType) else self.fn.new_vreg()
        self.emit(ir.Call(dst, target if isinstance(target, (str, ir.VReg)) else
                          self.reg(target), values))
        nstack = max(0, len(values) - MAX_REG_ARGS)
        self.fn.max_stack_args = max(self.fn.max_stack_args, nstack)
        if result is not None:
            return RV(ftype.ret, ir.Addr(result, 0))
        if dst is None:
            return RV(ct.VOID, 0)
        ret = ftype.ret
        return RV(ret, dst)

    def _is_direct(self, name: c_ast.Node) -> bool:
        if not isinstance(name, c_ast.ID):
            return False
        sym = self.tb.scope.lookup(name.name)
        return sym is not None and sym.kind == "global" and isinstance(sym.type,
                                                                       ct.FunctionType)

    def _direct_name(self, name: c_ast.ID) -> str:
        return self.tb.scope.lookup(name.name).asm_name

    def call_arguments(self, ftype: ct.FunctionType, args: list, node) -> tuple[list, object]:
        """The argument values in order (a hidden result pointer first for a struct
        return), checked and converted against the prototype."""
        values: list[ir.Value] = []
        result = None
        if isinstance(ftype.ret, ct.StructType) or ct.is_wide(ftype.ret):
            result = self.fn.new_slot(ftype.ret.size, ftype.ret.align)
            values.append(self.load_addr(ir.Addr(result, 0)))
        if ftype.prototyped:
            if len(args) < len(ftype.params) or (len(args) > len(ftype.params) and
                                                  not ftype.variadic):
                raise self.error(node, f"function expects {len(ftype.params)} argument(s), "
                                 f"got {len(args)}")
        for i, arg in enumerate(args):
            rv = self.rvalue(arg)
            if ftype.prototyped and i < len(ftype.params):
                rv = self.assign_convert(rv, ftype.params[i], arg, f"argument {i + 1}")
            elif isinstance(rv.type, ct.IntType) and not ct.is_wide(rv.type):
                rv = self.convert(rv, ct.promote(rv.type), arg)
            if isinstance(rv.type, ct.StructType) or ct.is_wide(rv.type):
                copy = self.fn.new_slot(rv.type.size, rv.type.align)
                self.copy_memory(ir.Addr(copy, 0), rv.value, rv.type.size,
                                 rv.type.align)
                values.append(self.load_addr(ir.Addr(copy, 0)))
            else:
                values.append(rv.value)
        return values, result

    # --- builtins ----------------------------------------------------------------------

    def _want(self, node, args: list, count: int, name: str) -> None:
        if len(args) != count:
            raise self.error(node, f"{name} takes {count} argument(s), got {len(args)}")

    def builtin_offsetof(self, node, args) -> RV:
        self._want(node, args, 2, "offsetof")
        typ = self.tb.declarator_type(args[0].type)
        offset = 0
        designator = args[1]
        path = []
        while isinstance(designator, (c_ast.StructRef, c_ast.ArrayRef)):
            path.append(designator)
            designator = designator.name
        path.append(designator)
        for part in reversed(path):
            if isinstance(part, c_ast.ArrayRef):
                index = self.unit.must_const_int(part.subscript, self, "offsetof index")
                if not isinstance(typ, ct.ArrayType):
                    raise self.error(part, "offsetof: subscript of a non-array")
                typ, offset = typ.elem, offset + index * typ.elem.size
                continue
            name = part.name if isinstance(part, c_ast.ID) else part.field.name
            if not isinstance(typ, ct.StructType) or typ.find(name) is None:
                raise self.error(part, f"offsetof: {typ} has no member '{name}'")
            member = typ.find(name)
            typ, offset = member.type, offset + member.offset
        return RV(ct.SIZE_T, offset)

    def builtin_builtin_va_start(self, node, args) -> RV:
        self._want(node, args, 2, "va_start")
        if not self.fn.variadic:
            raise self.error(node, "va_start used in a function with fixed arguments")
        ap = self.lvalue(args[0])
        area = self.load_addr(ir.Addr(ir.ENTRY_SP, 4 * (self.fn.nparams_words -
                                                        MAX_REG_ARGS)))
        self.store(ap, RV(ap.type, area), node)
        return RV(ct.VOID, 0)

    def builtin_builtin_va_arg(self, node, args) -> RV:
        self._want(node, args, 2, "va_arg")
        ap = self.lvalue(args[0])
        marker = self.rvalue(args[1])
        typ = marker.type.target if marker.type.is_pointer() else None
        if typ is None or not typ.is_scalar() or ct.is_wide(typ) or typ.size < 4 and \
                isinstance(typ, ct.IntType) and typ.rank < ct.INT.rank:
            raise self.error(node, f"va_arg of type {typ} is not supported (use int, "
                             "unsigned, long or a pointer; smaller types are promoted)")
        current = self.load(ap)
        value = self.fn.new_vreg()
        self.emit(ir.Load(value, ir.Addr(self.reg(current.value), 0), 4, True))
        self.store(ap, RV(ap.type, self.binop("add", current.value, 4)), node)
        return RV(typ, value)

    def builtin_hcall(self, node, args) -> RV:
        if not 1 <= len(args) <= 7:
            raise self.error(node, "__hcall takes a hypercall number and up to 6 arguments")
        values = [self.convert(self.scalar(a), ct.ULONG, a).value for a in args]
        dst = self.fn.new_vreg()
        self.fn.has_calls = True
        self.emit(ir.Hcall(dst, values[0], values[1:]))
        return RV(ct.LONG, dst)

    def builtin_fence(self, node, args) -> RV:
        self._want(node, args, 0, "__fence")
        self.emit(ir.Atomic("fence", None, None))
        return RV(ct.VOID, 0)

    def _atomic_pointer(self, node, arg) -> ir.VReg:
        rv = self.rvalue(arg)
        if not rv.type.is_pointer() or rv.type.target.size != 4:
            raise self.error(arg, "atomics need a pointer to a 32-bit object")
        return self.reg(rv.value)

    def builtin_cas(self, node, args) -> RV:
        self._want(node, args, 3, "__cas")
        addr = self._atomic_pointer(node, args[0])
        old = self.reg(self.convert(self.scalar(args[1]), ct.UINT, args[1]).value)
        new = self.reg(self.convert(self.scalar(args[2]), ct.UINT, args[2]).value)
        dst = self.fn.new_vreg()
        self.emit(ir.Atomic("cas", dst, addr, old, new))
        return RV(ct.UINT, dst)

    def _amo(self, op: str, node, args) -> RV:
        self._want(node, args, 2, "__" + op)
        addr = self._atomic_pointer(node, args[0])
        value = self.reg(self.convert(self.scalar(args[1]), ct.UINT, args[1]).value)
        dst = self.fn.new_vreg()
        self.emit(ir.Atomic(op, dst, addr, value))
        return RV(ct.UINT, dst)

    def builtin_amoadd(self, node, args) -> RV:
        return self._amo("amoadd", node, args)

    def builtin_amoswap(self, node, args) -> RV:
        return self._amo("amoswap", node, args)

    def builtin_asm(self, node, args) -> RV:
        if len(args) != 1 or not (isinstance(args[0], c_ast.Constant) and
                                  args[0].type == "string"):
            raise self.error(node, "__asm__ takes one string literal of assembly "
                             "(no operands; see docs/cc.md)")
        self.emit(ir.Asm(string_literal(args[0].value).decode("utf-8", "replace")))
        return RV(ct.VOID, 0)

    builtin_asm__ = builtin_asm
