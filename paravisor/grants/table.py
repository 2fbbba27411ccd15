"""Per-domain v1 grant tables: the shared entry frames, the hypervisor's active entries
(pins), and the registry that ties them to a hypervisor.

Who writes what (grant_table.h): the granting guest writes an entry's `domid` and `frame`,
then (after a barrier) its `flags` with GTF_permit_access [| GTF_readonly].  The hypervisor
only ever sets and clears GTF_reading / GTF_writing, always by a compare-and-swap on the
16-bit flags word, so a guest's concurrent revoke (its own CAS of the flags to 0, allowed only
while reading/writing are clear) is detected rather than overwritten.  The hypervisor never
clears GTF_permit_access.

An entry is read from shared memory once per operation (`read_entry`, the XSA-155 lesson):
the copy is validated, and the flags CAS re-checks that the word did not change in between.

Ownership: one GrantTables per Hypervisor, touched by the hypervisor loop only (under
--realtime, with the hypervisor lock held).  The flags CAS is atomic against guest code
only while guest code does not run at the same time: in the deterministic mode; under
--realtime a guest's revoke may race it (docs/design.md, section 8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from paravisor.abi.consts import Gtf
from paravisor.abi.structs import GRANT_ENTRY_V1
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import PAGE_SHIFT, PAGE_SIZE
from paravisor.mm.frametable import alloc_xen_page, free_xen_page, share_xen_page_with_guest

if TYPE_CHECKING:
    from paravisor.hypervisor import Hypervisor

GRANT_ENTRY_SIZE = GRANT_ENTRY_V1.size                  # 8 bytes
GRANT_ENTRIES_PER_FRAME = PAGE_SIZE // GRANT_ENTRY_SIZE  # 512
INITIAL_GRANT_FRAMES = 1         # grown on setup_table up to max_grant_frames
MAPTRACK_ENTRY_SIZE = 16         # Xen's struct grant_mapping {domid, flags, ref, vcpu}
MAPTRACK_PER_FRAME = PAGE_SIZE // MAPTRACK_ENTRY_SIZE   # 256
_FLAGS_OFFSET = GRANT_ENTRY_V1.offset("flags")
_DOMID_OFFSET = GRANT_ENTRY_V1.offset("domid")
_FRAME_OFFSET = GRANT_ENTRY_V1.offset("frame")
GTF_IN_USE = Gtf.GTF_reading | Gtf.GTF_writing


@dataclass(frozen=True)
class EntryCopy:
    """One grant entry as read, once, from shared memory."""
    flags: int
    domid: int
    frame: int


@dataclass
class ActiveEntry:
    """The hypervisor's state of a pinned grant (Xen's active_grant_entry): the frame and
    mapping domain fixed when the first pin was taken, and the pins by kind.  `readers`
    counts read-only pins, `writers` writable ones; copies pin for their duration only."""
    domid: int
    frame: int
    readers: int = 0
    writers: int = 0

    @property
    def pinned(self) -> bool:
        return self.readers + self.writers > 0


@dataclass
class GrantTable:
    """One domain's v1 grant table.  `frames` are DOMID_XEN pages shared writable with the
    owner (Mini-OS maps them after GNTTABOP_setup_table returns their numbers); `active`
    holds the pinned entries by grant reference; `dead` once the owner is destroyed (the
    frames are freed, pins held by other domains are still honoured until unmapped)."""
    domid: int
    max_frames: int
    max_maptrack: int
    frames: list[int] = field(default_factory=list)
    active: dict[int, ActiveEntry] = field(default_factory=dict)
    dead: bool = False

    @property
    def nr_entries(self) -> int:
        return len(self.frames) * GRANT_ENTRIES_PER_FRAME

    def entry_maddr(self, ref: int) -> int:
        """Machine address of entry `ref` (the caller checked ref < nr_entries)."""
        frame = self.frames[ref // GRANT_ENTRIES_PER_FRAME]
        return (frame << PAGE_SHIFT) + (ref % GRANT_ENTRIES_PER_FRAME) * GRANT_ENTRY_SIZE

    def valid_ref(self, ref: int) -> bool:
        return not self.dead and 0 <= ref < self.nr_entries


def read_entry(memory: MachineMemory, maddr: int) -> EntryCopy:
    """Copy one entry out of shared memory (one read; the caller validates the copy)."""
    raw = memory.read(maddr, GRANT_ENTRY_SIZE)
    return EntryCopy(int.from_bytes(raw[_FLAGS_OFFSET:_FLAGS_OFFSET + 2], "little"),
                     int.from_bytes(raw[_DOMID_OFFSET:_DOMID_OFFSET + 2], "little"),
                     int.from_bytes(raw[_FRAME_OFFSET:_FRAME_OFFSET + 4], "little"))


def cas_flags(memory: MachineMemory, maddr: int, expected: int, new: int) -> bool:
    """Compare-and-swap the 16-bit flags word of the entry at `maddr`: write `new` only if
    it still holds `expected`.  (One vCPU runs at a time, so read-then-write is atomic.)"""
    current = int.from_bytes(memory.read(maddr + _FLAGS_OFFSET, 2), "little")
    if current != expected:
        return False
    memory.write(maddr + _FLAGS_OFFSET, (new & 0xFFFF).to_bytes(2, "little"))
    return True


def write_entry(memory: MachineMemory, maddr: int, domid: int, frame: int, flags: int) -> None:
    """What a granting guest does (gnttab_grant_foreign_access): domid and frame first,
    then the flags word that makes the entry live."""
    memory.write(maddr + _DOMID_OFFSET, (domid & 0xFFFF).to_bytes(2, "little"))
    memory.write(maddr + _FRAME_OFFSET, (frame & 0xFFFF_FFFF).to_bytes(4, "little"))
    memory.write(maddr + _FLAGS_OFFSET, (flags & 0xFFFF).to_bytes(2, "little"))


def end_foreign_access(memory: MachineMemory, maddr: int) -> bool:
    """What a granting guest does to revoke (gnttab_end_foreign_access_ref): CAS the flags
    to 0, which fails while the hypervisor has GTF_reading/GTF_writing set.  True if the
    entry is now invalid."""
    flags = int.from_bytes(memory.read(maddr + _FLAGS_OFFSET, 2), "little")
    if flags & GTF_IN_USE:
        return False
    return cas_flags(memory, maddr, flags, 0)


def grow_table(hv: Hypervisor, table: GrantTable, nr_frames: int) -> bool:
    """Grow `table` to `nr_frames` frames (never shrinks); False if that is over its limit
    or the host has no frame (frames added so far stay)."""
    if nr_frames > table.max_frames:
        return False
    while len(table.frames) < nr_frames:
        mfn = alloc_xen_page(hv.mm)
        if mfn is None:
            return False
        share_xen_page_with_guest(hv.mm, mfn, table.domid, writable=True)
        table.frames.append(mfn)
    return True


def free_table_frames(hv: Hypervisor, table: GrantTable) -> None:
    """The owner is gone: free the entry frames nothing maps any more; the table is dead."""
    table.dead = True
    table.frames = [mfn for mfn in table.frames if not free_xen_page(hv.mm, mfn)]
