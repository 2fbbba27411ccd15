"""A blkfront written in Python, acting as the guest, to drive blkback in tests.

    bed = BlockBed(image_path)                 # dom0 + guest, XenStore, blkback, vbd nodes
    front = bed.frontend()                     # ring granted, event channel, Initialised
    front.write(sector=0, data=b"x" * 4096)    # -> BLKIF_RSP_OKAY

The guest's side is done as the guest would do it by plain stores: its grant entries are
written into its grant table (GrantWorld.grant), its ring page and data pages are its own
frames, reached through ForeignPage (the same bytes the guest would see).  Its XenStore
writes go through an unprivileged handle with its domid; its notifications through the
real event-channel code.  Dom0 service work (watch callbacks, event services) runs when
`settle()` drains the hypervisor's deferred queue, as the loop would.

Ownership: test code only.
"""

from __future__ import annotations

from typing import Any

from paravisor.abi.consts import Blkif, XenbusState
from paravisor.abi.io import BLKIF_REQUEST, BLKIF_REQUEST_DISCARD
from paravisor.isa.table import PAGE_SIZE
from paravisor.ring import FrontRing, SharedRing
from paravisor.services.blkback import (
    BLKIF_RING,
    SECTOR_SIZE,
    Blkback,
    backend_path,
    frontend_path,
    write_vbd_nodes,
)
from paravisor.services.foreign import ForeignPage
from paravisor.services.xenstore.client import XsHandle
from paravisor.services.xenstore.daemon import XenStoreDaemon
from paravisor.testing.grant_harness import GrantWorld
from paravisor.testing.guests import Guest

RING_REF = 8
FIRST_DATA_REF = 16
DEVID = 51712           # xvda


class BlockBed:
    """dom0 with XenStore and blkback, one guest (plus a bystander guest) and a vbd."""

    def __init__(self, image: str, readonly: bool = False, devid: int = DEVID) -> None:
        self.world = GrantWorld(nr_guests=2)
        self.hv = self.world.hv
        self.dom0 = self.world.dom0
        self.guest, self.other = self.world.guests
        self.xenstore = XenStoreDaemon(self.hv, self.dom0.dom)
        for g in self.world.guests:
            self.xenstore.create_domain_home(g.dom)
        self.blkback = Blkback(self.hv, self.dom0.dom, self.xenstore)
        self.devid = devid
        write_vbd_nodes(self.xenstore.dom0_handle, self.guest.dom.domid, devid, image,
                        "xvda", readonly)
        self.settle()

    def settle(self) -> None:
        """Run the dom0 services the hypervisor loop would run now."""
        self.hv.run_deferred()

    def backend(self, key: str) -> str:
        return self.xenstore.dom0_handle.read_str(
            f"{backend_path(self.guest.dom.domid, self.devid)}/{key}")

    def frontend(self, connect: bool = True) -> PyBlkfront:
        front = PyBlkfront(self, self.guest)
        if connect:
            front.connect()
        return front


class PyBlkfront:
    """The guest's end of one vbd."""

    def __init__(self, bed: BlockBed, guest: Guest) -> None:
        self.bed, self.guest, self.hv = bed, guest, bed.hv
        self.domid = guest.dom.domid
        self.xs = XsHandle(bed.xenstore.store, self.domid, privileged=False)
        self.path = frontend_path(self.domid, bed.devid)
        self.ring_mfn = bed.world.fresh_frame(guest)
        self.ring_page = ForeignPage(self.hv, bed.dom0.dom, guest.dom, self.ring_mfn,
                                     holder="test blkfront")
        self.sring = SharedRing(self.ring_page, BLKIF_RING)
        self.sring.init()
        self.ring = FrontRing(self.sring)
        self.port = self.hv.events.alloc_unbound(guest.dom, self.domid, bed.dom0.dom.domid)
        self.pages: list[tuple[int, int, ForeignPage]] = []   # (ref, mfn, accessor)

    def set_state(self, state: XenbusState) -> None:
        self.xs.write(f"{self.path}/state", int(state))
        self.bed.settle()

    def connect(self) -> None:
        """Grant the ring, publish ring-ref and event-channel, go Initialised then
        Connected once the backend is (as blkfront's backend_changed does)."""
        self.bed.world.grant(self.guest, self.bed.dom0, self.ring_mfn, ref=RING_REF)
        self.xs.write(f"{self.path}/ring-ref", RING_REF)
        self.xs.write(f"{self.path}/event-channel", self.port)
        self.set_state(XenbusState.XenbusStateInitialised)
        if self.bed.backend("state") == str(int(XenbusState.XenbusStateConnected)):
            self.set_state(XenbusState.XenbusStateConnected)

    def data_pages(self, count: int, readonly: bool = False) -> list[tuple[int, int, Any]]:
        """`count` fresh guest frames granted to dom0: (ref, mfn, page accessor)."""
        out = []
        for _ in range(count):
            ref = FIRST_DATA_REF + len(self.pages)
            mfn = self.bed.world.fresh_frame(self.guest)
            self.bed.world.grant(self.guest, self.bed.dom0, mfn, ref=ref, readonly=readonly)
            entry = (ref, mfn, ForeignPage(self.hv, self.bed.dom0.dom, self.guest.dom, mfn,
                                              holder="test blkfront"))
            self.pages.append(entry)
            out.append(entry)
        return out

    # requests ---------------------------------------------------------------------------

    def submit(self, *raws: bytes) -> list[dict[str, Any]]:
        """Put raw request entries, push, notify if asked, let dom0 run; the responses."""
        for raw in raws:
            self.ring.put_request({"raw": raw})
        if self.ring.push_requests():
            self.hv.events.send(self.guest.dom, self.port)
        self.bed.settle()
        out = []
        while self.ring.unconsumed_responses():
            out.append(self.ring.get_response())
        return out

    def rw(self, op: int, sector: int, segs: list[tuple[int, int, int]],
           req_id: int = 1) -> int:
        """One read/write/flush request of (gref, first, last) segments: its status."""
        raw = rw_request(op, sector, segs, req_id)
        (rsp,) = self.submit(raw)
        assert rsp["id"] == req_id and rsp["operation"] == op
        return rsp["status"]

    def write(self, sector: int, data: bytes, op: int = Blkif.BLKIF_OP_WRITE) -> int:
        """Write whole pages of `data` (one segment per page) at `sector`."""
        pages = self.data_pages(-(-len(data) // PAGE_SIZE))
        segs = []
        for i, (ref, _mfn, page) in enumerate(pages):
            chunk = data[i * PAGE_SIZE:(i + 1) * PAGE_SIZE]
            page.write(0, chunk)
            segs.append((ref, 0, len(chunk) // SECTOR_SIZE - 1))
        return self.rw(op, sector, segs)

    def read(self, sector: int, nbytes: int) -> tuple[int, bytes]:
        """Read `nbytes` (whole sectors) at `sector`: (status, data)."""
        pages = self.data_pages(-(-nbytes // PAGE_SIZE))
        segs = [(ref, 0, min(PAGE_SIZE, nbytes - i * PAGE_SIZE) // SECTOR_SIZE - 1)
                for i, (ref, _mfn, _page) in enumerate(pages)]
        status = self.rw(Blkif.BLKIF_OP_READ, sector, segs)
        data = b"".join(page.read(0, (last + 1) * SECTOR_SIZE)
                        for (_r, _m, page), (_ref, _f, last) in zip(pages, segs, strict=True))
        return status, data

    def discard(self, sector: int, count: int, req_id: int = 7) -> int:
        (rsp,) = self.submit(discard_request(sector, count, req_id))
        return rsp["status"]


def rw_request(op: int, sector: int, segs: list[tuple[int, int, int]],
               req_id: int = 1, nr_segments: int | None = None) -> bytes:
    """A blkif_request entry's bytes."""
    seg = [{"gref": g, "first_sect": f, "last_sect": last} for g, f, last in segs]
    seg += [{"gref": 0, "first_sect": 0, "last_sect": 0}] * (
        Blkif.BLKIF_MAX_SEGMENTS_PER_REQUEST - len(seg))
    return BLKIF_REQUEST.pack(operation=op, handle=0, id=req_id, sector_number=sector,
                              nr_segments=len(segs) if nr_segments is None else nr_segments,
                              seg=seg)


def discard_request(sector: int, count: int, req_id: int) -> bytes:
    raw = BLKIF_REQUEST_DISCARD.pack(operation=Blkif.BLKIF_OP_DISCARD, flag=0, handle=0,
                                     id=req_id, sector_number=sector, nr_sectors=count)
    return raw.ljust(BLKIF_REQUEST.size, b"\0")


__all__ = ["BlockBed", "PyBlkfront", "discard_request", "rw_request"]
