"""A translation unit: file-scope declarations, global data and the finished assembly.

`compile_unit(text, path, ...)` is the whole compiler for one .c file: preprocess,
parse (pycparser), lower each function (lower_stmt.py), allocate registers
(regalloc.py), emit PV32 assembly (emit.py), and lay out global data here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pycparser import c_ast, c_parser
from pycparser.c_parser import ParseError

from paravisor.errors import UserError

from . import ctype as ct
from . import ir
from .decls import NotConstant, Symbol, TypeBuilder
from .emit import emit_function
from .initializers import Flattener, array_length
from .literals import asm_string
from .lower_access import AccessLowerer
from .lower_bits import BitfieldLowerer, pack_bits
from .lower_expr import ExprLowerer
from .lower_stmt import FunctionLowerer
from .peephole import clean
from .preprocess import preprocess
from .regalloc import allocate
from .sources import CompileError, Sources


@dataclass
class GlobalVar:
    sym: Symbol
    node: c_ast.Node
    section: str = "bss"
    init: c_ast.Node | None = None
    is_static: bool = False
    extern_only: bool = True
    ctx: object = None               # a static local's function: its initializer's scope


@dataclass
class Data:
    """An object's initial bytes and the address words in it."""
    size: int
    align: int
    data: bytearray = field(default_factory=bytearray)
    relocs: dict[int, tuple[str, int]] = field(default_factory=dict)


class _ConstContext(ExprLowerer, AccessLowerer, BitfieldLowerer):
    """Expression lowering outside any function: for constant expressions."""

    def __init__(self, unit: CompilationUnit) -> None:
        self.unit, self.tb = unit, unit.tb
        self.fn = ir.Function("<file scope>", False, False, 0)

    def error(self, node, message: str):
        return self.unit.error(node, message)

    def const_int(self, node) -> int:
        return self.unit.const_int(node, self)

    def complete_array_type(self, typ, init):
        return self.unit.complete_array_type(typ, init, self)

    def init_local(self, lv, init):
        raise self.error(init, "compound literals outside a function are not supported")


class CompilationUnit:
    def __init__(self, sources: Sources, opt: int) -> None:
        self.sources, self.opt = sources, opt
        self.tb = TypeBuilder(sources, lambda node: self.const_int(node, None))
        self.label_count = 0
        self.strings: dict[bytes, str] = {}
        self.globals: dict[str, GlobalVar] = {}
        self.statics: list[GlobalVar] = []
        self.functions: list[str] = []          # assembly, in definition order
        self.rodata: list[str] = []
        self.const_ctx = _ConstContext(self)

    def error(self, node, message: str) -> CompileError:
        return self.sources.at(getattr(node, "coord", None), message)

    def new_label(self) -> str:
        self.label_count += 1
        return f".L{self.label_count}"

    def string_label(self, data: bytes) -> str:
        if data not in self.strings:
            self.strings[data] = f".Lstr{len(self.strings)}"
        return self.strings[data]

    # --- constant expressions --------------------------------------------------------

    def const_int(self, node: c_ast.Node, ctx) -> int:
        """The value of integer constant expression `node` (NotConstant if it is not)."""
        ctx = ctx or self.const_ctx
        saved, ctx.fn.code = ctx.fn.code, []
        try:
            rv = ctx.rvalue(node)
        finally:
            ctx.fn.code = saved
        value = ctx.const_value(rv)
        if value is None:
            raise NotConstant()
        return value

    def must_const_int(self, node, ctx, what: str) -> int:
        try:
            return self.const_int(node, ctx)
        except NotConstant:
            raise self.error(node, f"{what} is not an integer constant expression") from None

    def static_value(self, node: c_ast.Node, typ: ct.CType, ctx) -> int | tuple[str, int]:
        """An initializer for static storage: an integer, or (symbol, addend) for an
        address constant.  Lowers `node` in a scratch list and interprets that
        straight-line code symbolically."""
        ctx = ctx or self.const_ctx
        saved, ctx.fn.code = ctx.fn.code, []
        try:
            rv = ctx.assign_convert(ctx.rvalue(node), typ, node, "initialization")
            code = ctx.fn.code
        finally:
            ctx.fn.code = saved
        if isinstance(rv.value, int):
            return rv.value
        known: dict[int, tuple[str | None, int]] = {}
        for instr in code:
            if not _symbolic_step(instr, known):
                break
        result = known.get(id(rv.value)) if isinstance(rv.value, ir.VReg) else None
        if result is None:
            raise self.error(node, "initializer element is not a constant expression")
        sym, addend = result
        return addend if sym is None else (sym, addend)

    # --- declarations ------------------------------------------------------------------

    def typedef(self, node: c_ast.Typedef) -> None:
        typ = self.tb.declarator_type(node.type)
        self.tb.declare(node, Symbol(node.name, "typedef", typ))

    def static_assert(self, node: c_ast.StaticAssert, ctx) -> None:
        if not self.must_const_int(node.cond, ctx, "static assertion"):
            message = node.message.value[1:-1] if node.message is not None else ""
            raise self.error(node, f"static assertion failed: {message}")

    def complete_array_type(self, typ, init, ctx):
        if isinstance(typ, ct.ArrayType) and typ.length is None and init is not None:
            length = array_length(typ, init, ctx.type_of, lambda n: self.const_int(n, ctx),
                                  self.error)
            return ct.ArrayType(typ.elem, length)
        return typ

    def declare_global(self, node: c_ast.Decl, block_scope: bool = False) -> Symbol | None:
        storage = node.storage or []
        typ = self.tb.declarator_type(node.type)
        if node.name is None:
            return None
        if "extern" not in storage and not isinstance(typ, ct.FunctionType):
            typ = self.complete_array_type(typ, node.init, self.const_ctx)
        asm_name = node.name
        sym = Symbol(node.name, "global", typ, asm_name=asm_name)
        if block_scope:
            outer = self._file_scope().names.get(node.name)
            if outer is not None and outer.kind == "global":
                sym = outer
        sym = self.tb.declare(node, sym)
        if isinstance(typ, ct.FunctionType) or block_scope:
            return sym
        var = self.globals.get(node.name)
        if var is None:
            var = self.globals[node.name] = GlobalVar(sym, node)
        if "static" in storage:
            var.is_static = True
        if "extern" not in storage or node.init is not None:
            var.extern_only = False
        if node.init is not None:
            if var.init is not None:
                raise self.error(node, f"redefinition of '{node.name}'")
            var.init, var.node = node.init, node
        return sym

    def _file_scope(self):
        scope = self.tb.scope
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def static_local(self, node: c_ast.Decl, typ: ct.CType, ctx) -> None:
        typ = self.complete_array_type(typ, node.init, ctx)
        sym = Symbol(node.name, "global", typ, asm_name=f"{self.new_label()}.{node.name}")
        self.tb.declare(node, sym)
        var = GlobalVar(sym, node, init=node.init, is_static=True, extern_only=False,
                        ctx=ctx)
        self.statics.append(var)

    # --- top level -----------------------------------------------------------------------

    def translate(self, ast: c_ast.FileAST) -> None:
        for ext in ast.ext:
            if isinstance(ext, c_ast.FuncDef):
                self.function(ext)
            elif isinstance(ext, c_ast.Decl):
                self.declare_global(ext)
            elif isinstance(ext, c_ast.Typedef):
                self.typedef(ext)
            elif isinstance(ext, c_ast.StaticAssert):
                self.static_assert(ext, None)
            elif isinstance(ext, c_ast.Pragma):
                continue
            else:
                raise self.error(ext, f"unsupported top-level {type(ext).__name__}")

    def function(self, node: c_ast.FuncDef) -> None:
        if node.param_decls:
            raise self.error(node, "old-style (K&R) function definitions are not supported")
        sym = self.declare_global(node.decl)
        if sym.defined:
            raise self.error(node, f"redefinition of function '{sym.name}'")
        sym.defined = True
        ftype = sym.type
        if not isinstance(ftype, ct.FunctionType):
            raise self.error(node, f"'{sym.name}' is not a function")
        for p in ftype.params:
            if p.size is None:
                raise self.error(node.decl, f"parameter of incomplete type {p}")
        fn = FunctionLowerer(self, node, sym).lower()
        clean(fn)
        locations, frame = allocate(fn, self.opt)
        try:
            self.functions.append(emit_function(fn, locations, frame, self))
        except ValueError as err:
            raise self.error(node, str(err)) from None

    def add_rodata(self, lines: list[str]) -> None:
        self.rodata.extend(lines)

    # --- data ----------------------------------------------------------------------------

    def build_data(self, var: GlobalVar) -> Data:
        typ = var.sym.type
        if typ.size is None:
            raise self.error(var.node, f"'{var.sym.name}' has incomplete type {typ}")
        out = Data(typ.size, typ.align, bytearray(typ.size))
        if var.init is None:
            return out
        ctx = var.ctx or self.const_ctx
        items = Flattener(ctx.type_of, self.error,
                          lambda n: self.const_int(n, ctx)).flatten(typ, var.init)
        for item in items:
            if item.data is not None:
                out.data[item.offset:item.offset + len(item.data)] = item.data
                continue
            if ct.is_wide(item.type):            # a 64-bit object from an int constant
                value = self.must_const_int(item.expr, ctx, "initializer element")
                out.data[item.offset:item.offset + 8] = (value % 2**64).to_bytes(8, "little")
                continue
            value = self.static_value(item.expr, item.type, ctx)
            if isinstance(value, tuple):
                if item.type.size != 4:
                    raise self.error(item.expr, "an address needs a 32-bit object")
                out.relocs[item.offset] = value
            elif item.bits is not None:
                pack_bits(out.data, item.offset, item.type.size, item.bits, value)
            else:
                size = item.type.size
                out.data[item.offset:item.offset + size] = (value & ((1 << 8 * size) - 1)
                                                            ).to_bytes(size, "little")
        return out

    def data_section(self) -> list[str]:
        lines: list[str] = []
        for var in [*self.globals.values(), *self.statics]:
            if var.extern_only or isinstance(var.sym.type, ct.FunctionType):
                continue
            data = self.build_data(var)
            name = var.sym.asm_name
            section = ".bss" if not any(data.data) and not data.relocs else ".data"
            lines.append(f"        {section}")
            if not var.is_static:
                lines.append(f"        .global {name}")
            lines.append(f"        .balign {data.align}")
            lines.append(f"        .type {name}, @object")
            lines.append(f"{name}:")
            lines.extend(_data_directives(data, section == ".bss"))
            lines.append(f"        .size {name}, {data.size}")
        return lines

    def string_section(self) -> list[str]:
        lines = []
        if self.strings or self.rodata:
            lines.append("        .rodata")
        for data, label in self.strings.items():
            lines.append(f'{label}: .asciz "{asm_string(data)}"')
        lines.extend(self.rodata)
        return lines


def _data_directives(data: Data, bss: bool) -> list[str]:
    if bss:
        return [f"        .zero {data.size}"] if data.size else []
    lines, pos, size = [], 0, data.size
    while pos < size:
        if pos in data.relocs:
            sym, addend = data.relocs[pos]
            lines.append(f"        .word {sym}{'' if addend == 0 else f' + {addend}'}")
            pos += 4
            continue
        end = pos
        while end < size and end - pos < 16 and end not in data.relocs:
            end += 1
        chunk = data.data[pos:end]
        if not any(chunk):
            lines.append(f"        .zero {end - pos}")
        else:
            lines.append("        .byte " + ", ".join(str(b) for b in chunk))
        pos = end
    return lines


def _symbolic_step(instr: ir.Instr, known: dict) -> bool:
    """Interpret one scratch instruction over (symbol | None, offset) values; False at
    the first one that is not an address-constant computation."""
    def val(v):
        if isinstance(v, int):
            return (None, v)
        return known.get(id(v))

    if isinstance(instr, ir.Mov):
        v = val(instr.src)
        if v is None:
            return False
        known[id(instr.dst)] = v
        return True
    if isinstance(instr, ir.LoadAddr):
        base = instr.addr.base
        if isinstance(base, str):
            known[id(instr.dst)] = (base, instr.addr.offset)
        elif isinstance(base, ir.VReg) and val(base) is not None:
            sym, off = val(base)
            known[id(instr.dst)] = (sym, off + instr.addr.offset)
        else:
            return False
        return True
    if isinstance(instr, ir.Bin) and instr.op in ("add", "sub", "mul", "sll"):
        a, b = val(instr.a), val(instr.b)
        if a is None or b is None:
            return False
        if instr.op == "add" and (a[0] is None or b[0] is None):
            known[id(instr.dst)] = (a[0] or b[0], a[1] + b[1])
            return True
        if instr.op == "sub" and b[0] is None:
            known[id(instr.dst)] = (a[0], a[1] - b[1])
            return True
        if a[0] is None and b[0] is None:
            from .fold import fold
            known[id(instr.dst)] = (None, fold(instr.op, a[1], b[1]))
            return True
    return False


def compile_unit(text: str, path: str, *, opt: int = 1, include_dirs: list[str] = (),
                 defines: list[tuple[str, str]] = ()) -> str:
    """Compile one C source (the contents of `path`) into PV32 assembly text.  Raises
    CompileError (a SourceError: file:line:col, the line and a caret) for bad input."""
    sources = Sources()
    expanded = preprocess(text, path, sources, list(include_dirs), list(defines))
    parser = c_parser.CParser()
    try:
        ast = parser.parse(expanded, path)
    except ParseError as err:
        raise _parse_error(str(err), sources, parser) from None
    unit = CompilationUnit(sources, opt)
    try:
        unit.translate(ast)
        data = unit.data_section()
    except CompileError:
        raise
    except (NotConstant, RecursionError, ValueError, KeyError, AttributeError,
            TypeError, AssertionError, IndexError) as err:
        # A bug of ours, not the program's: say so plainly instead of a traceback.
        raise UserError(f"{path}: internal compiler error ({type(err).__name__}: {err}); "
                        "please report it with the source") from None
    header = [f"# {path}: compiled by paravisor cc -O{opt}", ""]
    return "\n".join([*header, *unit.functions, *unit.string_section(), *data, ""])


def _parse_error(message: str, sources: Sources, parser) -> CompileError:
    """pycparser says `file:line:col: before: tok` (or `file: what`, with the place
    left in its token buffer); make that one of ours."""
    parts = message.split(":", 3)
    try:
        path, line, col = parts[0], int(parts[1]), int(parts[2])
        return sources.error(path, line, col, f"syntax error {parts[3].strip()}")
    except (IndexError, ValueError):
        pass
    path, _, text = message.partition(": ")
    tokens = getattr(getattr(parser, "_tokens", None), "_buffer", None)
    index = getattr(getattr(parser, "_tokens", None), "_index", 0)
    if tokens:
        tok = tokens[min(index, len(tokens)) - 1]
        return sources.error(path, tok.lineno, tok.column, f"syntax error: {text.lower()}")
    return CompileError(path or "<input>", 1, 1, f"syntax error: {text or message}")
