"""Foreign mappings: dom0 mapping a page of another domain (Xen's privcmd / foreignmemory).

Only a privileged domain may map, only a frame the target domain owns, and the mapping
holds what a PTE for the same use would (mm's hold_frame): a general reference, so the
frame cannot be freed or handed to another domain while it is mapped, and for a writable
mapping a WRITABLE type reference, so the frame cannot be pinned as a page table while a
service may write it -- nor mapped writable while it is one.  That type reference is what
keeps xenstored's and the console daemon's ring writes from becoming forged PTEs (the F1
finding of docs/security.md).  Reads and writes are mm's HostMapping's, as for a grant
mapping (paravisor.grants.GrantMapping).  Release the mapping with `unmap()`.
"""

from __future__ import annotations

from paravisor.errors import UserError
from paravisor.mm.external import HostMapping, Refusal, hold_frame, release_frame, why_not_held


class ForeignMapError(UserError):
    pass


class ForeignPage(HostMapping):
    def __init__(self, hv, mapper, target, mfn: int, *, writable: bool = True,
                 holder: str = "foreign map") -> None:
        """Map `target`'s frame `mfn` for privileged domain `mapper`; `holder` names the
        service in the frame table's holds (messages, invariant reports)."""
        if not mapper.privileged:
            raise ForeignMapError(f"domain {mapper.domid} may not map foreign pages")
        self.holder = f"{holder} d{mapper.domid}"
        if not hold_frame(hv.mm, mfn, target.domid, writable, self.holder):
            raise ForeignMapError(why_not_held(hv.mm, mfn, target.domid, writable))
        super().__init__(hv.memory, mfn, writable)
        self.hv = hv
        self.mapped = True

    @property
    def live(self) -> bool:
        return self.mapped

    def refusal(self, why: Refusal) -> Exception:
        return ForeignMapError(why.value)

    def unmap(self) -> None:
        if self.mapped:
            self.mapped = False
            release_frame(self.hv.mm, self.mfn, self.writable, self.holder)
