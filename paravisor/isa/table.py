"""PV32: the instruction set, as one table.

This module is the single source of truth for the ISA (docs/design.md, 'Fixed
decisions' 1).  The assembler, the disassembler, the reference interpreter, the JIT and
docs/isa.md all derive from `INSTRUCTIONS`; no other opcode list exists.  The
interpreter's semantics live in `paravisor.isa.semantics` as one `execute_<mnemonic>`
function per entry, and a test checks that every entry has one.

Encoding (little-endian 32-bit words; bits not used by a format must be zero):

    31            16 15  12 11   8 7      0
    [    imm16      ][ rs1 ][ rd  ][ opcode ]   I
    [    imm16      ][ rs1 ][ rs2 ][ opcode ]   S  (stores: rs2 is the value)
    [    imm16      ][ rs2 ][ rs1 ][ opcode ]   B  (imm16: signed word offset)
    [ 0 ][ rs2 ][ rs1 ][ rd  ][ opcode ]        R  (bits 31..20 zero)
    [        imm20        ][ rd  ][ opcode ]    U / J  (J: signed word offset)
    [         0                 ][ opcode ]     N

Opcode 0x00 is never assigned, so executing zeroed memory raises #UD.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

WORD_MASK = 0xFFFF_FFFF
PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = PAGE_SIZE - 1


# --- Registers -------------------------------------------------------------------

NUM_REGS = 16

# ABI names, index = register number.  The calling convention (docs/isa.md):
# a0-a5 carry arguments, a0/a1 results; t0-t2 are scratch (t0 carries the hypercall
# number for `hcall`); s0-s3 are preserved across calls (s3 doubles as frame pointer).
REG_NAMES = (
    "zero", "ra", "sp", "a0", "a1", "a2", "a3", "a4",
    "a5", "t0", "t1", "t2", "s0", "s1", "s2", "s3",
)
REG_ALIASES = {"fp": 15}

CALLER_SAVED = ("ra", "a0", "a1", "a2", "a3", "a4", "a5", "t0", "t1", "t2")
CALLEE_SAVED = ("sp", "s0", "s1", "s2", "s3")
HYPERCALL_NR_REG = 9   # t0
HYPERCALL_ARG_REGS = (3, 4, 5, 6, 7, 8)   # a0..a5
HYPERCALL_RESULT_REG = 3   # a0


def register_number(name: str) -> int | None:
    """Number of register `name` (r7, a0, sp, fp ...), or None if it names none."""
    name = name.lower()
    if name in REG_ALIASES:
        return REG_ALIASES[name]
    if name in REG_NAMES:
        return REG_NAMES.index(name)
    if name.startswith("r") and name[1:].isdigit():
        n = int(name[1:])
        if 0 <= n < NUM_REGS and name[1:] == str(n):
            return n
    return None


# --- Rings, control registers, traps ----------------------------------------------

class Ring(IntEnum):
    HYPERVISOR = 0   # no guest code runs here under paravisor; bare-metal tests use it
    KERNEL = 1       # a PV guest kernel
    USER = 3         # guest user space


class Privilege(IntEnum):
    """Which rings may execute an instruction; elsewhere it raises #GP."""
    USER = 3         # every ring
    KERNEL = 1       # rings 0 and 1 (hcall: guest kernels call the hypervisor)
    PRIVILEGED = 0   # ring 0 only: every sensitive instruction (Popek and Goldberg)


class CR(IntEnum):
    """Control registers, reached only by the privileged mfcr/mtcr."""
    STATUS = 0    # see STATUS_* bits
    PTBR = 1      # machine address of the L2 page table (4 KiB aligned)
    TVEC = 2      # bare-metal trap entry point (virtual address)
    EPC = 3       # pc saved by the last trap
    CAUSE = 4     # vector of the last trap
    FADDR = 5     # fault address of the last #PF/#AC/#GP on memory (x86's cr2)
    ERRCODE = 6   # error code of the last trap (see PF_*)
    SCRATCH = 7   # free for the trap handler
    TIMECMP = 8   # bare-metal timer: interrupt when INSTRET reaches it (0 = off)
    INSTRET = 9   # retired instructions, low 32 bits (read-only)


NUM_CRS = len(CR)

STATUS_IE = 1 << 0      # interrupts enabled (bare metal only; PV guests use upcall_mask)
STATUS_PIE = 1 << 1     # IE before the last trap
STATUS_PRING_SHIFT = 2  # bits 3..2: ring before the last trap
STATUS_PRING_MASK = 3 << STATUS_PRING_SHIFT
STATUS_RING_SHIFT = 4   # bits 5..4: current ring (read-only)
STATUS_RING_MASK = 3 << STATUS_RING_SHIFT
STATUS_PG = 1 << 7      # paging enabled
STATUS_WRITABLE = STATUS_IE | STATUS_PIE | STATUS_PRING_MASK | STATUS_PG


class Vector(IntEnum):
    """Trap vectors; the numbers are x86's so that Xen's trap tables read naturally."""
    DIVIDE_ERROR = 0       # #DE: div/divu/rem/remu by zero (fault)
    BREAKPOINT = 3         # #BP: `break` (trap: pc is the next instruction)
    INVALID_OPCODE = 6     # #UD: unassigned opcode or non-zero reserved bits (fault)
    GENERAL_PROTECTION = 13  # #GP: privileged instruction in too high a ring,
                           # access to a non-existent machine address (fault)
    PAGE_FAULT = 14        # #PF: translation or permission failure (fault)
    ALIGNMENT_CHECK = 17   # #AC: misaligned data access or pc (fault)
    TIMER = 32             # bare-metal timer interrupt
    SYSCALL = 0x80         # `syscall` (trap: pc is the next instruction)


# Vectors after which the trapping instruction has retired and pc is the next one.
TRAP_VECTORS = frozenset({Vector.BREAKPOINT, Vector.SYSCALL})

# #PF error code bits (x86's layout).
PF_PROT = 1 << 0    # 1: permission violation; 0: page not present
PF_WRITE = 1 << 1   # the access was a write
PF_USER = 1 << 2    # the access came from ring 3
PF_FETCH = 1 << 4   # the access was an instruction fetch


# --- Paging -----------------------------------------------------------------------
# Two levels: va[31:22] indexes the L2 table (page directory), va[21:12] the L1 table.
# Entries hold a machine frame number in bits 31..12 and x86's flag bits.

PTE_P = 1 << 0   # present
PTE_W = 1 << 1   # writable (enforced in every ring)
PTE_U = 1 << 2   # user: ring 3 may access
PTE_A = 1 << 5   # accessed: set by the MMU on every walk through the entry
PTE_D = 1 << 6   # dirty: set by the MMU on a write through an L1 entry
PTE_FLAGS = PTE_P | PTE_W | PTE_U | PTE_A | PTE_D
PTE_FRAME_SHIFT = PAGE_SHIFT
ENTRIES_PER_TABLE = 1024


def l2_index(va: int) -> int:
    return (va >> 22) & 0x3FF


def l1_index(va: int) -> int:
    return (va >> 12) & 0x3FF


def pte_frame(pte: int) -> int:
    return pte >> PTE_FRAME_SHIFT


def make_pte(mfn: int, flags: int) -> int:
    return ((mfn << PTE_FRAME_SHIFT) | flags) & WORD_MASK


# --- Formats ----------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """A bit field of an instruction word: `width` bits starting at bit `lo`."""
    lo: int
    width: int
    signed: bool = False

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lo

    def extract(self, word: int) -> int:
        value = (word >> self.lo) & ((1 << self.width) - 1)
        if self.signed and value >> (self.width - 1):
            value -= 1 << self.width
        return value

    def insert(self, value: int) -> int:
        return (value & ((1 << self.width) - 1)) << self.lo


OPCODE = Field(0, 8)


@dataclass(frozen=True)
class Format:
    name: str
    fields: dict[str, Field]

    @property
    def used_mask(self) -> int:
        mask = OPCODE.mask
        for f in self.fields.values():
            mask |= f.mask
        return mask


_REG_LO = Field(8, 4)
_REG_MID = Field(12, 4)
_REG_HI = Field(16, 4)
_IMM16 = Field(16, 16, signed=True)

FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("R", {"rd": _REG_LO, "rs1": _REG_MID, "rs2": _REG_HI}),
    Format("I", {"rd": _REG_LO, "rs1": _REG_MID, "imm": _IMM16}),
    Format("S", {"rs2": _REG_LO, "rs1": _REG_MID, "imm": _IMM16}),
    Format("B", {"rs1": _REG_LO, "rs2": _REG_MID, "imm": _IMM16}),
    Format("U", {"rd": _REG_LO, "imm": Field(12, 20)}),
    Format("J", {"rd": _REG_LO, "imm": Field(12, 20, signed=True)}),
    Format("N", {}),
)}


class Imm(IntEnum):
    """How an instruction reads its immediate field."""
    NONE = 0
    SIGNED16 = 1    # -32768..32767, sign-extended
    UNSIGNED16 = 2  # 0..65535, zero-extended (andi, ori, xori)
    SHAMT = 3       # 0..31
    CR = 4          # a control register number
    BRANCH16 = 5    # signed word offset from the instruction: target = pc + 4*imm
    UPPER20 = 6     # 0..0xFFFFF, placed in bits 31..12
    JUMP20 = 7      # signed word offset from the instruction: target = pc + 4*imm


# The legal range of each kind's *encoded* field value.
IMM_RANGES: dict[Imm, tuple[int, int]] = {
    Imm.SIGNED16: (-0x8000, 0x7FFF),
    Imm.UNSIGNED16: (0, 0xFFFF),
    Imm.SHAMT: (0, 31),
    Imm.CR: (0, NUM_CRS - 1),
    Imm.BRANCH16: (-0x8000, 0x7FFF),
    Imm.UPPER20: (0, 0xFFFFF),
    Imm.JUMP20: (-0x80000, 0x7FFFF),
}


class Kind(IntEnum):
    """Instruction classes: what ends a basic block, what touches memory."""
    ALU = 0
    LOAD = 1
    STORE = 2
    BRANCH = 3
    JUMP = 4
    ATOMIC = 5
    SYSTEM = 6       # leaves the engine (hcall, syscall, break, halt, rfe) or orders (fence)
    CONTROL = 7      # privileged control-register and TLB instructions


@dataclass(frozen=True)
class Instruction:
    """One row of the ISA table.

    `syntax` is the assembly operand template: operand names are the format's field
    names (rd, rs1, rs2), `imm` for the immediate, `target` for a pc-relative target
    and `cr` for a control register; `imm(rs1)` is a memory operand.
    """
    mnemonic: str
    opcode: int
    fmt: str
    syntax: str
    imm: Imm
    privilege: Privilege
    kind: Kind
    semantics: str
    access_size: int = 0   # bytes read or written by loads, stores and atomics

    @property
    def format(self) -> Format:
        return FORMATS[self.fmt]

    @property
    def ends_block(self) -> bool:
        """Whether control may continue anywhere but the next instruction."""
        return self.kind in (Kind.BRANCH, Kind.JUMP, Kind.SYSTEM) and self.mnemonic != "fence"


def _rows() -> list[Instruction]:
    U, K, P = Privilege.USER, Privilege.KERNEL, Privilege.PRIVILEGED
    rows: list[Instruction] = []

    def add(mn, op, fmt, syntax, imm, priv, kind, sem, size=0):
        rows.append(Instruction(mn, op, fmt, syntax, imm, priv, kind, sem, size))

    rrr = "rd, rs1, rs2"
    add("add", 0x01, "R", rrr, Imm.NONE, U, Kind.ALU, "rd = rs1 + rs2")
    add("sub", 0x02, "R", rrr, Imm.NONE, U, Kind.ALU, "rd = rs1 - rs2")
    add("and", 0x03, "R", rrr, Imm.NONE, U, Kind.ALU, "rd = rs1 & rs2")
    add("or", 0x04, "R", rrr, Imm.NONE, U, Kind.ALU, "rd = rs1 | rs2")
    add("xor", 0x05, "R", rrr, Imm.NONE, U, Kind.ALU, "rd = rs1 ^ rs2")
    add("sll", 0x06, "R", rrr, Imm.NONE, U, Kind.ALU, "rd = rs1 << (rs2 & 31)")
    add("srl", 0x07, "R", rrr, Imm.NONE, U, Kind.ALU, "rd = rs1 >> (rs2 & 31), zero-filling")
    add("sra", 0x08, "R", rrr, Imm.NONE, U, Kind.ALU, "rd = rs1 >> (rs2 & 31), sign-filling")
    add("slt", 0x09, "R", rrr, Imm.NONE, U, Kind.ALU, "rd = 1 if rs1 < rs2 (signed) else 0")
    add("sltu", 0x0A, "R", rrr, Imm.NONE, U, Kind.ALU, "rd = 1 if rs1 < rs2 (unsigned) else 0")
    add("mul", 0x0B, "R", rrr, Imm.NONE, U, Kind.ALU, "rd = low 32 bits of rs1 * rs2")
    add("mulh", 0x0C, "R", rrr, Imm.NONE, U, Kind.ALU,
        "rd = high 32 bits of rs1 * rs2 (both signed)")
    add("mulhu", 0x0D, "R", rrr, Imm.NONE, U, Kind.ALU,
        "rd = high 32 bits of rs1 * rs2 (both unsigned)")
    add("div", 0x0E, "R", rrr, Imm.NONE, U, Kind.ALU,
        "rd = rs1 / rs2 (signed, truncating); #DE if rs2 = 0; INT_MIN / -1 = INT_MIN")
    add("divu", 0x0F, "R", rrr, Imm.NONE, U, Kind.ALU,
        "rd = rs1 / rs2 (unsigned); #DE if rs2 = 0")
    add("rem", 0x10, "R", rrr, Imm.NONE, U, Kind.ALU,
        "rd = rs1 % rs2 (signed, sign of rs1); #DE if rs2 = 0; INT_MIN % -1 = 0")
    add("remu", 0x11, "R", rrr, Imm.NONE, U, Kind.ALU,
        "rd = rs1 % rs2 (unsigned); #DE if rs2 = 0")

    rri = "rd, rs1, imm"
    add("addi", 0x20, "I", rri, Imm.SIGNED16, U, Kind.ALU, "rd = rs1 + sext(imm)")
    add("andi", 0x21, "I", rri, Imm.UNSIGNED16, U, Kind.ALU, "rd = rs1 & zext(imm)")
    add("ori", 0x22, "I", rri, Imm.UNSIGNED16, U, Kind.ALU, "rd = rs1 | zext(imm)")
    add("xori", 0x23, "I", rri, Imm.UNSIGNED16, U, Kind.ALU, "rd = rs1 ^ zext(imm)")
    add("slli", 0x24, "I", rri, Imm.SHAMT, U, Kind.ALU, "rd = rs1 << imm")
    add("srli", 0x25, "I", rri, Imm.SHAMT, U, Kind.ALU, "rd = rs1 >> imm, zero-filling")
    add("srai", 0x26, "I", rri, Imm.SHAMT, U, Kind.ALU, "rd = rs1 >> imm, sign-filling")
    add("slti", 0x27, "I", rri, Imm.SIGNED16, U, Kind.ALU,
        "rd = 1 if rs1 < sext(imm) (signed) else 0")
    add("sltiu", 0x28, "I", rri, Imm.SIGNED16, U, Kind.ALU,
        "rd = 1 if rs1 < sext(imm) (unsigned compare) else 0")
    add("lui", 0x29, "U", "rd, imm", Imm.UPPER20, U, Kind.ALU, "rd = imm << 12")
    add("auipc", 0x2A, "U", "rd, imm", Imm.UPPER20, U, Kind.ALU, "rd = pc + (imm << 12)")

    load, store = "rd, imm(rs1)", "rs2, imm(rs1)"
    add("lb", 0x30, "I", load, Imm.SIGNED16, U, Kind.LOAD,
        "rd = sext(mem8[rs1 + sext(imm)])", 1)
    add("lbu", 0x31, "I", load, Imm.SIGNED16, U, Kind.LOAD,
        "rd = zext(mem8[rs1 + sext(imm)])", 1)
    add("lh", 0x32, "I", load, Imm.SIGNED16, U, Kind.LOAD,
        "rd = sext(mem16[rs1 + sext(imm)]); #AC if misaligned", 2)
    add("lhu", 0x33, "I", load, Imm.SIGNED16, U, Kind.LOAD,
        "rd = zext(mem16[rs1 + sext(imm)]); #AC if misaligned", 2)
    add("lw", 0x34, "I", load, Imm.SIGNED16, U, Kind.LOAD,
        "rd = mem32[rs1 + sext(imm)]; #AC if misaligned", 4)
    add("sb", 0x38, "S", store, Imm.SIGNED16, U, Kind.STORE,
        "mem8[rs1 + sext(imm)] = rs2 & 0xff", 1)
    add("sh", 0x39, "S", store, Imm.SIGNED16, U, Kind.STORE,
        "mem16[rs1 + sext(imm)] = rs2 & 0xffff; #AC if misaligned", 2)
    add("sw", 0x3A, "S", store, Imm.SIGNED16, U, Kind.STORE,
        "mem32[rs1 + sext(imm)] = rs2; #AC if misaligned", 4)

    br = "rs1, rs2, target"
    add("beq", 0x40, "B", br, Imm.BRANCH16, U, Kind.BRANCH, "if rs1 == rs2: pc = target")
    add("bne", 0x41, "B", br, Imm.BRANCH16, U, Kind.BRANCH, "if rs1 != rs2: pc = target")
    add("blt", 0x42, "B", br, Imm.BRANCH16, U, Kind.BRANCH,
        "if rs1 < rs2 (signed): pc = target")
    add("bge", 0x43, "B", br, Imm.BRANCH16, U, Kind.BRANCH,
        "if rs1 >= rs2 (signed): pc = target")
    add("bltu", 0x44, "B", br, Imm.BRANCH16, U, Kind.BRANCH,
        "if rs1 < rs2 (unsigned): pc = target")
    add("bgeu", 0x45, "B", br, Imm.BRANCH16, U, Kind.BRANCH,
        "if rs1 >= rs2 (unsigned): pc = target")
    add("jal", 0x48, "J", "rd, target", Imm.JUMP20, U, Kind.JUMP,
        "rd = pc + 4; pc = target")
    add("jalr", 0x49, "I", "rd, imm(rs1)", Imm.SIGNED16, U, Kind.JUMP,
        "t = rs1 + sext(imm); rd = pc + 4; pc = t (#AC at the target if t % 4 != 0)")

    amo = "rd, rs2, (rs1)"
    add("cas", 0x50, "R", amo, Imm.NONE, U, Kind.ATOMIC,
        "atomically: old = mem32[rs1]; if old == rd: mem32[rs1] = rs2; rd = old "
        "(always a write access; #AC if misaligned)", 4)
    add("amoadd", 0x51, "R", amo, Imm.NONE, U, Kind.ATOMIC,
        "atomically: old = mem32[rs1]; mem32[rs1] = old + rs2; rd = old", 4)
    add("amoswap", 0x52, "R", amo, Imm.NONE, U, Kind.ATOMIC,
        "atomically: old = mem32[rs1]; mem32[rs1] = rs2; rd = old", 4)
    add("fence", 0x53, "N", "", Imm.NONE, U, Kind.ATOMIC,
        "orders all earlier memory accesses before all later ones")

    add("hcall", 0x60, "N", "", Imm.NONE, K, Kind.SYSTEM,
        "hypercall: number in t0, arguments in a0..a5, result in a0; exits to the hypervisor")
    add("syscall", 0x61, "N", "", Imm.NONE, U, Kind.SYSTEM,
        "trap to vector 0x80 (SYSCALL); pc of the trap is the next instruction")
    add("break", 0x62, "N", "", Imm.NONE, U, Kind.SYSTEM,
        "trap to vector 3 (#BP); pc of the trap is the next instruction")

    add("mfcr", 0x70, "I", "rd, cr", Imm.CR, P, Kind.CONTROL, "rd = cr")
    add("mtcr", 0x71, "I", "cr, rs1", Imm.CR, P, Kind.CONTROL,
        "cr = rs1 (STATUS keeps its read-only bits; INSTRET is read-only; "
        "PTBR and STATUS.PG flush the TLB)")
    add("halt", 0x72, "N", "", Imm.NONE, P, Kind.SYSTEM, "stop this CPU")
    add("tlbflush", 0x73, "N", "", Imm.NONE, P, Kind.CONTROL, "drop every cached translation")
    add("invlpg", 0x74, "I", "rs1", Imm.NONE, P, Kind.CONTROL,
        "drop the cached translation of the page holding address rs1")
    add("rfe", 0x75, "N", "", Imm.NONE, P, Kind.SYSTEM,
        "return from trap: pc = EPC; ring = STATUS.PRING; IE = STATUS.PIE")
    return rows


INSTRUCTIONS: tuple[Instruction, ...] = tuple(_rows())
BY_MNEMONIC: dict[str, Instruction] = {i.mnemonic: i for i in INSTRUCTIONS}
BY_OPCODE: dict[int, Instruction] = {i.opcode: i for i in INSTRUCTIONS}


# --- Encoding and decoding ----------------------------------------------------------

class EncodingError(ValueError):
    """An operand does not fit its field."""


def operand_fields(insn: Instruction) -> tuple[str, ...]:
    """Names of the fields that `insn` actually uses, in encoding order."""
    names = [n for n in insn.format.fields if n != "imm" or insn.imm != Imm.NONE]
    # Formats whose syntax leaves a register field out keep it zero (e.g. mfcr has no rs1).
    return tuple(n for n in names if n == "imm" or n in insn.syntax)


def encode(mnemonic: str, **operands: int) -> int:
    """Encode one instruction.  Operands are named after the format's fields
    (rd, rs1, rs2, imm); `imm` is the encoded field value (a word offset for
    branches and jumps).  Raises EncodingError if a value does not fit."""
    insn = BY_MNEMONIC[mnemonic]
    expected = set(operand_fields(insn))
    if set(operands) != expected:
        raise EncodingError(
            f"{mnemonic} takes operands {sorted(expected)}, got {sorted(operands)}")
    word = OPCODE.insert(insn.opcode)
    for name, value in operands.items():
        field = insn.format.fields[name]
        if name == "imm":
            lo, hi = IMM_RANGES[insn.imm]
            if not lo <= value <= hi:
                raise EncodingError(f"{mnemonic}: immediate {value} out of range {lo}..{hi}")
            if insn.imm == Imm.UNSIGNED16 or insn.imm == Imm.SHAMT or insn.imm == Imm.CR:
                value &= 0xFFFF
        elif not 0 <= value < NUM_REGS:
            raise EncodingError(f"{mnemonic}: register r{value} does not exist")
        word |= field.insert(value)
    return word


@dataclass(frozen=True)
class Decoded:
    """A decoded instruction word; the immediate is already interpreted per `insn.imm`."""
    insn: Instruction
    rd: int = 0
    rs1: int = 0
    rs2: int = 0
    imm: int = 0

    @property
    def mnemonic(self) -> str:
        return self.insn.mnemonic

    def operands(self) -> dict[str, int]:
        return {n: getattr(self, n) for n in operand_fields(self.insn)}


def decode(word: int) -> Decoded | None:
    """Decode a 32-bit word, or None if it is not a valid PV32 instruction
    (unassigned opcode, non-zero unused bits, or an immediate out of range)."""
    insn = BY_OPCODE.get(word & 0xFF)
    if insn is None:
        return None
    fmt = insn.format
    names = operand_fields(insn)
    used = OPCODE.mask
    for n in names:
        used |= fmt.fields[n].mask
    if word & ~used & WORD_MASK:
        return None
    values = {}
    for n in names:
        field = fmt.fields[n]
        value = field.extract(word)
        if n == "imm" and insn.imm in (Imm.UNSIGNED16, Imm.SHAMT, Imm.CR):
            value &= 0xFFFF
            lo, hi = IMM_RANGES[insn.imm]
            if not lo <= value <= hi:
                return None
        values[n] = value
    return Decoded(insn, **values)
