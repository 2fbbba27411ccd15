"""The native per-vCPU state: guest registers, the software TLB and the jump cache.

Translated code receives one pointer, to a `NativeState`, laid out as:

    offset  field
    0       regs[16]   u32   guest registers (r0 stays 0)
    64      pc         u32   IN: where to start; OUT: where execution stopped
    68      aux        u32   OUT: for EXIT_STEP, the virtual address that missed (else pc)
    72      budget     i64   IN: instructions allowed; OUT: instructions still allowed
    80      ring       u32   IN: the current ring (for hcall's privilege check)
    88      tlb[TLB_ENTRIES]   {u32 read_tag, u32 write_tag, i64 addend}
    ...     jump[JUMP_ENTRIES] {u32 vpc, u32 pad, u64 code}

The TLB (QEMU's softmmu, in spirit) is direct-mapped on the virtual page number: a
slot whose read_tag (write_tag) equals va >> 12 may be read (written) at host address
va + addend.  Tags hold INVALID_TAG (never a page number) when empty.  It mirrors the
interpreter's `Mmu` of the same CPU and is never more permissive: a read entry exists
only while `mmu.rtlb` has the page, a write entry only while `mmu.wtlb` has it (so only
for frames nobody watches).  Everything else misses and leaves native code.

The jump cache maps a virtual pc to the address of the translated function that can
start there; an entry exists only while the fetch translation of that pc is valid (it
is cleared with the TLB), so native code may transfer through it without a walk.

Ownership: one NativeState per vCPU, touched by Python only while no native code runs
on that vCPU.
"""

from __future__ import annotations

import ctypes

from paravisor.isa.mmu import Mmu
from paravisor.isa.table import PAGE_SHIFT

TLB_BITS = 8
TLB_ENTRIES = 1 << TLB_BITS
JUMP_BITS = 10
JUMP_ENTRIES = 1 << JUMP_BITS
INVALID_TAG = 0xFFFF_FFFF

# Exit codes returned by translated code.
EXIT_BUDGET = 1   # the next block does not fit in the budget; pc = its start
EXIT_LOOKUP = 2   # control went to pc, which the jump cache does not know
EXIT_STEP = 3     # the instruction at pc needs the interpreter (miss, fault, system)
EXIT_HCALL = 4    # hcall retired; pc is the next instruction
EXIT_SYSCALL = 5  # syscall retired (a trap to vector 0x80); pc is the next instruction
EXIT_BREAK = 6    # break retired (a trap to #BP); pc is the next instruction


class TlbEntry(ctypes.Structure):
    _fields_ = [("read_tag", ctypes.c_uint32), ("write_tag", ctypes.c_uint32),
                ("addend", ctypes.c_int64)]


class JumpEntry(ctypes.Structure):
    _fields_ = [("vpc", ctypes.c_uint32), ("pad", ctypes.c_uint32),
                ("code", ctypes.c_uint64)]


class StateStruct(ctypes.Structure):
    _fields_ = [("regs", ctypes.c_uint32 * 16), ("pc", ctypes.c_uint32),
                ("aux", ctypes.c_uint32), ("budget", ctypes.c_int64),
                ("ring", ctypes.c_uint32), ("pad", ctypes.c_uint32),
                ("tlb", TlbEntry * TLB_ENTRIES), ("jump", JumpEntry * JUMP_ENTRIES)]


# Offsets the IR uses (checked against ctypes at import).
OFF_REGS, OFF_PC, OFF_AUX, OFF_BUDGET, OFF_RING = 0, 64, 68, 72, 80
OFF_TLB = 88
TLB_ENTRY_SIZE = 16
OFF_JUMP = OFF_TLB + TLB_ENTRIES * TLB_ENTRY_SIZE
JUMP_ENTRY_SIZE = 16
assert StateStruct.pc.offset == OFF_PC and StateStruct.budget.offset == OFF_BUDGET
assert StateStruct.ring.offset == OFF_RING
assert StateStruct.tlb.offset == OFF_TLB and StateStruct.jump.offset == OFF_JUMP
assert ctypes.sizeof(TlbEntry) == TLB_ENTRY_SIZE and ctypes.sizeof(JumpEntry) == JUMP_ENTRY_SIZE


def tlb_slot(vpn: int) -> int:
    return vpn & (TLB_ENTRIES - 1)


def jump_slot(vpc: int) -> int:
    return (vpc >> 2) & (JUMP_ENTRIES - 1)


class NativeState:
    """One vCPU's native state and the Python bookkeeping that keeps it coherent.

    `mem_base` is the host address of machine address 0."""

    def __init__(self, mem_base: int) -> None:
        self.struct = StateStruct()
        self.address = ctypes.addressof(self.struct)
        self.mem_base = mem_base
        self.entries: dict[int, int] = {}                # vpc -> code address (validated)
        self._write_frame: dict[int, int] = {}           # tlb slot -> mfn it writes
        self._write_slots: dict[int, set[int]] = {}      # mfn -> tlb slots writing it
        self.flush_tlb()
        self.clear_jumps()

    # --- registers and run parameters ----------------------------------------------------

    def load(self, regs: list[int], pc: int, budget: int, ring: int) -> None:
        s = self.struct
        s.regs[:] = regs
        s.pc, s.budget, s.ring = pc, budget, ring

    def store_regs(self, regs: list[int]) -> None:
        """Copy the native registers back into `regs` (the same list object)."""
        regs[:] = self.struct.regs[:]

    # --- TLB ----------------------------------------------------------------------------

    def flush_tlb(self) -> None:
        ctypes.memset(self.address + OFF_TLB, 0xFF, TLB_ENTRIES * TLB_ENTRY_SIZE)
        self._write_frame.clear()
        self._write_slots.clear()

    def fill_from(self, mmu: Mmu, va: int) -> None:
        """Mirror mmu's cached translations of va's page into its slot (if it has any)."""
        vpn = va >> PAGE_SHIFT
        off = mmu.rtlb.get(vpn)
        if off is None:
            return
        slot = tlb_slot(vpn)
        self._forget_write(slot)
        entry = self.struct.tlb[slot]
        entry.read_tag, entry.addend = vpn, self.mem_base + off
        woff = mmu.wtlb.get(vpn)
        if woff is None or woff != off:
            entry.write_tag = INVALID_TAG
            return
        entry.write_tag = vpn
        mfn = (va + off) >> PAGE_SHIFT
        self._write_frame[slot] = mfn
        self._write_slots.setdefault(mfn, set()).add(slot)

    def drop_write_frame(self, mfn: int) -> None:
        """Frame `mfn` must no longer be written by native code (it became watched)."""
        for slot in self._write_slots.pop(mfn, ()):
            del self._write_frame[slot]
            self.struct.tlb[slot].write_tag = INVALID_TAG

    def _forget_write(self, slot: int) -> None:
        mfn = self._write_frame.pop(slot, None)
        if mfn is not None:
            slots = self._write_slots[mfn]
            slots.discard(slot)
            if not slots:
                del self._write_slots[mfn]

    # --- jump cache ---------------------------------------------------------------------

    def clear_jumps(self) -> None:
        ctypes.memset(self.address + OFF_JUMP, 0, JUMP_ENTRIES * JUMP_ENTRY_SIZE)
        self.entries.clear()

    def install(self, vpc: int, code: int) -> None:
        """vpc's fetch translation is valid and `code` starts there: let native code go."""
        self.entries[vpc] = code
        entry = self.struct.jump[jump_slot(vpc)]
        entry.vpc, entry.code = vpc, code
