"""Test helpers for grant tables: domains that grant, map and copy, driven from Python.

    world = GrantWorld(nr_guests=2)            # dom0 (privileged) + guests, all idle
    a, b = world.guests
    ref = world.grant(a, b, frame=world.fresh_frame(a))
    status, handle = world.map(b, a, ref, va=world.free_va(b))

Everything goes through the real hypercall path (paravisor.testing.guests.Guest.call) except
what a guest does by plain stores: writing and revoking grant entries, which write the
granter's table frame in machine memory exactly as the guest's own stores would.

Ownership: test code only; nothing here is used by the hypervisor.
"""

from __future__ import annotations

from paravisor.abi import (
    DOMID_SELF,
    GNTTAB_COPY,
    GNTTAB_MAP_GRANT_REF,
    GNTTAB_SETUP_TABLE,
    GNTTAB_UNMAP_GRANT_REF,
    Gntmap,
    GNTTABOP_copy,
    GNTTABOP_map_grant_ref,
    GNTTABOP_setup_table,
    GNTTABOP_unmap_grant_ref,
    Gtf,
    Hypercall,
)
from paravisor.grants.table import end_foreign_access, read_entry, write_entry
from paravisor.isa.table import ENTRIES_PER_TABLE, PAGE_SHIFT, PAGE_SIZE, PTE_P, pte_frame
from paravisor.mm.pagetable import entry_maddr, read_table
from paravisor.mm.reservation import increase_reservation
from paravisor.testing.guests import Guest, api_guest
from paravisor.testing.host import Host


class GrantWorld:
    """A strict host with dom0 and `nr_guests` idle domUs (api_guests)."""

    def __init__(self, nr_guests: int = 2, host_mib: int = 16) -> None:
        self.host = Host(host_mib=host_mib)
        self.hv = self.host.hv
        self.dom0 = api_guest(self.host, privileged=True, domid=0)
        self.guests = [api_guest(self.host) for _ in range(nr_guests)]
        self._used_va: set[tuple[int, int]] = set()

    def setup_table(self, guest: Guest, nr_frames: int, dom: int = DOMID_SELF) -> tuple:
        """GNTTABOP_setup_table: (hypercall rc, status, frame list)."""
        frames = guest.alloc(4 * max(nr_frames, 1), align=4)
        op = guest.put(GNTTAB_SETUP_TABLE, dom=dom, nr_frames=nr_frames, frame_list=frames)
        rc = guest.call(Hypercall.grant_table_op, GNTTABOP_setup_table, op, 1)
        out = guest.get(GNTTAB_SETUP_TABLE, op)
        return rc, out["status"], guest.words(frames, nr_frames)

    def entry_maddr(self, granter: Guest, ref: int) -> int:
        return self.hv.grants.table_of(granter.dom).entry_maddr(ref)

    def grant(self, granter: Guest, grantee: Guest, frame: int, ref: int = 8,
              readonly: bool = False) -> int:
        """Write entry `ref` as gnttab_grant_foreign_access does; returns ref."""
        flags = Gtf.GTF_permit_access | (Gtf.GTF_readonly if readonly else 0)
        write_entry(self.hv.memory, self.entry_maddr(granter, ref), grantee.dom.domid,
                    frame, flags)
        return ref

    def flags(self, granter: Guest, ref: int) -> int:
        return read_entry(self.hv.memory, self.entry_maddr(granter, ref)).flags

    def end_access(self, granter: Guest, ref: int) -> bool:
        return end_foreign_access(self.hv.memory, self.entry_maddr(granter, ref))

    def fresh_frame(self, guest: Guest) -> int:
        """A newly allocated frame of `guest` (only its allocation reference held)."""
        mem = guest.dom.mem
        mem.max_pages = max(mem.max_pages, mem.tot_pages + 1)   # room for one more
        (mfn,) = increase_reservation(self.hv.mm, mem, 1)
        return mfn

    def free_va(self, guest: Guest) -> int:
        """A page-aligned va covered by an L1 of the guest whose entry is not present
        (and not handed out before)."""
        mem = guest.dom.mem
        base = mem.guest_table[0]
        for l2i, l2e in enumerate(read_table(self.hv.mm, base)):
            if not l2e & PTE_P:
                continue
            for l1i, pte in enumerate(read_table(self.hv.mm, pte_frame(l2e))):
                key = (guest.dom.domid, l2i * ENTRIES_PER_TABLE + l1i)
                if not pte & PTE_P and key not in self._used_va:
                    self._used_va.add(key)
                    return (l2i * ENTRIES_PER_TABLE + l1i) << PAGE_SHIFT
        raise ValueError("no free va under an existing L1")

    def l1_entry(self, guest: Guest, va: int) -> int:
        """The L1 entry mapping `va` (0 if no L1 covers it)."""
        try:
            return self.hv.memory.read32(guest.l1_entry_maddr(va))
        except ValueError:
            return 0

    def map(self, mapper: Guest, granter: Guest | int, ref: int, va: int,
            flags: int = Gntmap.GNTMAP_host_map) -> tuple[int, int]:
        """GNTTABOP_map_grant_ref: (status, handle)."""
        dom = granter if isinstance(granter, int) else granter.dom.domid
        op = mapper.put(GNTTAB_MAP_GRANT_REF, host_addr=va, flags=flags, ref=ref, dom=dom)
        assert mapper.call(Hypercall.grant_table_op, GNTTABOP_map_grant_ref, op, 1) == 0
        out = mapper.get(GNTTAB_MAP_GRANT_REF, op)
        return out["status"], out["handle"]

    def unmap(self, mapper: Guest, va: int, handle: int) -> int:
        """GNTTABOP_unmap_grant_ref: its status."""
        op = mapper.put(GNTTAB_UNMAP_GRANT_REF, host_addr=va, handle=handle)
        assert mapper.call(Hypercall.grant_table_op, GNTTABOP_unmap_grant_ref, op, 1) == 0
        return mapper.get(GNTTAB_UNMAP_GRANT_REF, op)["status"]

    def copy(self, caller: Guest, source: dict, dest: dict, length: int, flags: int) -> int:
        """GNTTABOP_copy of one op: its status.  `source`/`dest`: {ref or gmfn, domid,
        offset}."""
        op = caller.put(GNTTAB_COPY, source=_ptr(source), dest=_ptr(dest), len=length,
                        flags=flags)
        assert caller.call(Hypercall.grant_table_op, GNTTABOP_copy, op, 1) == 0
        return caller.get(GNTTAB_COPY, op)["status"]

    def frame_bytes(self, mfn: int) -> bytes:
        return self.hv.memory.read(mfn << PAGE_SHIFT, PAGE_SIZE)

    def l1_entry_at(self, table_mfn: int, index: int) -> int:
        return self.hv.memory.read32(entry_maddr(table_mfn, index))


def _ptr(side: dict) -> dict:
    key = "ref" if "ref" in side else "gmfn"
    return {"u": {key: side[key]}, "domid": side["domid"], "offset": side.get("offset", 0)}


__all__ = ["GrantWorld"]
