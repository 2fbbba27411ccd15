"""The compiler's intermediate representation: one linear list of instructions per
function over an unbounded supply of 32-bit virtual registers.

Operands are `VReg`s or `int` immediates.  Memory operands are `Addr(base, offset)`
where base is a VReg, a `Slot` (a frame object, addressed from sp) or a symbol name.
Each instruction says which vregs it reads (`uses`) and writes (`defs`), which is all
the register allocator needs.  Lowering (lower_*.py) produces it; regalloc.py assigns
locations; emit.py turns it into PV32 assembly.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(eq=False)
class VReg:
    id: int

    def __repr__(self) -> str:
        return f"v{self.id}"


@dataclass(eq=False)
class Slot:
    """A frame object of `size` bytes (a local, a temporary, a spill); the frame
    layout gives it an sp-relative offset."""
    size: int
    align: int
    offset: int | None = None

    def __repr__(self) -> str:
        return f"slot{id(self) % 10000}[{self.size}]"


class EntrySP:
    """The value sp had on function entry: the caller's outgoing arguments start
    there and a variadic function's register-save area ends there."""

    def __repr__(self) -> str:
        return "entry_sp"


ENTRY_SP = EntrySP()
Value = VReg | int


@dataclass(frozen=True, eq=False)
class Addr:
    base: VReg | Slot | str | EntrySP
    offset: int = 0


def _vregs(*values: object) -> list[VReg]:
    out = []
    for v in values:
        if isinstance(v, VReg):
            out.append(v)
        elif isinstance(v, Addr) and isinstance(v.base, VReg):
            out.append(v.base)
    return out


class Instr:
    def uses(self) -> list[VReg]:
        return []

    def defs(self) -> list[VReg]:
        return []


@dataclass(eq=False)
class Mov(Instr):
    dst: VReg
    src: Value

    def uses(self) -> list[VReg]:
        return _vregs(self.src)

    def defs(self) -> list[VReg]:
        return [self.dst]


@dataclass(eq=False)
class LoadAddr(Instr):
    """dst = the address of `addr` (a symbol, a frame slot, or base + offset)."""
    dst: VReg
    addr: Addr

    def uses(self) -> list[VReg]:
        return _vregs(self.addr)

    def defs(self) -> list[VReg]:
        return [self.dst]


# ops: add sub mul mulh mulhu div divu rem remu and or xor sll srl sra slt sltu
@dataclass(eq=False)
class Bin(Instr):
    op: str
    dst: VReg
    a: Value
    b: Value

    def uses(self) -> list[VReg]:
        return _vregs(self.a, self.b)

    def defs(self) -> list[VReg]:
        return [self.dst]


@dataclass(eq=False)
class Load(Instr):
    dst: VReg
    addr: Addr
    size: int
    signed: bool

    def uses(self) -> list[VReg]:
        return _vregs(self.addr)

    def defs(self) -> list[VReg]:
        return [self.dst]


@dataclass(eq=False)
class Store(Instr):
    src: Value
    addr: Addr
    size: int

    def uses(self) -> list[VReg]:
        return _vregs(self.src, self.addr)


@dataclass(eq=False)
class Label(Instr):
    name: str


@dataclass(eq=False)
class Jump(Instr):
    target: str


@dataclass(eq=False)
class Branch(Instr):
    """if a <cond> b: goto target (cond: eq ne lt ge ltu geu), else fall through."""
    cond: str
    a: Value
    b: Value
    target: str

    def uses(self) -> list[VReg]:
        return _vregs(self.a, self.b)


@dataclass(eq=False)
class JumpTable(Instr):
    """goto targets[index]; index is already known to be in range."""
    index: VReg
    table: str
    targets: list[str]

    def uses(self) -> list[VReg]:
        return [self.index]


@dataclass(eq=False)
class Call(Instr):
    """dst = callee(args...); callee is a symbol or a vreg holding the address.
    Clobbers every caller-saved register."""
    dst: VReg | None
    callee: str | VReg
    args: list[Value]

    def uses(self) -> list[VReg]:
        return _vregs(self.callee, *self.args)

    def defs(self) -> list[VReg]:
        return [self.dst] if self.dst is not None else []


@dataclass(eq=False)
class Hcall(Instr):
    """dst = hypercall `number`(args...): t0 = number, a0..a5 = args, result in a0."""
    dst: VReg
    number: Value
    args: list[Value]

    def uses(self) -> list[VReg]:
        return _vregs(self.number, *self.args)

    def defs(self) -> list[VReg]:
        return [self.dst]


@dataclass(eq=False)
class Atomic(Instr):
    """cas: dst = old value at addr, storing b if it equalled a;
    amoadd / amoswap: dst = old value, storing old + a / a.  fence: no operands."""
    op: str
    dst: VReg | None
    addr: VReg | None
    a: Value = 0
    b: Value = 0

    def uses(self) -> list[VReg]:
        return _vregs(self.addr, self.a, self.b)

    def defs(self) -> list[VReg]:
        return [self.dst] if self.dst is not None else []


@dataclass(eq=False)
class Params(Instr):
    """Function entry: params[i] receives argument i (a0..a5, then the caller's
    stack).  Always the first instruction."""
    params: list[VReg]

    def defs(self) -> list[VReg]:
        return list(self.params)


@dataclass(eq=False)
class Ret(Instr):
    value: Value | None

    def uses(self) -> list[VReg]:
        return _vregs(self.value)


@dataclass(eq=False)
class Asm(Instr):
    """Verbatim assembly from an `__asm__` statement (no operands)."""
    text: str


@dataclass
class Function:
    name: str
    is_global: bool
    variadic: bool
    nparams_words: int
    code: list[Instr] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)
    nvregs: int = 0
    max_stack_args: int = 0
    has_calls: bool = False
    va_start_slot_users: bool = False

    def new_vreg(self) -> VReg:
        self.nvregs += 1
        return VReg(self.nvregs)

    def new_slot(self, size: int, align: int) -> Slot:
        slot = Slot(max(size, 1), max(align, 1))
        self.slots.append(slot)
        return slot
