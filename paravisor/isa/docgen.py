"""Generate the reference part of docs/isa.md from the ISA table.

`reference_markdown()` renders everything that the table already knows (encoding
formats, every instruction and its bit pattern, registers, control registers, trap
vectors, page-table and error-code bits) so that the manual cannot drift from the
table.  What the table does not say, a one-line human description, lives here in dicts
keyed by the table's own enum members or constant names; tests/isa_doc checks that
every member has one, so adding a control register or a vector forces a doc line.

The generated text sits in docs/isa.md between `BEGIN_MARKER` and `END_MARKER`;
everything outside the markers is written by hand.  Keep it current with

    python -m paravisor.isa.docgen --write docs/isa.md    (rewrite the region)
    python -m paravisor.isa.docgen --check docs/isa.md    (exit 1 if it is stale)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from paravisor.errors import UserError
from paravisor.isa import table
from paravisor.isa.table import (
    CALLEE_SAVED,
    CALLER_SAVED,
    CR,
    ENTRIES_PER_TABLE,
    FORMATS,
    HYPERCALL_ARG_REGS,
    HYPERCALL_NR_REG,
    HYPERCALL_RESULT_REG,
    IMM_RANGES,
    INSTRUCTIONS,
    OPCODE,
    PAGE_SHIFT,
    PTE_FRAME_SHIFT,
    REG_ALIASES,
    REG_NAMES,
    TRAP_VECTORS,
    Imm,
    Instruction,
    Kind,
    Privilege,
    Ring,
    Vector,
    encode,
    operand_fields,
)

BEGIN_MARKER = "<!-- BEGIN GENERATED: isa reference -->"
END_MARKER = "<!-- END GENERATED -->"
REGENERATE_COMMAND = "python -m paravisor.isa.docgen --write docs/isa.md"

WORD_BITS = 32
COLUMNS_PER_BIT = 2   # a bit diagram gives every bit two columns, so 1-bit fields fit a letter


# --- Human descriptions the table does not carry ---------------------------------------

CR_DESCRIPTIONS: dict[CR, str] = {
    CR.STATUS: "Processor status: interrupt enable, previous ring, current ring (read-only "
               "bits), paging enable. See the STATUS layout below.",
    CR.PTBR: "Page-table base: machine address of the L2 table. It is frame aligned: "
             "its low 12 bits read as 0. Writing it switches address space.",
    CR.TVEC: "Bare-metal trap entry point (a virtual address); 0 means no handler.",
    CR.EPC: "Exception pc: where the last trap was taken; `rfe` returns there.",
    CR.CAUSE: "Vector number of the last trap.",
    CR.FADDR: "Faulting address of the last #PF, #AC or memory #GP (x86's CR2).",
    CR.ERRCODE: "Error code of the last trap (PF_* bits for #PF, otherwise 0).",
    CR.SCRATCH: "Free for the trap handler, e.g. to stash a stack pointer.",
    CR.TIMECMP: "Bare-metal timer: interrupt (vector 32) when INSTRET reaches this value; "
                "0 turns the timer off.",
    CR.INSTRET: "Retired-instruction counter, low 32 bits. Read-only: `mtcr` ignores it.",
}

# Bits and fields of CR.STATUS, by the table constant that defines their mask.
STATUS_FIELD_DESCRIPTIONS: dict[str, str] = {
    "STATUS_IE": "Interrupts enabled (bare metal only; PV guests mask events in shared_info).",
    "STATUS_PIE": "IE as it was before the last trap; `rfe` copies it back to IE.",
    "STATUS_PRING_MASK": "Ring before the last trap; `rfe` returns to it.",
    "STATUS_RING_MASK": "Current ring. Read-only: `mtcr` keeps these bits.",
    "STATUS_PG": "Paging enabled: addresses are translated through PTBR.",
}

VECTOR_DESCRIPTIONS: dict[Vector, tuple[str, str]] = {
    Vector.DIVIDE_ERROR: ("#DE", "`div`, `divu`, `rem` or `remu` by zero."),
    Vector.BREAKPOINT: ("#BP", "`break`."),
    Vector.INVALID_OPCODE: ("#UD", "An unassigned opcode, non-zero unused bits, or an "
                                   "immediate out of its range (e.g. CR 12)."),
    Vector.GENERAL_PROTECTION: ("#GP", "An instruction above its ring's privilege; a "
                                       "machine address that is not installed."),
    Vector.PAGE_FAULT: ("#PF", "A translation that is not present or not permitted."),
    Vector.ALIGNMENT_CHECK: ("#AC", "A misaligned data access, or fetch from a pc that is "
                                    "not a multiple of 4."),
    Vector.TIMER: ("timer", "Bare metal: INSTRET reached TIMECMP with STATUS.IE set."),
    Vector.SYSCALL: ("syscall", "`syscall` (Linux's `int $0x80` vector)."),
}

# Vectors raised between instructions rather than by one; the table only separates
# faults from traps (TRAP_VECTORS), so interrupts are named here.
INTERRUPT_VECTORS = frozenset({Vector.TIMER})

PTE_BIT_DESCRIPTIONS: dict[str, str] = {
    "PTE_P": "Present. Clear: every other bit is ignored and an access raises #PF.",
    "PTE_W": "Writable. Needed in both levels for any write, in every ring.",
    "PTE_U": "User. Needed in both levels for any access from ring 3.",
    "PTE_A": "Accessed. Set by the MMU in both levels on every successful walk.",
    "PTE_D": "Dirty. Set by the MMU in the L1 entry on a successful write.",
}

PF_BIT_DESCRIPTIONS: dict[str, str] = {
    "PF_PROT": "1: the failing entry was present (permission violation); 0: not present.",
    "PF_WRITE": "The access was a write (a store or any atomic).",
    "PF_USER": "The access came from ring 3.",
    "PF_FETCH": "The access was an instruction fetch.",
}

PRIVILEGE_DESCRIPTIONS: dict[Privilege, str] = {
    Privilege.USER: "Unprivileged: any ring may execute it.",
    Privilege.KERNEL: "Kernel: rings 0 and 1; ring 3 gets #GP.",
    Privilege.PRIVILEGED: "Privileged: ring 0 only; rings 1 and 3 get #GP. Every "
                          "sensitive instruction is here (Popek and Goldberg).",
}

RING_DESCRIPTIONS: dict[Ring, str] = {
    Ring.HYPERVISOR: "The hypervisor (or a bare-metal program); no guest code runs here.",
    Ring.KERNEL: "A paravirtualized guest kernel: unprivileged instructions plus `hcall`.",
    Ring.USER: "Guest user space: unprivileged instructions on PTE_U pages only.",
}

IMM_DESCRIPTIONS: dict[Imm, str] = {
    Imm.NONE: "No immediate: the field must be zero.",
    Imm.SIGNED16: "Sign-extended to 32 bits.",
    Imm.UNSIGNED16: "Zero-extended to 32 bits (`andi`, `ori`, `xori`).",
    Imm.SHAMT: "A shift amount; larger values do not decode (#UD).",
    Imm.CR: "A control-register number (see Control registers).",
    Imm.BRANCH16: "Signed word offset: target = pc + 4 * imm.",
    Imm.UPPER20: "Placed in bits 31..12 of the result.",
    Imm.JUMP20: "Signed word offset: target = pc + 4 * imm.",
}

REGISTER_ROLES: dict[str, str] = {
    "zero": "Always reads 0; writes are dropped.",
    "ra": "Return address, written by `jal ra` (`call`).",
    "sp": "Stack pointer; the stack grows down, 8-byte aligned at calls.",
    "a0": "Argument 0, result 0; hypercall result.",
    "a1": "Argument 1, result 1.",
    "a2": "Argument 2.",
    "a3": "Argument 3.",
    "a4": "Argument 4.",
    "a5": "Argument 5.",
    "t0": "Scratch; hypercall number for `hcall`.",
    "t1": "Scratch.",
    "t2": "Scratch.",
    "s0": "Saved.",
    "s1": "Saved.",
    "s2": "Saved.",
    "s3": "Saved; frame pointer (`fp`) when one is used.",
}


@dataclass(frozen=True)
class InstructionGroup:
    """One section of the instruction reference: the table kinds it covers."""
    title: str
    kinds: tuple[Kind, ...]
    intro: str


GROUPS: tuple[InstructionGroup, ...] = (
    InstructionGroup("Arithmetic and logic", (Kind.ALU,),
                     "32-bit wrap-around arithmetic on registers. Writes to `zero` are "
                     "dropped. Division by zero raises #DE; nothing else in this group "
                     "can fault."),
    InstructionGroup("Loads and stores", (Kind.LOAD, Kind.STORE),
                     "The address is rs1 + sext(imm). Accesses must be naturally aligned "
                     "(#AC otherwise), so none crosses a page. A load into `zero` still "
                     "performs the access and can fault."),
    InstructionGroup("Branches and jumps", (Kind.BRANCH, Kind.JUMP),
                     "Offsets count words from the branch itself. `jalr` may jump to a "
                     "misaligned address; the fetch there raises #AC."),
    InstructionGroup("Atomics and fence", (Kind.ATOMIC,),
                     "Word-sized, word-aligned read-modify-writes, indivisible with "
                     "respect to every other CPU and to the hypervisor. Each is a write "
                     "access for paging, even a `cas` that does not store."),
    InstructionGroup("System", (Kind.SYSTEM,),
                     "Instructions that leave the running code: to the hypervisor "
                     "(`hcall`), to a trap handler (`syscall`, `break`), back from one "
                     "(`rfe`), or off (`halt`)."),
    InstructionGroup("Control registers and TLB (privileged)", (Kind.CONTROL,),
                     "Ring 0 only. A guest kernel in ring 1 gets #GP and must use a "
                     "hypercall instead."),
)


# --- Bit diagrams ------------------------------------------------------------------------

Segment = tuple[str, int, int]   # (label, lowest bit, width)


def _fill_gaps(fields: Sequence[Segment], gap_label: str,
               word_bits: int = WORD_BITS) -> list[Segment]:
    """`fields` sorted from the top bit down, with every uncovered run of bits labelled
    `gap_label`.  Raises ValueError if fields overlap or leave the word."""
    segments: list[Segment] = []
    next_hi = word_bits - 1
    for label, lo, width in sorted(fields, key=lambda f: -f[1]):
        hi = lo + width - 1
        if hi > next_hi or lo < 0 or width <= 0:
            raise ValueError(f"field {label} (bits {hi}..{lo}) overlaps or leaves the word")
        if hi < next_hi:
            segments.append((gap_label, hi + 1, next_hi - hi))
        segments.append((label, lo, width))
        next_hi = lo - 1
    if next_hi >= 0:
        segments.append((gap_label, 0, next_hi + 1))
    return segments


def _place(line: list[str], column: int, text: str) -> None:
    """Write `text` into `line` at `column` unless it would overwrite something."""
    span = range(column, column + len(text))
    if column >= 0 and span.stop <= len(line) and all(line[c] == " " for c in span):
        line[column:span.stop] = text


def bit_diagram(fields: Sequence[Segment], gap_label: str = "0", word_bits: int = WORD_BITS,
                columns_per_bit: int = COLUMNS_PER_BIT) -> str:
    """A boxed ASCII picture of the low `word_bits` bits of a word, top bit on the left.

    Line 1 numbers each segment's top and bottom bit, lines 2 and 4 are borders and
    line 3 holds the labels; a '+' in a border stands between two bits, every bit
    takes `columns_per_bit` columns.  Bits no field covers are labelled `gap_label`.
    """
    header = [" "] * (word_bits * columns_per_bit + 1)
    border, labels = "+", "|"
    for label, lo, width in _fill_gaps(fields, gap_label, word_bits):
        inner = width * columns_per_bit - 1
        if len(label) > inner:
            raise ValueError(f"label {label!r} does not fit in {width} bit(s)")
        start = len(border)   # first column inside this segment
        _place(header, start, str(lo + width - 1))
        if width > 1:
            _place(header, start + inner - len(str(lo)), str(lo))
        border += "-" * inner + "+"
        labels += label.center(inner) + "|"
    return "\n".join(["".join(header).rstrip(), border, labels, border])


def mask_field(mask: int) -> tuple[int, int]:
    """(lowest bit, width) of a contiguous bit mask; ValueError if it has holes."""
    if mask <= 0:
        raise ValueError("empty mask")
    lo = (mask & -mask).bit_length() - 1
    width = mask.bit_length() - lo
    if mask != ((1 << width) - 1) << lo:
        raise ValueError(f"mask {mask:#x} is not contiguous")
    return lo, width


def format_segments(name: str) -> list[Segment]:
    """The fields of format `name`, plus the opcode, as diagram segments."""
    fields = [(field_name, f.lo, f.width) for field_name, f in FORMATS[name].fields.items()]
    return [*fields, ("opcode", OPCODE.lo, OPCODE.width)]


def virtual_address_segments() -> list[Segment]:
    """How the MMU splits a virtual address (table.l2_index / l1_index)."""
    index_bits = ENTRIES_PER_TABLE.bit_length() - 1
    return [("L2 index", PAGE_SHIFT + index_bits, index_bits),
            ("L1 index", PAGE_SHIFT, index_bits),
            ("offset", 0, PAGE_SHIFT)]


def pte_segments() -> list[Segment]:
    """A page-table entry: the frame number and every PTE_* flag."""
    flags = [(name.removeprefix("PTE_"), *mask_field(getattr(table, name)))
             for name in PTE_BIT_DESCRIPTIONS]
    return [("machine frame number", PTE_FRAME_SHIFT, WORD_BITS - PTE_FRAME_SHIFT), *flags]


def status_segments() -> list[Segment]:
    """CR.STATUS, one segment per STATUS_* field."""
    return [(_status_label(name), *mask_field(getattr(table, name)))
            for name in STATUS_FIELD_DESCRIPTIONS]


def status_diagram_bits() -> int:
    """How many low bits of STATUS the diagram shows: whole bytes up to the top field
    (drawing all 32 would leave no room for the one-bit field names)."""
    top = max(getattr(table, name) for name in STATUS_FIELD_DESCRIPTIONS).bit_length()
    return -(-top // 8) * 8


def _status_label(constant: str) -> str:
    return constant.removeprefix("STATUS_").removesuffix("_MASK")


# --- Instruction encodings ---------------------------------------------------------------

def _binary(value: int, width: int) -> str:
    """`value` as `width` binary digits, grouped by four from the right with '_'."""
    digits = format(value, f"0{width}b")
    head = len(digits) % 4
    groups = ([digits[:head]] if head else []) + [
        digits[i:i + 4] for i in range(head, len(digits), 4)]
    return "_".join(groups)


def operand_label(insn: Instruction, field_name: str) -> str:
    """Name of a field in `insn`'s assembly syntax (the CR number lives in imm)."""
    return "cr" if field_name == "imm" and insn.imm == Imm.CR else field_name


_OPCODE_LABEL = "#opcode"   # a placeholder no operand can be named


def encoding_pattern(insn: Instruction) -> str:
    """`insn`'s 32-bit encoding, bit 31 first: operand fields as `name:width`, fixed
    bits (zeros the instruction does not use, then the opcode) as binary digits."""
    fields = [(operand_label(insn, n), insn.format.fields[n].lo, insn.format.fields[n].width)
              for n in operand_fields(insn)]
    fields.append((_OPCODE_LABEL, OPCODE.lo, OPCODE.width))
    tokens = []
    for label, _lo, width in _fill_gaps(fields, gap_label=""):
        if label == _OPCODE_LABEL:
            tokens.append(_binary(insn.opcode, width))
        elif label == "":
            tokens.append(_binary(0, width))
        else:
            tokens.append(f"{label}:{width}")
    return " ".join(tokens)


def syntax_of(insn: Instruction) -> str:
    """The assembly template of `insn`, e.g. `lw rd, imm(rs1)`."""
    return f"{insn.mnemonic} {insn.syntax}".strip()


def rings_allowed(privilege: Privilege) -> str:
    """The rings that may execute an instruction of this privilege, e.g. '0, 1, 3'."""
    return ", ".join(str(int(r)) for r in Ring if r <= privilege)


def _cell(text: str) -> str:
    """Table-cell text: a '|' would end the cell (GFM escapes it even in code)."""
    return text.replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --- Sections ----------------------------------------------------------------------------

def formats_section() -> str:
    """Bit diagrams of every format, an encoding example and the immediate kinds."""
    example = encode("addi", rd=REG_NAMES.index("a0"), rs1=0, imm=42)
    parts = ["### Encoding formats",
             "Every instruction is one little-endian 32-bit word; bits 7..0 are the "
             "opcode. Bits a format leaves to `0` must be zero, and so must the fields an "
             "instruction does not use (e.g. `rs1` of `mfcr`): any other word raises #UD. "
             "Opcode 0x00 is never assigned, so running zeroed memory raises #UD."]
    for name in FORMATS:
        parts.append(f"Format {name}:\n\n```\n{bit_diagram(format_segments(name))}\n```")
    parts.append(f"Example: `addi a0, zero, 42` encodes as `{example:#010x}` (rd = a0 = r3, "
                 f"rs1 = zero, imm = 42), stored as bytes "
                 f"`{' '.join(f'{b:02x}' for b in example.to_bytes(4, 'little'))}`.")
    rows = [(f"`{k.name}`", _range_text(k), IMM_DESCRIPTIONS[k]) for k in Imm]
    parts += ["How an instruction reads its `imm` field:",
              _table(("Immediate", "Encoded range", "Meaning"), rows)]
    return "\n\n".join(parts)


def _range_text(kind: Imm) -> str:
    if kind not in IMM_RANGES:
        return "-"
    lo, hi = IMM_RANGES[kind]
    return f"{lo} .. {hi}" if lo < 0 or hi < 0x100 else f"{lo:#x} .. {hi:#x}"


def summary_section() -> str:
    """One row per instruction, plus the privilege and ring legends."""
    rows = [(f"`{i.opcode:#04x}`", f"`{syntax_of(i)}`", i.fmt, rings_allowed(i.privilege),
             i.semantics) for i in INSTRUCTIONS]
    legend = [(rings_allowed(p), f"`{p.name}`", PRIVILEGE_DESCRIPTIONS[p]) for p in Privilege]
    rings = [(str(int(r)), f"`{r.name}`", RING_DESCRIPTIONS[r]) for r in Ring]
    return "\n\n".join([
        "### Instruction summary",
        "Operands: `rd` is written, `rs1`/`rs2` are read, `imm(rs1)` is a memory operand, "
        "`target` a pc-relative label and `cr` a control register by name or number. "
        "The Rings column lists where an instruction may run; elsewhere it raises #GP "
        "and has no effect.",
        _table(("Opcode", "Instruction", "Fmt", "Rings", "Semantics"), rows),
        _table(("Rings", "Privilege", "Meaning"), legend),
        _table(("Ring", "Name", "Who runs there"), rings)])


def group_sections() -> str:
    """One section per GROUPS entry, with each instruction's bit pattern."""
    parts = []
    for group in GROUPS:
        members = [i for i in INSTRUCTIONS if i.kind in group.kinds]
        with_size = any(i.access_size for i in members)
        header = ["Instruction", "Encoding (bit 31 first)", "Immediate"]
        header += ["Access"] if with_size else []
        rows = []
        for i in members:
            row = [f"`{syntax_of(i)}`", f"`{encoding_pattern(i)}`",
                   "-" if i.imm == Imm.NONE else f"`{i.imm.name}`"]
            if with_size:
                row.append(_bytes_text(i.access_size) if i.access_size else "-")
            rows.append(row)
        parts += [f"### {group.title}", group.intro, _table(header, rows)]
    return "\n\n".join(parts)


def _bytes_text(count: int) -> str:
    return f"{count} byte" + ("" if count == 1 else "s")


def registers_section() -> str:
    """The general registers: ABI names, roles and who preserves them."""
    aliases = {number: name for name, number in REG_ALIASES.items()}
    rows = []
    for number, name in enumerate(REG_NAMES):
        abi = f"`{name}`" + (f" (`{aliases[number]}`)" if number in aliases else "")
        rows.append((f"r{number}", abi, REGISTER_ROLES[name], _saver(name)))
    args = ", ".join(REG_NAMES[r] for r in HYPERCALL_ARG_REGS)
    return "\n\n".join([
        "### Registers",
        _table(("Register", "ABI name", "Role", "Across a call"), rows),
        f"`hcall` takes the hypercall number in `{REG_NAMES[HYPERCALL_NR_REG]}`, arguments "
        f"in {args} and returns its result in `{REG_NAMES[HYPERCALL_RESULT_REG]}`."])


def _saver(name: str) -> str:
    if name in CALLEE_SAVED:
        return "preserved (callee-saved)"
    if name in CALLER_SAVED:
        return "clobbered (caller-saved)"
    return "-"


def control_registers_section() -> str:
    """The CR enum with descriptions, and the STATUS layout."""
    rows = [(str(int(c)), f"`{c.name.lower()}`", CR_DESCRIPTIONS[c]) for c in CR]
    status_rows = [(_bits_text(*mask_field(getattr(table, name))), _status_label(name),
                    text) for name, text in STATUS_FIELD_DESCRIPTIONS.items()]
    return "\n\n".join([
        "### Control registers",
        "Reached only with `mfcr`/`mtcr` in ring 0. Assembly names them in lower case "
        "(`mfcr a0, ptbr`) or by number.",
        _table(("CR", "Name", "Meaning"), rows),
        f"STATUS, bits {status_diagram_bits() - 1}..0 (bits 31..{status_diagram_bits()} "
        "read as 0):"
        f"\n\n```\n{_status_diagram()}\n```",
        _table(("Bits", "Field", "Meaning"), status_rows)])


def _status_diagram() -> str:
    return bit_diagram(status_segments(), word_bits=status_diagram_bits(), columns_per_bit=6)


def _bits_text(lo: int, width: int) -> str:
    return str(lo) if width == 1 else f"{lo + width - 1}..{lo}"


def vector_class(vector: Vector) -> str:
    """'trap' (retired; pc is the next instruction), 'interrupt' or 'fault'."""
    if vector in TRAP_VECTORS:
        return "trap"
    return "interrupt" if vector in INTERRUPT_VECTORS else "fault"


def _vector_number(vector: Vector) -> str:
    number = int(vector)
    return str(number) if number < 0x20 else f"{number} ({number:#x})"


def vectors_section() -> str:
    """The Vector enum: short names, fault/trap/interrupt, causes."""
    rows = [(_vector_number(v), VECTOR_DESCRIPTIONS[v][0], f"`{v.name}`", vector_class(v),
             VECTOR_DESCRIPTIONS[v][1]) for v in Vector]
    return "\n\n".join([
        "### Trap vectors",
        "The numbers are x86's, so a Xen trap table reads naturally. A *fault* did not "
        "retire and reports the pc of the faulting instruction; a *trap* retired and "
        "reports the next pc; an *interrupt* arrives between two instructions.",
        _table(("Vector", "Short", "Name", "Class", "Raised by"), rows)])


def paging_section() -> str:
    """Virtual-address split, PTE layout and bits, #PF error-code bits."""
    pte_rows = [(_bits_text(*mask_field(getattr(table, n))), f"`{n}`", text)
                for n, text in PTE_BIT_DESCRIPTIONS.items()]
    pf_rows = [(_bits_text(*mask_field(getattr(table, n))), f"`{n}`", text)
               for n, text in PF_BIT_DESCRIPTIONS.items()]
    return "\n\n".join([
        "### Paging structures",
        f"A virtual address ({ENTRIES_PER_TABLE} entries per table, "
        f"{1 << PAGE_SHIFT}-byte pages):\n\n```\n{bit_diagram(virtual_address_segments())}"
        "\n```",
        "An L2 or L1 entry (`-`: ignored by the MMU):\n\n"
        f"```\n{bit_diagram(pte_segments(), gap_label='-')}\n```",
        _table(("Bit", "Name", "Meaning"), pte_rows),
        "The #PF error code (in ERRCODE, and in the Trap the engine reports; other "
        "bits are 0):",
        _table(("Bit", "Name", "Meaning"), pf_rows)])


def reference_markdown() -> str:
    """The generated reference chapter, from the ISA table alone (no markers)."""
    sections = [
        f"<!-- Generated from paravisor/isa/table.py: edit the table or "
        f"paravisor/isa/docgen.py, then run `{REGENERATE_COMMAND}`. -->",
        formats_section(), summary_section(), group_sections(), registers_section(),
        control_registers_section(), vectors_section(), paging_section()]
    return "\n\n".join(sections) + "\n"


# --- The generated region of docs/isa.md -------------------------------------------------

def generated_region(document: str) -> tuple[int, int]:
    """Start and end offsets of the text between the markers in `document`.
    Raises UserError if the markers are missing, repeated or out of order."""
    if document.count(BEGIN_MARKER) != 1 or document.count(END_MARKER) != 1:
        raise UserError(f"expected exactly one {BEGIN_MARKER!r} and one {END_MARKER!r}")
    start = document.index(BEGIN_MARKER) + len(BEGIN_MARKER)
    end = document.index(END_MARKER)
    if end < start:
        raise UserError(f"{END_MARKER!r} comes before {BEGIN_MARKER!r}")
    return start, end


def splice(document: str, generated: str) -> str:
    """`document` with its generated region replaced by `generated`."""
    start, end = generated_region(document)
    return document[:start] + "\n\n" + generated + "\n" + document[end:]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read {path}: {err}") from err


def run(args: argparse.Namespace) -> int:
    """Check or rewrite the generated region; 0 if it is (now) current, 1 if stale."""
    path = Path(args.check or args.write)
    document = _read(path)
    try:
        updated = splice(document, reference_markdown())
    except UserError as err:
        raise UserError(f"{path}: {err}") from err
    if args.check:
        if updated != document:
            print(f"{path}: the generated ISA reference is stale; run "
                  f"`{REGENERATE_COMMAND}`", file=sys.stderr)
            return 1
        return 0
    if updated != document:
        try:
            path.write_text(updated, encoding="utf-8")
        except OSError as err:
            raise UserError(f"cannot write {path}: {err}") from err
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m paravisor.isa.docgen",
        description="Check or regenerate the ISA reference region of docs/isa.md.")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", metavar="FILE", help="exit 1 if FILE's region is stale")
    mode.add_argument("--write", metavar="FILE", help="rewrite FILE's region")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except UserError as err:
        print(f"docgen: {err}", file=sys.stderr)
        return err.status


if __name__ == "__main__":
    sys.exit(main())
