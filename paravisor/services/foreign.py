"""Foreign mappings: dom0 mapping a page of another domain (Xen's privcmd / foreignmemory).

Only a privileged domain may map, only a frame the target domain owns, and the mapping
holds a page reference (like a PTE would), so the frame cannot be freed or handed to
another domain while it is mapped.  Release it with `unmap()`.
"""

from __future__ import annotations

from paravisor.errors import UserError
from paravisor.isa.table import PAGE_SHIFT, PAGE_SIZE
from paravisor.mm.frametable import get_page, put_page


class ForeignMapError(UserError):
    pass


class ForeignPage:
    def __init__(self, hv, mapper, target, mfn: int) -> None:
        if not mapper.privileged:
            raise ForeignMapError(f"domain {mapper.domid} may not map foreign pages")
        if not get_page(hv.mm, mfn, target.domid):
            raise ForeignMapError(f"frame {mfn:#x} is not a page of domain {target.domid}")
        hv.mm.external_refs[mfn] += 1
        self.hv, self.mfn, self.base = hv, mfn, mfn << PAGE_SHIFT
        self.mapped = True

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        return self.hv.memory.read(self.base + offset, length)

    def write(self, offset: int, data: bytes) -> None:
        self._check(offset, len(data))
        self.hv.memory.write(self.base + offset, data)

    def read32(self, offset: int) -> int:
        return int.from_bytes(self.read(offset, 4), "little")

    def write32(self, offset: int, value: int) -> None:
        self.write(offset, (value & 0xFFFF_FFFF).to_bytes(4, "little"))

    def unmap(self) -> None:
        if self.mapped:
            self.mapped = False
            self.hv.mm.external_refs[self.mfn] -= 1
            if not self.hv.mm.external_refs[self.mfn]:
                del self.hv.mm.external_refs[self.mfn]
            put_page(self.hv.mm, self.mfn)

    def _check(self, offset: int, length: int) -> None:
        if not self.mapped:
            raise ForeignMapError("page is no longer mapped")
        if offset < 0 or length < 0 or offset + length > PAGE_SIZE:
            raise ForeignMapError("access outside the mapped page")
