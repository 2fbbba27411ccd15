"""The assembler proper: two passes over the parsed statements, then an ELF object.

Pass 1 lays out: it defines every label and fixes the size of every statement (only
`li` has a value-dependent size; it records its choice on the statement).  Pass 2
evaluates everything with all labels known and emits bytes and relocations.  A
statement with an error is reported once and skipped by later passes; many errors are
collected before the assembly fails (up to MAX_ERRORS).

Symbols that are used but never defined become undefined globals for the linker, the
way GNU as treats them.  Relocations against local labels are emitted against the
section symbol with the label's offset as addend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paravisor.errors import SourceError
from paravisor.isa.table import BY_MNEMONIC, EncodingError, encode
from paravisor.toolchain.asm import directives
from paravisor.toolchain.asm.expr import UNKNOWN, Node, Value, evaluate
from paravisor.toolchain.asm.instructions import (
    PSEUDOS,
    TEMPLATES,
    Emit,
    OperandValue,
    encode_immediate,
    li_words,
    real_emit,
)
from paravisor.toolchain.asm.lexer import AsmError
from paravisor.toolchain.asm.parser import SourceLine, Statement, Syntax, parse_program
from paravisor.toolchain.elf import (
    R_PV32_32,
    SHT_NOBITS,
    STB_GLOBAL,
    STB_LOCAL,
    STT_NOTYPE,
)

MAX_ERRORS = 20
SYNTAX = Syntax(TEMPLATES, set(directives.DIRECTIVES))


def describe_place(line: SourceLine | None) -> str:
    return f"{line.path}:{line.number}" if line is not None else "an earlier line"


class AssemblyFailed(SourceError):
    """Every error of one assembly.  Its location is the first error's; its text lists
    all of them, each as `file:line:col: error: message`, source line and caret."""

    def __init__(self, errors: list[SourceError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.path, first.line, first.col, first.message, first.source_line)

    def render(self) -> str:
        shown = [SourceError.render(e) for e in self.errors[:MAX_ERRORS]]
        if len(self.errors) > MAX_ERRORS:
            shown.append(f"... and {len(self.errors) - MAX_ERRORS} more errors")
        return "\n".join(shown)


@dataclass
class SectionState:
    name: str
    type: int
    flags: int
    data: bytearray = field(default_factory=bytearray)
    nobits_size: int = 0
    align: int = 4
    relocs: list[tuple[int, int, Value]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.nobits_size if self.type == SHT_NOBITS else len(self.data)


@dataclass
class SymbolState:
    value: Value | None = None       # None: not defined (yet)
    is_label: bool = False
    bind: int = STB_LOCAL
    type: int = STT_NOTYPE
    size: int = 0
    defined_at: SourceLine | None = None
    referenced: bool = False


class Assembler:
    """Assembles one source file; `run()` returns the object's sections and symbols."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.errors: list[SourceError] = []
        self.statements = parse_program(text, path, SYNTAX, self.errors)
        self.sections: dict[str, SectionState] = {}
        self.symbols: dict[str, SymbolState] = {}
        self.local_labels: dict[int, list[tuple[int, Value]]] = {}
        self.final = False
        self.stmt: Statement | None = None   # the statement being processed
        self.current = self.switch_section(".text")

    # --- passes ----------------------------------------------------------------------

    def run(self) -> None:
        """Both passes; raises AssemblyFailed if any statement had an error."""
        for final in (False, True):
            self.final = final
            for sec in self.sections.values():
                sec.data, sec.nobits_size, sec.relocs = bytearray(), 0, []
            self.current = self.sections[".text"]
            for stmt in self.statements:
                if not stmt.dead:
                    self._statement(stmt)
        self._check_symbols()
        if self.errors:
            raise AssemblyFailed(sorted(self.errors, key=lambda e: (e.path != self.path,
                                                                    e.path, e.line)))

    def _statement(self, stmt: Statement) -> None:
        self.stmt = stmt
        try:
            if not self.final:
                for label, col in stmt.labels:
                    self._define_label(label, col)
            if stmt.name in directives.DIRECTIVES:
                directives.DIRECTIVES[stmt.name](self, stmt)
            elif stmt.name is not None:
                self._instruction(stmt)
        except AsmError as err:
            col = err.col or stmt.name_col
            self.errors.append(stmt.line.error(col, err.message))
            stmt.dead = True

    def _define_label(self, label: str | int, col: int) -> None:
        assert self.stmt is not None
        here = self.location()
        if isinstance(label, int):
            self.local_labels.setdefault(label, []).append((self.stmt.index, here))
            return
        sym = self.symbols.setdefault(label, SymbolState())
        if sym.value is not None:
            raise AsmError(col, f"symbol '{label}' is already defined at "
                                f"{describe_place(sym.defined_at)}")
        sym.value, sym.is_label, sym.defined_at = here, True, self.stmt.line

    def _check_symbols(self) -> None:
        """An object file cannot say "this global is that undefined symbol plus 4"."""
        for name, sym in self.symbols.items():
            if sym.value is not None and sym.value.symbol and sym.bind == STB_GLOBAL:
                line = sym.defined_at
                assert line is not None   # only .equ/.set give a symbol such a value
                self.errors.append(line.error(1, f"global symbol '{name}' cannot be defined "
                                                 f"as the undefined {sym.value.describe()}"))

    # --- the Scope of expressions -----------------------------------------------------

    def symbol_value(self, name: str, col: int) -> Value:
        sym = self.symbols.get(name)
        if sym is not None and sym.value is not None:
            if sym.value.unknown and self.final:
                raise AsmError(col, f"'{name}' is used before its value is known: "
                                    "define it earlier in the file")
            return sym.value
        if not self.final:
            return UNKNOWN
        sym = self.symbols.setdefault(name, SymbolState())
        sym.referenced = True
        return Value(0, symbol=name)

    def local_label(self, number: int, direction: str, col: int) -> Value:
        defs = self.local_labels.get(number, [])
        here = self.stmt.index if self.stmt is not None else 0
        if direction == "b":
            before = [v for i, v in defs if i <= here]
            if before:
                return before[-1]
        else:
            after = [v for i, v in defs if i > here]
            if after:
                return after[0]
            if not self.final:
                return UNKNOWN
        where = "before" if direction == "b" else "after"
        raise AsmError(col, f"undefined local label {number}{direction}: no '{number}:' "
                            f"{where} this line")

    def location(self) -> Value:
        return Value(self.current.size, self.current.name)

    def evaluate(self, node: Node) -> Value:
        return evaluate(node, self)

    # --- sections and bytes -----------------------------------------------------------

    def get_section(self, name: str, flags: int | None = None,
                    stype: int | None = None) -> SectionState:
        """Section `name`, created (with default flags unless given) on first use."""
        sec = self.sections.get(name)
        if sec is None:
            dflags, dtype = directives.default_section_kind(name)
            sec = SectionState(name, dtype if stype is None else stype,
                               dflags if flags is None else flags)
            self.sections[name] = sec
        return sec

    def switch_section(self, name: str, flags: int | None = None,
                       stype: int | None = None) -> SectionState:
        self.current = self.get_section(name, flags, stype)
        return self.current

    def symbol(self, name: str) -> SymbolState:
        """The state of symbol `name`, created (undefined, local) on first mention."""
        return self.symbols.setdefault(name, SymbolState())

    def emit(self, data: bytes, section: SectionState | None = None) -> None:
        sec = section or self.current
        if sec.type == SHT_NOBITS:
            if any(data):
                raise AsmError(0, f"section {sec.name} holds no data: only .space/.zero "
                                  "with fill 0 and .align may be used in it")
            sec.nobits_size += len(data)
        else:
            sec.data += data

    def emit_value(self, value: Value, width: int, col: int,
                   section: SectionState | None = None) -> None:
        """A `width`-byte datum: a constant, or (words only) an address to relocate."""
        sec = section or self.current
        if value.unknown:
            self.emit(bytes(width), sec)
            return
        if not value.is_absolute:
            if width != 4 or value.modifier:
                raise AsmError(col, f"a {width}-byte datum cannot hold the address "
                                    f"{value.describe()}; only .word can")
            sec.relocs.append((sec.size, R_PV32_32, value))
            self.emit(bytes(4), sec)
            return
        bits = 8 * width
        if not -(1 << (bits - 1)) <= value.offset < 1 << bits:
            raise AsmError(col, f"value {value.offset} does not fit in {width} byte"
                                f"{'s' if width > 1 else ''}")
        self.emit((value.offset & ((1 << bits) - 1)).to_bytes(width, "little"), sec)

    # --- instructions -----------------------------------------------------------------

    def _instruction(self, stmt: Statement) -> None:
        sec = self.current
        if sec.type == SHT_NOBITS or sec.size % 4:
            raise AsmError(stmt.name_col, f"instructions must be word-aligned in a section "
                                          f"with contents; {sec.name} is at offset "
                                          f"{sec.size:#x} (use .align 2)")
        values = [self._operand_value(op.reg, op.expr, op.col, kind)
                  for op, kind in zip(stmt.operands, TEMPLATES[stmt.name], strict=True)]
        pseudo = PSEUDOS.get(stmt.name)   # type: ignore[arg-type]
        if pseudo is None:
            emits = [real_emit(BY_MNEMONIC[stmt.name], values)]   # type: ignore[index]
        else:
            if stmt.name == "li" and not self.final:
                stmt.words = li_words(values[1])   # type: ignore[arg-type]
            try:
                emits = pseudo.expand(values, stmt.words or pseudo.words)
            except AsmError as err:
                raise AsmError(err.col or stmt.operands[-1].col, err.message) from None
        imm_col = next((op.col for op in reversed(stmt.operands) if op.expr is not None),
                       stmt.name_col)
        for item in emits:
            self._encode(item, imm_col)

    def _operand_value(self, reg: int, expr: Node | None, col: int,
                       kind: str) -> OperandValue:
        if expr is None:
            return reg
        value = self.evaluate(expr)
        return (value, reg) if kind == "imm(rs1)" else value

    def _encode(self, item: Emit, col: int) -> None:
        insn = BY_MNEMONIC[item.mnemonic]
        operands = dict(item.regs)
        sec = self.current
        if item.imm is not None:
            try:
                enc = encode_immediate(insn, item.imm, self.location())
            except AsmError as err:
                raise AsmError(err.col or col, err.message) from None
            operands["imm"] = enc.field
            if enc.reloc_type is not None and self.final:
                sec.relocs.append((sec.size, enc.reloc_type, enc.reloc_value))  # type: ignore[arg-type]
        try:
            word = encode(item.mnemonic, **operands)
        except EncodingError as err:
            raise AsmError(col, str(err)) from None
        self.emit(word.to_bytes(4, "little"))
