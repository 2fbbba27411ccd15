"""IR with register locations into PV32 assembly text (docs/toolchain.md syntax).

Scratch registers: t0 and t1 (never allocated) hold spilled operands, large
immediates and the temporary of parallel moves; `ra` is a third scratch for `cas`
(whose function then saves ra).  Calls follow docs/isa.md section 2.

Loads and stores reach 16-bit signed offsets from their base.  A frame larger than
that is addressed as real compilers do: the offset is formed in a scratch register and
added to sp (`_sp_relative`), and the prologue and epilogue move sp by a register.
"""

from __future__ import annotations

from . import ir
from .regalloc import Frame, Location

ARG_REGS = ("a0", "a1", "a2", "a3", "a4", "a5")
_IMM_FORMS = {"add": "addi", "and": "andi", "or": "ori", "xor": "xori", "sll": "slli",
              "srl": "srli", "sra": "srai", "slt": "slti", "sltu": "sltiu"}
_LOAD = {(1, True): "lb", (1, False): "lbu", (2, True): "lh", (2, False): "lhu",
         (4, True): "lw", (4, False): "lw"}
_STORE = {1: "sb", 2: "sh", 4: "sw"}
_BRANCH = {"eq": "beq", "ne": "bne", "lt": "blt", "ge": "bge", "ltu": "bltu",
           "geu": "bgeu"}


def _fits16(value: int) -> bool:
    return -32768 <= value <= 32767


class Emitter:
    def __init__(self, fn: ir.Function, locations: dict[int, Location], frame: Frame,
                 unit) -> None:
        self.fn, self.locations, self.frame, self.unit = fn, locations, frame, unit
        self.lines: list[str] = []
        self.epilogue = unit.new_label()

    def out(self, text: str) -> None:
        self.lines.append("        " + text)

    def loc(self, v: ir.VReg) -> Location | None:
        return self.locations.get(id(v))

    # --- operands ----------------------------------------------------------------------

    def read(self, value: ir.Value, scratch: str) -> str:
        """A register holding `value` (loading it into `scratch` if needed)."""
        if isinstance(value, int):
            if value == 0:
                return "zero"
            self.out(f"li    {scratch}, {value}")
            return scratch
        loc = self.loc(value)
        if isinstance(loc, str):
            return loc
        if loc is None:                     # defined but never used: any value will do
            return "zero"
        self.out(f"lw    {scratch}, {self._sp_relative(loc.offset, scratch)}")
        return scratch

    def target(self, v: ir.VReg) -> str:
        """The register to compute `v` into (t0 if v lives in memory: call `written`)."""
        loc = self.loc(v)
        return loc if isinstance(loc, str) else "t0"

    def written(self, v: ir.VReg, reg: str) -> None:
        loc = self.loc(v)
        if isinstance(loc, ir.Slot):
            scratch = "t1" if reg != "t1" else "t0"
            self.out(f"sw    {reg}, {self._sp_relative(loc.offset, scratch)}")
        elif isinstance(loc, str) and loc != reg:
            self.out(f"mv    {loc}, {reg}")

    def address(self, addr: ir.Addr, scratch: str) -> str:
        """`offset(base)` text for a memory operand."""
        base, offset = addr.base, addr.offset
        if isinstance(base, ir.Slot):
            return self._sp_relative(base.offset + offset, scratch)
        if isinstance(base, ir.EntrySP):
            return self._sp_relative(self.frame.size + offset, scratch)
        if isinstance(base, str):
            sym = _sym(base, offset)
            self.out(f"lui   {scratch}, %hi({sym})")
            return f"%lo({sym})({scratch})"
        reg = self.read(base, scratch)
        if _fits16(offset):
            return f"{offset}({reg})"
        self.out(f"li    {scratch}, {offset}")
        self.out(f"add   {scratch}, {scratch}, {reg}")
        return f"0({scratch})"

    def _sp_relative(self, offset: int, scratch: str) -> str:
        """`offset(sp)` as a memory operand; an offset beyond 16 bits is formed in
        `scratch` (which must not hold a value still needed)."""
        if _fits16(offset):
            return f"{offset}(sp)"
        self.out(f"li    {scratch}, {offset}")
        self.out(f"add   {scratch}, {scratch}, sp")
        return f"0({scratch})"

    # --- instructions --------------------------------------------------------------

    def emit_Mov(self, i: ir.Mov) -> None:
        loc = self.loc(i.dst)
        if loc is None:
            return
        if isinstance(i.src, int):
            reg = self.target(i.dst)
            self.out(f"li    {reg}, {i.src}")
            self.written(i.dst, reg)
            return
        if self.loc(i.src) == loc:
            return
        src = self.read(i.src, "t0")
        if isinstance(loc, str):
            self.out(f"mv    {loc}, {src}")
        else:
            self.written(i.dst, src)

    def emit_LoadAddr(self, i: ir.LoadAddr) -> None:
        if self.loc(i.dst) is None:
            return
        reg = self.target(i.dst)
        base, offset = i.addr.base, i.addr.offset
        if isinstance(base, str):
            self.out(f"la    {reg}, {_sym(base, offset)}")
        else:
            text = self.address(i.addr, "t1")
            off, rbase = text[:-1].split("(")
            self.out(f"addi  {reg}, {rbase}, {off}")
        self.written(i.dst, reg)

    def emit_Bin(self, i: ir.Bin) -> None:
        if self.loc(i.dst) is None:
            return
        a = self.read(i.a, "t0")
        reg = self.target(i.dst)
        imm = self._immediate(i.op, i.b)
        if imm is not None:
            self.out(f"{imm[0]:<5} {reg}, {a}, {imm[1]}")
        else:
            b = self.read(i.b, "t1")
            self.out(f"{i.op:<5} {reg}, {a}, {b}")
        self.written(i.dst, reg)

    @staticmethod
    def _immediate(op: str, b: ir.Value) -> tuple[str, int] | None:
        if not isinstance(b, int):
            return None
        if op == "sub" and _fits16(-b):
            return ("addi", -b)
        if op not in _IMM_FORMS:
            return None
        if op in ("and", "or", "xor"):
            return (_IMM_FORMS[op], b) if 0 <= b <= 0xFFFF else None
        if op in ("sll", "srl", "sra"):
            return (_IMM_FORMS[op], b & 31)
        return (_IMM_FORMS[op], b) if _fits16(b) else None

    def emit_Load(self, i: ir.Load) -> None:
        reg = self.target(i.dst)
        self.out(f"{_LOAD[(i.size, i.signed)]:<5} {reg}, {self.address(i.addr, 't1')}")
        self.written(i.dst, reg)

    def emit_Store(self, i: ir.Store) -> None:
        src = self.read(i.src, "t0")
        self.out(f"{_STORE[i.size]:<5} {src}, {self.address(i.addr, 't1')}")

    def emit_Label(self, i: ir.Label) -> None:
        self.lines.append(f"{i.name}:")

    def emit_Jump(self, i: ir.Jump) -> None:
        self.out(f"j     {i.target}")

    def emit_Branch(self, i: ir.Branch) -> None:
        a = self.read(i.a, "t0")
        b = self.read(i.b, "t1")
        self.out(f"{_BRANCH[i.cond]:<5} {a}, {b}, {i.target}")

    def emit_JumpTable(self, i: ir.JumpTable) -> None:
        index = self.read(i.index, "t0")
        self.out(f"slli  t0, {index}, 2")
        self.out(f"la    t1, {i.table}")
        self.out("add   t1, t1, t0")
        self.out("lw    t1, 0(t1)")
        self.out("jr    t1")
        self.unit.add_rodata(["        .balign 4", f"{i.table}:",
                              *(f"        .word {t}" for t in i.targets)])

    def emit_Ret(self, i: ir.Ret) -> None:
        if i.value is not None:
            src = self.read(i.value, "a0")
            if src != "a0":
                self.out(f"mv    a0, {src}")
        self.out(f"j     {self.epilogue}")

    def emit_Asm(self, i: ir.Asm) -> None:
        for line in i.text.splitlines():
            self.out(line.strip())

    def emit_Params(self, i: ir.Params) -> None:
        moves = []
        for k, v in enumerate(i.params):
            loc = self.loc(v)
            if loc is None:
                continue
            if k < len(ARG_REGS):
                if isinstance(loc, ir.Slot):
                    self.out(f"sw    {ARG_REGS[k]}, {self._sp_relative(loc.offset, 't1')}")
                else:
                    moves.append((loc, ARG_REGS[k]))
        self.parallel_move(moves)
        for k, v in enumerate(i.params[len(ARG_REGS):], start=len(ARG_REGS)):
            if self.loc(v) is None:
                continue
            reg = self.target(v)
            offset = self.frame.size + 4 * (k - len(ARG_REGS))
            self.out(f"lw    {reg}, {self._sp_relative(offset, 't1')}")
            self.written(v, reg)

    def parallel_move(self, moves: list[tuple[str, str]]) -> None:
        """Register-to-register moves performed as if simultaneously (t0 breaks
        cycles)."""
        pending = {dst: src for dst, src in moves if dst != src}
        while pending:
            ready = [d for d in pending if d not in pending.values()]
            if ready:
                dst = ready[0]
                self.out(f"mv    {dst}, {pending.pop(dst)}")
                continue
            dst, src = next(iter(pending.items()))
            self.out(f"mv    t0, {src}")
            for d, s in pending.items():
                if s == src:
                    pending[d] = "t0"

    def _arguments(self, args: list[ir.Value]) -> None:
        """Stack arguments first (they may read a0..a5), then a0..a5 in parallel."""
        for k, value in enumerate(args[len(ARG_REGS):]):
            self.out(f"sw    {self.read(value, 't0')}, {4 * k}(sp)")
        moves, later = [], []
        for k, value in enumerate(args[:len(ARG_REGS)]):
            loc = None if isinstance(value, int) else self.loc(value)
            if isinstance(loc, str):
                moves.append((ARG_REGS[k], loc))
            else:
                later.append((ARG_REGS[k], value))
        self.parallel_move(moves)
        for reg, value in later:
            if isinstance(value, int):
                self.out(f"li    {reg}, {value}")
            elif self.loc(value) is not None:
                self.out(f"lw    {reg}, {self._sp_relative(self.loc(value).offset, reg)}")

    def emit_Call(self, i: ir.Call) -> None:
        if isinstance(i.callee, ir.VReg):
            callee = self.read(i.callee, "t1")
            if callee != "t1":
                self.out(f"mv    t1, {callee}")
        self._arguments(i.args)
        if isinstance(i.callee, ir.VReg):
            self.out("jalr  ra, 0(t1)")
        else:
            self.out(f"call  {i.callee}")
        if i.dst is not None:
            self.written(i.dst, "a0")

    def emit_Hcall(self, i: ir.Hcall) -> None:
        number = self.read(i.number, "t1")
        if number != "t1":
            self.out(f"mv    t1, {number}")
        self._arguments(i.args)
        self.out("mv    t0, t1")
        self.out("hcall")
        self.written(i.dst, "a0")

    def emit_Atomic(self, i: ir.Atomic) -> None:
        if i.op == "fence":
            self.out("fence")
            return
        addr = self.read(i.addr, "ra")
        if i.op == "cas":
            old = self.read(i.a, "t0")
            if old != "t0":
                self.out(f"mv    t0, {old}")
            new = self.read(i.b, "t1")
            self.out(f"cas   t0, {new}, ({addr})")
            self.written(i.dst, "t0")
            return
        value = self.read(i.a, "t1")
        self.out(f"{i.op:<7} t0, {value}, ({addr})")
        self.written(i.dst, "t0")

    # --- the function --------------------------------------------------------------

    def _move_sp(self, delta: int, scratch: str) -> None:
        """sp += delta, through `scratch` when delta does not fit an immediate."""
        if _fits16(delta):
            if delta:
                self.out(f"addi  sp, sp, {delta}")
            return
        self.out(f"li    {scratch}, {delta}")
        self.out(f"add   sp, sp, {scratch}")

    def run(self) -> list[str]:
        fn, frame = self.fn, self.frame
        header = []
        if fn.is_global:
            header.append(f"        .global {fn.name}")
        header += [f"        .type {fn.name}, @function", f"{fn.name}:"]
        self.lines = header
        self._move_sp(-frame.size, "t0")
        for reg, offset in frame.saved:
            self.out(f"sw    {reg}, {self._sp_relative(offset, 't1')}")
        if frame.varargs_offset is not None:
            for k, reg in enumerate(ARG_REGS):
                where = self._sp_relative(frame.varargs_offset + 4 * k, "t1")
                self.out(f"sw    {reg}, {where}")
        code = fn.code
        for n, instr in enumerate(code):
            if _falls_through_to(code, n):
                continue
            getattr(self, "emit_" + type(instr).__name__)(instr)
        self.lines.append(f"{self.epilogue}:")
        for reg, offset in frame.saved:
            self.out(f"lw    {reg}, {self._sp_relative(offset, 't1')}")
        self._move_sp(frame.size, "t1")
        self.out("ret")
        self.out(f".size {fn.name}, . - {fn.name}")
        return self.lines


def _falls_through_to(code: list[ir.Instr], n: int) -> bool:
    """A jump (or the final `ret` path's jump) to the label right after it."""
    instr = code[n]
    if isinstance(instr, ir.Jump):
        k = n + 1
        while k < len(code) and isinstance(code[k], ir.Label):
            if code[k].name == instr.target:
                return True
            k += 1
    return False


def _sym(name: str, offset: int) -> str:
    return name if offset == 0 else f"{name} + {offset}" if offset > 0 else \
        f"{name} - {-offset}"


def emit_function(fn: ir.Function, locations: dict[int, Location], frame: Frame,
                  unit) -> str:
    """The assembly text of one allocated function."""
    emitter = Emitter(fn, locations, frame, unit)
    lines = emitter.run()
    # The last Ret jumps to the epilogue that follows it: drop that jump.
    for k in range(len(lines) - 1, -1, -1):
        if lines[k].startswith(emitter.epilogue):
            if k > 0 and lines[k - 1].strip() == f"j     {emitter.epilogue}":
                del lines[k - 1]
            break
    return "\n".join(["        .text", *lines, ""])
