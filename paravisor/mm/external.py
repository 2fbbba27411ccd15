"""References held outside page tables (grant pins, dom0 services' foreign maps) and the
grant mappings that authorise foreign L1 entries.

Whenever the host reaches a guest frame without a page-table entry -- a grant pinned for a
map or a copy, a dom0 service mapping a domain's XenStore or console ring -- it holds what
a PTE for that use would hold: a general reference (the frame cannot be freed or change
hands), and for a writable use a WRITABLE type reference.  The type reference is the
point: a frame the host may write can never be validated as a page table, and a frame
that is a page table can never be held writable.  Without it a guest could pin its own
XenStore ring as an L1 table and let xenstored's reply bytes become unvalidated PTEs.

Every hold is registered in `mm.holds` under (holder, owner, mfn, writable), so the
invariant checker (paravisor.mm.invariants) recounts them, checks each against the frame
table and can say who holds what.  Nothing outside this module edits those counts.

A live grant mapping is recorded in `mm.grant_maps` under (mapper, mfn, writable) by
`record_grant_map` and dropped by `forget_grant_map`: that record is the authority that
lets the mapper's L1 tables hold an entry for another domain's frame
(pagetable.mod_l1_entry_grant; invariant 4).  paravisor.grants decides when a mapping
exists; only these two functions edit the record.

`HostMapping` is the access half of a dom0 service's mapping (a foreign page, a grant
mapping): reads and writes within the held page, refused once it is unmapped.
"""

from __future__ import annotations

from collections import Counter
from enum import Enum

from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import PAGE_SHIFT, PAGE_SIZE
from paravisor.mm.frametable import MemoryManager, MMBug, PageType, get_page, put_page
from paravisor.mm.pagetable import get_page_type, put_page_type

Hold = tuple[str, int, int, bool]    # (holder, owner domid, mfn, writable)


def hold_frame(mm: MemoryManager, mfn: int, owner: int, writable: bool, holder: str) -> bool:
    """Take a counted reference on `owner`'s frame `mfn` for `holder` (a short name of who
    holds it, e.g. "xenstored" or "grant d3"), plus a WRITABLE type reference if
    `writable`.  False, with nothing taken, if the frame is not `owner`'s (xen pages are
    not held this way) or `writable` and the frame is a page table."""
    if not mm.valid_mfn(mfn) or mm.frames[mfn].owner != owner:
        return False
    if not get_page(mm, mfn, owner):
        return False
    if writable and get_page_type(mm, mfn, PageType.WRITABLE):
        put_page(mm, mfn)
        return False
    mm.holds[(holder, owner, mfn, writable)] += 1
    return True


def why_not_held(mm: MemoryManager, mfn: int, owner: int, writable: bool) -> str:
    """Why hold_frame(mm, mfn, owner, writable, ...) refused, for a message."""
    if writable and mm.valid_mfn(mfn) and mm.frames[mfn].owner == owner:
        return f"frame {mfn:#x} of domain {owner} is a page table: it cannot be mapped writable"
    return f"frame {mfn:#x} is not a page of domain {owner}"


def release_frame(mm: MemoryManager, mfn: int, writable: bool, holder: str) -> None:
    """Drop one hold taken by hold_frame (the last reference frees the frame)."""
    page = mm.frames[mfn]
    key = (holder, page.owner, mfn, writable)
    if mm.holds[key] <= 0:
        del mm.holds[key]
        raise MMBug(f"{holder} releases frame {mfn:#x} it does not hold: {page.describe()}")
    mm.holds[key] -= 1
    if not mm.holds[key]:
        del mm.holds[key]
    if writable:
        put_page_type(mm, mfn)
    put_page(mm, mfn)


class Refusal(Enum):
    """Why a HostMapping refused an access."""
    UNMAPPED = "the page is no longer mapped"
    READ_ONLY = "the page is mapped read-only"
    OUTSIDE = "the access is outside the mapped page"


class HostMapping:
    """A dom0 service's access to one guest frame it holds (through hold_frame or a
    grant pin, taken by the subclass): byte reads and writes within the page, refused
    once the mapping is gone (`live` is False) and, for writes, on a read-only mapping.
    Subclasses say how a refusal is reported (`refusal`: the exception to raise)."""

    def __init__(self, memory: MachineMemory, mfn: int, writable: bool) -> None:
        self.memory, self.mfn, self.writable = memory, mfn, writable
        self.base = mfn << PAGE_SHIFT

    @property
    def live(self) -> bool:
        raise NotImplementedError

    def refusal(self, why: Refusal) -> Exception:
        raise NotImplementedError

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length, write=False)
        return self.memory.read(self.base + offset, length)

    def write(self, offset: int, data: bytes) -> None:
        self._check(offset, len(data), write=True)
        self.memory.write(self.base + offset, data)

    def read32(self, offset: int) -> int:
        return int.from_bytes(self.read(offset, 4), "little")

    def write32(self, offset: int, value: int) -> None:
        self.write(offset, (value & 0xFFFF_FFFF).to_bytes(4, "little"))

    def _check(self, offset: int, length: int, write: bool) -> None:
        if not self.live:
            raise self.refusal(Refusal.UNMAPPED)
        if write and not self.writable:
            raise self.refusal(Refusal.READ_ONLY)
        if offset < 0 or length < 0 or offset + length > PAGE_SIZE:
            raise self.refusal(Refusal.OUTSIDE)


def held_refs(mm: MemoryManager) -> tuple[Counter[int], Counter[int]]:
    """(general, WRITABLE type) references per frame held outside page tables."""
    refs: Counter[int] = Counter()
    type_refs: Counter[int] = Counter()
    for (_, _, mfn, writable), n in mm.holds.items():
        refs[mfn] += n
        if writable:
            type_refs[mfn] += n
    return refs, type_refs


def holders_of(mm: MemoryManager, mfn: int) -> list[Hold]:
    """Every hold on `mfn` (for messages and tests)."""
    return sorted(key for key in mm.holds if key[2] == mfn)


def record_grant_map(mm: MemoryManager, mapper: int, mfn: int, writable: bool) -> None:
    """Domain `mapper` now holds one more grant mapping of `mfn` (a writable one if
    `writable`); the grant itself is pinned by the caller (hold_frame)."""
    mm.grant_maps[(mapper, mfn, writable)] += 1


def forget_grant_map(mm: MemoryManager, mapper: int, mfn: int, writable: bool) -> None:
    """Drop one record taken by record_grant_map (MMBug if there is none)."""
    key = (mapper, mfn, writable)
    if mm.grant_maps[key] <= 0:
        del mm.grant_maps[key]
        raise MMBug(f"domain {mapper} forgets a grant mapping of frame {mfn:#x} "
                    f"(writable={writable}) it does not hold")
    mm.grant_maps[key] -= 1
    if not mm.grant_maps[key]:
        del mm.grant_maps[key]
