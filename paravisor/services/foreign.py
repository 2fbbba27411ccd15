"""Foreign mappings: dom0 mapping a page of another domain (Xen's privcmd / foreignmemory).

Only a privileged domain may map, only a frame the target domain owns, and the mapping
holds what a PTE for the same use would (mm's hold_frame): a general reference, so the
frame cannot be freed or handed to another domain while it is mapped, and for a writable
mapping a WRITABLE type reference, so the frame cannot be pinned as a page table while a
service may write it -- nor mapped writable while it is one.  That type reference is what
keeps xenstored's and the console daemon's ring writes from becoming forged PTEs (the F1
finding of docs/security.md).  Release the mapping with `unmap()`.
"""

from __future__ import annotations

from paravisor.errors import UserError
from paravisor.isa.table import PAGE_SHIFT, PAGE_SIZE
from paravisor.mm.external import hold_frame, release_frame


class ForeignMapError(UserError):
    pass


class ForeignPage:
    def __init__(self, hv, mapper, target, mfn: int, *, writable: bool = True,
                 holder: str = "foreign map") -> None:
        """Map `target`'s frame `mfn` for privileged domain `mapper`; `holder` names the
        service in the frame table's holds (messages, invariant reports)."""
        if not mapper.privileged:
            raise ForeignMapError(f"domain {mapper.domid} may not map foreign pages")
        self.holder = f"{holder} d{mapper.domid}"
        if not hold_frame(hv.mm, mfn, target.domid, writable, self.holder):
            raise ForeignMapError(_refusal(hv, target.domid, mfn, writable))
        self.hv, self.mfn, self.base, self.writable = hv, mfn, mfn << PAGE_SHIFT, writable
        self.mapped = True

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        return self.hv.memory.read(self.base + offset, length)

    def write(self, offset: int, data: bytes) -> None:
        self._check(offset, len(data))
        if not self.writable:
            raise ForeignMapError("page is mapped read-only")
        self.hv.memory.write(self.base + offset, data)

    def read32(self, offset: int) -> int:
        return int.from_bytes(self.read(offset, 4), "little")

    def write32(self, offset: int, value: int) -> None:
        self.write(offset, (value & 0xFFFF_FFFF).to_bytes(4, "little"))

    def unmap(self) -> None:
        if self.mapped:
            self.mapped = False
            release_frame(self.hv.mm, self.mfn, self.writable, self.holder)

    def _check(self, offset: int, length: int) -> None:
        if not self.mapped:
            raise ForeignMapError("page is no longer mapped")
        if offset < 0 or length < 0 or offset + length > PAGE_SIZE:
            raise ForeignMapError("access outside the mapped page")


def _refusal(hv, domid: int, mfn: int, writable: bool) -> str:
    if writable and hv.mm.valid_mfn(mfn) and hv.mm.frames[mfn].owner == domid:
        return (f"frame {mfn:#x} of domain {domid} is a page table: it cannot be mapped "
                f"writable")
    return f"frame {mfn:#x} is not a page of domain {domid}"
