"""Statements and whole functions (C99 6.8, 6.9.1) lowered to IR.

Locals whose address is never taken and that are scalars live in virtual registers
(at -O1); everything else gets a frame slot.  `switch` becomes a jump table when the
cases are dense, else a compare chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pycparser import c_ast

from . import ctype as ct
from . import ir
from .decls import NotConstant, Symbol
from .initializers import Flattener, array_length
from .lower_access import MAX_REG_ARGS, AccessLowerer
from .lower_bits import BitfieldLowerer
from .lower_expr import LV, RV, ExprLowerer, access_size

JUMP_TABLE_MIN_CASES = 4


@dataclass
class SwitchContext:
    cases: list[tuple[int, str, c_ast.Node]] = field(default_factory=list)
    default: str | None = None
    type: ct.IntType = ct.INT


class FunctionLowerer(ExprLowerer, AccessLowerer, BitfieldLowerer):
    """Lowers one function definition into an ir.Function."""

    def __init__(self, unit, node: c_ast.FuncDef, sym: Symbol) -> None:
        self.unit, self.tb, self.sym = unit, unit.tb, sym
        ftype: ct.FunctionType = sym.type
        self.ftype = ftype
        hidden = 1 if isinstance(ftype.ret, ct.StructType) or ct.is_wide(ftype.ret) else 0
        self.fn = ir.Function(sym.asm_name, not self._is_static(node), ftype.variadic,
                              hidden + len(ftype.params))
        self.node = node
        self.breaks: list[str] = []
        self.continues: list[str] = []
        self.switches: list[SwitchContext] = []
        self.labels: dict[str, str] = {}
        self.labels_defined: set[str] = set()
        self.address_taken = _address_taken(node.body)
        self.result_ptr: ir.VReg | None = None
        self.epilogue = unit.new_label()

    def error(self, node, message: str):
        return self.unit.error(node, message)

    def const_int(self, node: c_ast.Node) -> int:
        return self.unit.const_int(node, self)

    @staticmethod
    def _is_static(node: c_ast.FuncDef) -> bool:
        return "static" in (node.decl.storage or [])

    # --- the function --------------------------------------------------------------

    def lower(self) -> ir.Function:
        self.tb.push()
        params = self._declare_params()
        self.fn.code.insert(0, ir.Params(params))
        self.tb.push()
        self.fn.name = self.sym.asm_name
        for item in self.node.body.block_items or []:
            self.statement(item)
        self.tb.pop()
        self.tb.pop()
        if self.fn.name == "main" and isinstance(self.ftype.ret, ct.IntType):
            self.emit(ir.Ret(0))                      # C99 5.1.2.2.3: main returns 0
        else:
            self.emit(ir.Ret(None))
        for name in self.labels:
            if name not in self.labels_defined:
                raise self.error(self.node, f"label '{name}' used but not defined")
        return self.fn

    def _declare_params(self) -> list[ir.VReg]:
        decl = self.node.decl.type
        args = decl.args.params if decl.args is not None else []
        vregs = []
        if isinstance(self.ftype.ret, ct.StructType) or ct.is_wide(self.ftype.ret):
            self.result_ptr = self.fn.new_vreg()
            vregs.append(self.result_ptr)
        named = [p for p in args if isinstance(p, c_ast.Decl)]
        for p, ptype in zip(named, self.ftype.params, strict=False):
            v = self.fn.new_vreg()
            vregs.append(v)
            if p.name is None:
                continue
            if isinstance(ptype, ct.StructType) or ct.is_wide(ptype):
                # passed as a pointer to the caller's copy, which we may use as ours
                self.tb.declare(p, Symbol(p.name, "local", ptype, ref=v))
                continue
            sym = self._new_local(p, p.name, ptype)
            self.store(self._lv_of(sym), RV(ptype, v), p)
        return vregs

    def _new_local(self, node, name: str, typ: ct.CType) -> Symbol:
        sym = Symbol(name, "local", typ)
        self.tb.declare(node, sym)
        if self.unit.opt >= 1 and typ.is_scalar() and not ct.is_wide(typ) and \
                name not in self.address_taken:
            sym.vreg = self.fn.new_vreg()
        else:
            sym.slot = self.fn.new_slot(typ.size, typ.align)
        return sym

    def _lv_of(self, sym: Symbol) -> LV:
        if sym.vreg is not None:
            return LV(sym.type, vreg=sym.vreg)
        return LV(sym.type, ir.Addr(sym.slot, 0))

    # --- statements ------------------------------------------------------------------

    def statement(self, node: c_ast.Node) -> None:
        method = getattr(self, "st_" + type(node).__name__, None)
        if method is not None:
            method(node)
        else:
            self.rvalue(node)                         # an expression statement

    def st_Compound(self, node: c_ast.Compound) -> None:
        self.tb.push()
        for item in node.block_items or []:
            self.statement(item)
        self.tb.pop()

    def st_EmptyStatement(self, node) -> None:
        pass

    def st_Pragma(self, node) -> None:
        pass

    def st_StaticAssert(self, node) -> None:
        self.unit.static_assert(node, self)

    def st_Typedef(self, node: c_ast.Typedef) -> None:
        self.unit.typedef(node)

    def st_DeclList(self, node: c_ast.DeclList) -> None:
        for decl in node.decls:
            self.st_Decl(decl)

    def st_Decl(self, node: c_ast.Decl) -> None:
        storage = node.storage or []
        if "extern" in storage or isinstance(node.type, c_ast.FuncDecl):
            self.unit.declare_global(node, block_scope=True)
            return
        typ = self.tb.declarator_type(node.type)
        if node.name is None:
            return                                    # a struct/union/enum declaration
        if "static" in storage:
            self.unit.static_local(node, typ, self)
            return
        if isinstance(typ, ct.ArrayType) and typ.length is None and node.init is not None:
            typ = self.complete_array_type(typ, node.init)
        if typ.size is None or isinstance(typ, ct.VoidType):
            raise self.error(node, f"variable '{node.name}' has incomplete type {typ}")
        sym = self._new_local(node, node.name, typ)
        if node.init is not None:
            self.init_local(self._lv_of(sym), node.init)

    def complete_array_type(self, typ: ct.CType, init: c_ast.Node) -> ct.CType:
        if isinstance(typ, ct.ArrayType) and typ.length is None:
            length = array_length(typ, init, self.type_of, self.const_int, self.error)
            return ct.ArrayType(typ.elem, length)
        return typ

    def init_local(self, lv: LV, init: c_ast.Node) -> None:
        """Initialize a local object: a scalar directly, an aggregate by zeroing it
        and storing each initialized scalar (C99 6.7.8p21: the rest is zero)."""
        typ = lv.type
        if not isinstance(init, c_ast.InitList) and not (
                isinstance(typ, ct.ArrayType) and isinstance(init, c_ast.Constant)):
            rv = self.assign_convert(self.rvalue(init), typ, init, "initialization")
            self.store(lv, rv, init)
            return
        items = Flattener(self.type_of, self.error, self.const_int).flatten(typ, init)
        if lv.vreg is not None:
            value = self.rvalue(items[0].expr) if items else RV(typ, 0)
            self.store(lv, self.assign_convert(value, typ, init, "initialization"), init)
            return
        self._zero(lv.addr, typ.size, typ.align)
        for item in items:
            at = self.offset_addr(lv.addr, item.offset)
            if item.data is not None:
                for i, byte in enumerate(item.data):
                    if byte:
                        self.emit(ir.Store(byte, self.offset_addr(at, i), 1))
                continue
            rv = self.assign_convert(self.rvalue(item.expr), item.type, item.expr,
                                     "initialization")
            self.store(LV(item.type, at, bits=item.bits), rv, item.expr)

    def _zero(self, addr: ir.Addr, size: int, align: int) -> None:
        if size > 64:
            self.fn.has_calls = True
            self.emit(ir.Call(None, "memset", [self._addr_value(addr), 0, size]))
            return
        step = access_size(size, align)
        for off in range(0, size, step):
            self.emit(ir.Store(0, self.offset_addr(addr, off), step))

    def st_If(self, node: c_ast.If) -> None:
        then, other, end = self.new_label(), self.new_label(), self.new_label()
        self.cond_branch(node.cond, then, other if node.iffalse else end)
        self.emit(ir.Label(then))
        self.statement(node.iftrue)
        if node.iffalse is not None:
            self.emit(ir.Jump(end))
            self.emit(ir.Label(other))
            self.statement(node.iffalse)
        self.emit(ir.Label(end))

    def _loop(self, cond, body, step, test_first: bool) -> None:
        top, test, cont, end = (self.new_label() for _ in range(4))
        if test_first:
            self.emit(ir.Jump(test))
        self.emit(ir.Label(top))
        self.breaks.append(end)
        self.continues.append(cont)
        self.statement(body)
        self.breaks.pop()
        self.continues.pop()
        self.emit(ir.Label(cont))
        if step is not None:
            self.rvalue(step)
        self.emit(ir.Label(test))
        if cond is None:
            self.emit(ir.Jump(top))
        else:
            self.cond_branch(cond, top, end)
        self.emit(ir.Label(end))

    def st_While(self, node: c_ast.While) -> None:
        self._loop(node.cond, node.stmt, None, True)

    def st_DoWhile(self, node: c_ast.DoWhile) -> None:
        self._loop(node.cond, node.stmt, None, False)

    def st_For(self, node: c_ast.For) -> None:
        self.tb.push()
        if node.init is not None:
            self.statement(node.init)
        self._loop(node.cond, node.stmt, node.next, True)
        self.tb.pop()

    def st_Break(self, node) -> None:
        if not self.breaks:
            raise self.error(node, "break statement not within a loop or switch")
        self.emit(ir.Jump(self.breaks[-1]))

    def st_Continue(self, node) -> None:
        if not self.continues:
            raise self.error(node, "continue statement not within a loop")
        self.emit(ir.Jump(self.continues[-1]))

    def st_Return(self, node: c_ast.Return) -> None:
        ret = self.ftype.ret
        if node.expr is None:
            if not isinstance(ret, ct.VoidType):
                raise self.error(node, "a non-void function must return a value")
            self.emit(ir.Ret(None))
            return
        rv = self.rvalue(node.expr)
        if isinstance(ret, ct.VoidType):
            if not isinstance(rv.type, ct.VoidType):
                raise self.error(node, "a void function cannot return a value")
            self.emit(ir.Ret(None))
            return
        rv = self.assign_convert(rv, ret, node.expr, "return")
        if isinstance(ret, ct.StructType) or ct.is_wide(ret):
            self.copy_memory(ir.Addr(self.result_ptr, 0), rv.value, ret.size, ret.align)
            self.emit(ir.Ret(self.result_ptr))
            return
        self.emit(ir.Ret(rv.value))

    def _user_label(self, name: str) -> str:
        if name not in self.labels:
            self.labels[name] = self.new_label()
        return self.labels[name]

    def st_Label(self, node: c_ast.Label) -> None:
        if node.name in self.labels_defined:
            raise self.error(node, f"duplicate label '{node.name}'")
        self.labels_defined.add(node.name)
        self.emit(ir.Label(self._user_label(node.name)))
        if node.stmt is not None:
            self.statement(node.stmt)

    def st_Goto(self, node: c_ast.Goto) -> None:
        self.emit(ir.Jump(self._user_label(node.name)))

    def st_Switch(self, node: c_ast.Switch) -> None:
        rv = self.arith(node.cond)
        ctx = SwitchContext(type=ct.promote(rv.type))
        value = self.reg(self.convert(rv, ctx.type, node.cond).value)
        end = self.new_label()
        dispatch_at = len(self.fn.code)
        self.switches.append(ctx)
        self.breaks.append(end)
        self.statement(node.stmt)
        self.breaks.pop()
        self.switches.pop()
        self.emit(ir.Label(end))
        saved, self.fn.code = self.fn.code, []
        self._dispatch(ctx, value, ctx.default or end)
        dispatch, self.fn.code = self.fn.code, saved
        self.fn.code[dispatch_at:dispatch_at] = dispatch

    def _dispatch(self, ctx: SwitchContext, value: ir.VReg, default: str) -> None:
        cases = sorted(ctx.cases)
        if len(cases) >= JUMP_TABLE_MIN_CASES:
            low, high = cases[0][0], cases[-1][0]
            span = high - low + 1
            if span <= 3 * len(cases) and span <= 1024:
                index = self.binop("sub", value, low)
                self.emit(ir.Branch("geu", self.reg(index), self.reg(span), default))
                targets = [default] * span
                for case_value, label, _ in cases:
                    targets[case_value - low] = label
                self.emit(ir.JumpTable(self.reg(index), self.unit.new_label(), targets))
                return
        unsigned = not ctx.type.signed
        for case_value, label, _ in cases:
            imm = ct.wrap(case_value, ct.UINT if unsigned else ct.INT)
            self.emit(ir.Branch("eq", value, ct.wrap(imm, ct.INT), label))
        self.emit(ir.Jump(default))

    def st_Case(self, node: c_ast.Case) -> None:
        if not self.switches:
            raise self.error(node, "case label not within a switch statement")
        ctx = self.switches[-1]
        try:
            value = ct.wrap(self.const_int(node.expr), ctx.type)
        except NotConstant:
            raise self.error(node.expr, "case label is not an integer constant "
                             "expression") from None
        for other, _, where in ctx.cases:
            if other == value:
                raise self.error(node, f"duplicate case value {value} (first at line "
                                 f"{where.coord.line})")
        label = self.new_label()
        ctx.cases.append((value, label, node))
        self.emit(ir.Label(label))
        for stmt in node.stmts or []:
            self.statement(stmt)

    def st_Default(self, node: c_ast.Default) -> None:
        if not self.switches:
            raise self.error(node, "default label not within a switch statement")
        ctx = self.switches[-1]
        if ctx.default is not None:
            raise self.error(node, "multiple default labels in one switch")
        ctx.default = self.new_label()
        self.emit(ir.Label(ctx.default))
        for stmt in node.stmts or []:
            self.statement(stmt)

    def st_FuncDef(self, node) -> None:
        raise self.error(node, "nested functions are not supported")


def _address_taken(body: c_ast.Node) -> set[str]:
    """Names whose address is taken anywhere in `body` (by &name): they must live in
    memory.  Conservative across shadowing, which only costs a register."""
    names: set[str] = set()

    class Visitor(c_ast.NodeVisitor):
        def visit_UnaryOp(self, node: c_ast.UnaryOp) -> None:
            if node.op == "&" and isinstance(node.expr, c_ast.ID):
                names.add(node.expr.name)
            self.generic_visit(node)

    Visitor().visit(body)
    return names


__all__ = ["FunctionLowerer", "MAX_REG_ARGS"]
