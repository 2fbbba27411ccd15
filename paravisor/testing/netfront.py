"""A netfront written in Python, acting as a guest, to drive netback in tests.

    bed = NetBed(nr_guests=3)                          # dom0, XenStore, netback, guests
    a = bed.vif(bed.guests[0], bridge="br0")           # vif nodes + connected frontend
    b = bed.vif(bed.guests[1], bridge="br0")
    b.post_rx(8)                                       # offer 8 receive buffers
    a.send(frame)                                      # -> [NETIF_RSP_OKAY]
    b.receive()                                        # -> [frame]

As in testing/blkfront.py, the guest's side is done the way the guest would do it by
plain stores: grant entries written into its table (GrantWorld.grant), ring and buffer
pages its own frames reached through ForeignPage; XenStore writes through an
unprivileged handle with its domid; notifications through the real event-channel code.
Dom0's services run when `settle()` drains the hypervisor's deferred queue.

Grant refs: each frontend takes refs from its guest's counter (from 8 up): tx ring, rx
ring, then TX_BUFFERS read-only tx pages and rx pages as they are posted.

Ownership: test code only.
"""

from __future__ import annotations

from typing import Any

from paravisor.abi.consts import XenbusState
from paravisor.abi.io import NETIF_TX_REQUEST, NETIF_TX_RESPONSE
from paravisor.isa.table import PAGE_SIZE
from paravisor.ring import FrontRing, RingLayout, SharedRing
from paravisor.services.foreign import ForeignPage
from paravisor.services.netback import Netback, backend_path, frontend_path, write_vif_nodes
from paravisor.services.netback.bridge import BridgeSetting
from paravisor.services.netback.netif import NETIF_RX_RING, NETRXF_MORE_DATA
from paravisor.services.xenstore.client import XsHandle
from paravisor.services.xenstore.daemon import XenStoreDaemon
from paravisor.testing.grant_harness import GrantWorld
from paravisor.testing.guests import Guest
from paravisor.toolstack.devices import VifRate, VifSpec, default_mac

TX_BUFFERS = 20
FIRST_REF = 8
_CONNECTED = str(int(XenbusState.XenbusStateConnected))
# The frontend's view of the tx ring: requests as netif_tx_request (the backend reads
# them as raw bytes first, since a slot may be an extra-info descriptor).
NETIF_TX_FRONT_RING = RingLayout(NETIF_TX_REQUEST, NETIF_TX_RESPONSE)


class NetBed:
    """dom0 with XenStore and netback, and `nr_guests` idle guests."""

    def __init__(self, nr_guests: int = 3, bridges: tuple[BridgeSetting, ...] = (),
                 host_mib: int = 16) -> None:
        self.world = GrantWorld(nr_guests=nr_guests, host_mib=host_mib)
        self.hv, self.dom0, self.guests = self.world.hv, self.world.dom0, self.world.guests
        self.xenstore = XenStoreDaemon(self.hv, self.dom0.dom)
        for g in self.guests:
            self.xenstore.create_domain_home(g.dom)
        self.netback = Netback(self.hv, self.dom0.dom, self.xenstore, bridges)
        self.next_ref: dict[int, int] = {}
        self.next_devid: dict[int, int] = {}

    def settle(self) -> None:
        """Run the dom0 services the hypervisor loop would run now."""
        self.hv.run_deferred()

    def ref(self, guest: Guest) -> int:
        """The next unused grant ref of `guest`."""
        ref = self.next_ref.get(guest.dom.domid, FIRST_REF)
        self.next_ref[guest.dom.domid] = ref + 1
        return ref

    def add_nodes(self, guest: Guest, bridge: str = "xenbr0", mac: str | None = None,
                  pcap: str | None = None, rate: VifRate | None = None) -> VifSpec:
        """Write the next vif's nodes for `guest` (as the toolstack does)."""
        domid = guest.dom.domid
        devid = self.next_devid.get(domid, 0)
        self.next_devid[domid] = devid + 1
        spec = VifSpec(devid=devid, mac=mac or default_mac(guest.dom.name, devid),
                       bridge=bridge, pcap=pcap, rate=rate)
        write_vif_nodes(self.xenstore.dom0_handle, domid, spec)
        self.settle()
        return spec

    def vif(self, guest: Guest, bridge: str = "xenbr0", mac: str | None = None,
            pcap: str | None = None, connect: bool = True,
            rate: VifRate | None = None) -> PyNetfront:
        spec = self.add_nodes(guest, bridge, mac, pcap, rate)
        front = PyNetfront(self, guest, spec.devid)
        if connect:
            front.connect()
        return front

    def backend(self, domid: int, devid: int, key: str) -> str:
        return self.xenstore.dom0_handle.read_str(f"{backend_path(domid, devid)}/{key}")


class PyNetfront:
    """The guest's end of one vif."""

    def __init__(self, bed: NetBed, guest: Guest, devid: int) -> None:
        self.bed, self.guest, self.hv, self.devid = bed, guest, bed.hv, devid
        self.domid = guest.dom.domid
        self.xs = XsHandle(bed.xenstore.store, self.domid, privileged=False)
        self.path = frontend_path(self.domid, devid)
        self.mac = bytes(int(x, 16) for x in self.xs.read_str(f"{self.path}/mac").split(":"))
        self.tx_ref, self.tx_mfn, self.tx_page = self._page(readonly=False)
        self.rx_ref, self.rx_mfn, self.rx_page = self._page(readonly=False)
        self.tx_sring = SharedRing(self.tx_page, NETIF_TX_FRONT_RING)
        self.rx_sring = SharedRing(self.rx_page, NETIF_RX_RING)
        for sring in (self.tx_sring, self.rx_sring):
            sring.init()
        self.tx, self.rx = FrontRing(self.tx_sring), FrontRing(self.rx_sring)
        self.port = self.hv.events.alloc_unbound(guest.dom, self.domid, bed.dom0.dom.domid)
        self.tx_buffers = [self._page(readonly=True) for _ in range(TX_BUFFERS)]
        self.rx_posted: dict[int, tuple[int, int, ForeignPage]] = {}   # id -> buffer
        self.next_rx_id = 0

    def _page(self, readonly: bool) -> tuple[int, int, ForeignPage]:
        """A fresh frame of the guest granted to dom0: (ref, mfn, accessor)."""
        ref, mfn = self.bed.ref(self.guest), self.bed.world.fresh_frame(self.guest)
        self.bed.world.grant(self.guest, self.bed.dom0, mfn, ref=ref, readonly=readonly)
        return ref, mfn, ForeignPage(self.hv, self.bed.dom0.dom, self.guest.dom, mfn,
                                      holder="test netfront")

    def set_state(self, state: XenbusState) -> None:
        self.xs.write(f"{self.path}/state", int(state))
        self.bed.settle()

    @property
    def backend_state(self) -> str:
        return self.bed.backend(self.domid, self.devid, "state")

    def connect(self, rx_copy: bool = True) -> None:
        """Write the ring refs, event channel and features (netif.h's frontend keys),
        go Initialised, and Connected once the backend is."""
        for key, value in (("tx-ring-ref", self.tx_ref), ("rx-ring-ref", self.rx_ref),
                           ("event-channel", self.port),
                           ("request-rx-copy", 1 if rx_copy else 0),
                           ("feature-rx-notify", 1), ("feature-sg", 1)):
            self.xs.write(f"{self.path}/{key}", value)
        self.set_state(XenbusState.XenbusStateInitialised)
        if self.backend_state == _CONNECTED:
            self.set_state(XenbusState.XenbusStateConnected)

    def kick(self, push: bool) -> None:
        if push:
            self.hv.events.send(self.guest.dom, self.port)
        self.bed.settle()

    # transmit ---------------------------------------------------------------------------

    def send(self, frame: bytes, fragment: int = PAGE_SIZE) -> list[int]:
        """Transmit `frame` in fragments of at most `fragment` bytes (one tx buffer page
        each); the statuses of its slots' responses."""
        pieces = [frame[i:i + fragment] for i in range(0, len(frame), fragment)] or [b""]
        for i, piece in enumerate(pieces):
            ref, _mfn, page = self.tx_buffers[i % TX_BUFFERS]
            page.write(0, piece)
            more = 4 if i < len(pieces) - 1 else 0          # NETTXF_more_data
            self.tx.put_request({"gref": ref, "offset": 0, "flags": more, "id": i,
                                 "size": len(frame) if i == 0 else len(piece)})
        self.kick(self.tx.push_requests())
        return [r["status"] for r in self.tx_responses()]

    def put_raw_tx(self, entries: list[dict[str, Any]]) -> None:
        """Queue raw tx requests (not yet published)."""
        for entry in entries:
            self.tx.put_request(entry)

    def tx_responses(self) -> list[dict[str, Any]]:
        out = []
        while self.tx.unconsumed_responses():
            out.append(self.tx.get_response())
        return out

    # receive ----------------------------------------------------------------------------

    def post_rx(self, count: int) -> None:
        """Offer `count` fresh writable buffers and notify (feature-rx-notify)."""
        for _ in range(count):
            buffer = self._page(readonly=False)
            rx_id = self.next_rx_id
            self.next_rx_id = (rx_id + 1) & 0xFFFF
            self.rx_posted[rx_id] = buffer
            self.rx.put_request({"id": rx_id, "gref": buffer[0]})
        self.kick(self.rx.push_requests())

    def receive(self) -> list[bytes]:
        """Every frame received since the last call (chains of more_data joined);
        errored frames are left out."""
        frames, parts, bad = [], [], False
        while self.rx.unconsumed_responses():
            rsp = self.rx.get_response()
            _ref, _mfn, page = self.rx_posted.pop(rsp["id"])
            if rsp["status"] < 0:
                bad = True
            else:
                parts.append(page.read(rsp["offset"], rsp["status"]))
            if not rsp["flags"] & NETRXF_MORE_DATA:
                if not bad:
                    frames.append(b"".join(parts))
                parts, bad = [], False
        return frames


def ether_frame(dst: bytes, src: bytes, payload: bytes, ethertype: int = 0x88B5) -> bytes:
    """An Ethernet II frame (0x88B5: the IEEE local experimental ethertype)."""
    return dst + src + ethertype.to_bytes(2, "big") + payload


BROADCAST = b"\xff" * 6

__all__ = ["BROADCAST", "NetBed", "PyNetfront", "ether_frame"]
