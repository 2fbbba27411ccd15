"""The PV32 MMU: the two-level page walk and a per-CPU TLB that is never stale.

The walk (`walk`) is the specification of translation:

1. STATUS.PG clear: va is the machine address; outside installed memory -> #GP.
2. The L2 entry is at PTBR + 4 * l2_index(va) (outside memory -> #GP); it must be P.
3. Its frame is the L1 table; the L1 entry is at (frame << 12) + 4 * l1_index(va)
   (outside memory -> #GP); it must be P.
4. Permission, over both entries: ring 3 needs PTE_U in both; a write (stores and every
   atomic) needs PTE_W in both, in every ring.  Fetches need only P (and U in ring 3).
5. The final frame must be installed memory, else #GP.
6. Success sets PTE_A in both entries and PTE_D in the L1 entry for a write, through the
   typed views so that no watcher hears of it (A/D do not change any translation).
   A faulting walk changes nothing.
#PF error codes are x86's: PF_PROT when the entries were present but forbid the
access (step 4), else 0 (step 2 or 3), | PF_WRITE | PF_USER | PF_FETCH as applicable.
#GP and #PF carry fault_addr = va.  Alignment is checked by the caller, before the walk.

TLB coherence is architectural: every page-table frame a cached translation depends on
is watched, and a write to it flushes this CPU's TLB (see memory.py).  Entries are keyed
by virtual page number and hold `maddr - va` for that page.  Three maps:
`rtlb` (read and fetch), `wtrans` (every write translation) and `wtlb` (the write fast
path: only translations to frames nobody watches, so a fast store can never bypass a
watcher).  Entries filled in ring 3 are also valid in rings 0 and 1 (their rights are a
superset), so the TLB is flushed only on a switch *to* ring 3 after kernel fills.

Ownership: one Mmu per CPU, used only by the engine running that CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from paravisor.isa.memory import MachineMemory
from paravisor.isa.semantics import GuestFault, Resync
from paravisor.isa.table import (
    PAGE_MASK,
    PAGE_SHIFT,
    PF_FETCH,
    PF_PROT,
    PF_USER,
    PF_WRITE,
    PTE_A,
    PTE_D,
    PTE_P,
    PTE_U,
    PTE_W,
    Vector,
    l1_index,
    l2_index,
)


class Access(Enum):
    READ = "read"
    WRITE = "write"
    FETCH = "fetch"


def _page_fault(va: int, pc: int, access: Access, user: bool, present: bool) -> GuestFault:
    code = (PF_PROT if present else 0) | (PF_USER if user else 0)
    if access is Access.WRITE:
        code |= PF_WRITE
    elif access is Access.FETCH:
        code |= PF_FETCH
    return GuestFault(Vector.PAGE_FAULT, pc, code, va)


def walk(memory: MachineMemory, ptbr: int, va: int, access: Access, user: bool,
         pc: int) -> tuple[int, int, int]:
    """Translate `va` with paging on, per the module docstring.

    Returns (machine address of the page, L2 table frame, L1 table frame) and sets the
    A/D bits; raises GuestFault (#PF or #GP, fault_addr = va, at `pc`) otherwise."""
    u32, size = memory.u32, memory.size
    l2_addr = (ptbr & ~PAGE_MASK) + 4 * l2_index(va)
    if l2_addr + 4 > size:
        raise GuestFault(Vector.GENERAL_PROTECTION, pc, 0, va)
    l2e = u32[l2_addr >> 2]
    if not l2e & PTE_P:
        raise _page_fault(va, pc, access, user, present=False)
    l1_addr = (l2e & ~PAGE_MASK) + 4 * l1_index(va)
    if l1_addr + 4 > size:
        raise GuestFault(Vector.GENERAL_PROTECTION, pc, 0, va)
    l1e = u32[l1_addr >> 2]
    if not l1e & PTE_P:
        raise _page_fault(va, pc, access, user, present=False)
    both = l2e & l1e
    if (user and not both & PTE_U) or (access is Access.WRITE and not both & PTE_W):
        raise _page_fault(va, pc, access, user, present=True)
    page = l1e & ~PAGE_MASK
    if page >= size:
        raise GuestFault(Vector.GENERAL_PROTECTION, pc, 0, va)
    u32[l2_addr >> 2] = l2e | PTE_A
    u32[l1_addr >> 2] = l1e | (PTE_A | PTE_D if access is Access.WRITE else PTE_A)
    return page, l2_addr >> PAGE_SHIFT, l1_addr >> PAGE_SHIFT


class Mmu:
    """Translation for one CPU: the TLB maps, their slow paths, and the watches that
    keep them coherent.  The interpreter's closures read `rtlb`/`wtlb` directly."""

    def __init__(self, memory: MachineMemory) -> None:
        self.memory = memory
        self.rtlb: dict[int, int] = {}
        self.wtlb: dict[int, int] = {}
        self.wtrans: dict[int, int] = {}
        self._wtlb_by_frame: dict[int, list[int]] = {}   # mfn -> vpns in wtlb
        self.pt_frames: set[int] = set()                 # frames we watch as page tables
        self.paging, self.ptbr, self.user = False, 0, False
        self._kernel_fills = False    # some entry was filled under ring 0/1 rules
        self.dirty = False            # set when a watched write dropped cached state
        self.flushes = 0              # flushes that dropped something (tests, benchmarks)
        self.flush_listeners: list[Callable[[], None]] = []
        memory.add_watch_listener(self._frame_watched)

    # --- context ---------------------------------------------------------------------

    def set_context(self, paging: bool, ptbr: int, user: bool) -> None:
        """Switch to a translation context (STATUS.PG, PTBR, ring 3 or not), flushing
        whatever the change makes invalid."""
        if paging != self.paging or (paging and ptbr != self.ptbr) or (
                user and not self.user and self._kernel_fills):
            self.flush()
        self.paging, self.ptbr, self.user = paging, ptbr, user

    def flush(self) -> None:
        """Drop every cached translation and stop watching page-table frames, and tell
        the flush listeners (the interpreter's block map, the JIT's native TLB and jump
        cache), unless nothing is cached: then neither are theirs (every entry they hold
        was derived from `rtlb` since the last flush), and a second flush of the same
        change -- a watched page-table write, then the hypervisor's flush hint or a
        PTBR switch -- costs nothing.  `flushes` counts the flushes that did work."""
        if not (self.rtlb or self.wtrans or self.pt_frames):
            return
        self.flushes += 1
        self.rtlb.clear()
        self.wtlb.clear()
        self.wtrans.clear()
        self._wtlb_by_frame.clear()
        for mfn in self.pt_frames:
            self.memory.unwatch(mfn, self._page_table_written)
        self.pt_frames.clear()
        self._kernel_fills = False
        for listener in self.flush_listeners:
            listener()

    def detach(self) -> None:
        """Forget everything and stop listening to memory (the CPU is going away)."""
        self.flush()
        self.memory.remove_watch_listener(self._frame_watched)

    def drop_frame(self, mfn: int) -> None:
        """Frame `mfn` is being freed or reused: drop what depends on it."""
        if mfn in self.pt_frames:
            self.flush()
        else:
            for vpn in self._wtlb_by_frame.pop(mfn, ()):
                self.wtlb.pop(vpn, None)

    # --- slow paths ---------------------------------------------------------------------

    def _resolve(self, va: int, access: Access, pc: int) -> int:
        """Machine address of va's page, by the walk (or identity with paging off)."""
        if not self.paging:
            if va >= self.memory.size:
                raise GuestFault(Vector.GENERAL_PROTECTION, pc, 0, va)
            return va & ~PAGE_MASK
        page, l2_frame, l1_frame = walk(self.memory, self.ptbr, va, access, self.user, pc)
        for mfn in (l2_frame, l1_frame):
            if mfn not in self.pt_frames:
                self.pt_frames.add(mfn)
                self.memory.watch(mfn, self._page_table_written)
        if not self.user:
            self._kernel_fills = True
        return page

    def translate_read(self, va: int, pc: int) -> int:
        """Offset (maddr - va) for a data read of `va`; fills `rtlb`."""
        off = self._resolve(va, Access.READ, pc) - (va & ~PAGE_MASK)
        self.rtlb[va >> PAGE_SHIFT] = off
        return off

    def translate_fetch(self, va: int) -> int:
        """Offset for an instruction fetch at `va` (fetch needs the rights a read
        needs, so the entry goes into `rtlb`); faults carry pc = va."""
        off = self._resolve(va, Access.FETCH, va) - (va & ~PAGE_MASK)
        self.rtlb[va >> PAGE_SHIFT] = off
        return off

    def translate_write(self, va: int, pc: int) -> int:
        """Offset for a write to `va`; the write fast path gets the entry only if its
        frame is unwatched."""
        vpn = va >> PAGE_SHIFT
        off = self.wtrans.get(vpn)
        if off is None:
            off = self._resolve(va, Access.WRITE, pc) - (va & ~PAGE_MASK)
            self.wtrans[vpn] = off
            self.rtlb[vpn] = off    # whatever may be written may be read
        mfn = (va + off) >> PAGE_SHIFT
        if not self.memory.is_watched(mfn):
            self.wtlb[vpn] = off
            self._wtlb_by_frame.setdefault(mfn, []).append(vpn)
        return off

    def store(self, va: int, size: int, value: int, pc: int) -> None:
        """A store that missed the fast path: translate, store, tell watchers."""
        maddr = va + self.translate_write(va, pc)
        mem = self.memory
        if size == 4:
            mem.u32[maddr >> 2] = value
        elif size == 2:
            mem.u16[maddr >> 1] = value
        else:
            mem.u8[maddr] = value
        self.written(maddr, pc)

    def written(self, maddr: int, pc: int) -> None:
        """Machine address `maddr` was just written by the instruction at `pc`; notify
        watchers, and end the block (Resync) if this CPU had cached state there."""
        self.dirty = False
        self.memory.notify_write(maddr >> PAGE_SHIFT)
        if self.dirty:
            self.dirty = False
            raise Resync(pc + 4)

    # --- watch callbacks -------------------------------------------------------------------

    def _page_table_written(self, mfn: int) -> None:
        self.flush()
        self.dirty = True

    def _frame_watched(self, mfn: int) -> None:
        # The frame just became watched: fast stores must stop going straight to it.
        for vpn in self._wtlb_by_frame.pop(mfn, ()):
            self.wtlb.pop(vpn, None)
