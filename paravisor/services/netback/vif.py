"""One virtual network interface's backend: the xenbus handshake, tx and rx.

Handshake.  On a new backend directory the vif reads `frontend`, `mac`, `bridge` and
`pcap`, publishes feature-rx-copy = 1, feature-rx-flip = 0, feature-sg = 1 and goes
InitWait.  When the frontend says Initialised or Connected (Linux's netfront goes
straight to Connected) it reads tx-ring-ref, rx-ring-ref, event-channel and
request-rx-copy (which must be 1: page flipping is not supported), maps both rings
with map_grant, binds the event channel, plugs the vif into its bridge and goes
Connected.  Frontend Closing/Closed unplug it and unmap everything.

TX (guest -> bridge).  Every slot is copied once (XSA-155) into a TxChain; a complete
chain is validated (size 14..65535, fragments inside their pages, at most
XEN_NETIF_NR_SLOTS_MIN data slots), each fragment is read through a read-only grant
mapping of the frontend's domain only, and the slots are answered (NETIF_RSP_OKAY, or
NETIF_RSP_ERROR for a bad packet; extra-info slots NETIF_RSP_NULL) before the frame goes
to the bridge.

RX (bridge -> guest).  Frames wait in a queue of at most RX_QUEUE_MAX (the oldest is
dropped and counted beyond that) until the frontend has posted enough rx buffers; each
buffer is mapped writable, filled from offset 0, unmapped and answered {id, offset 0,
flags, status = bytes} in the request's own slot; a frame longer than a page spans
several buffers with NETRXF_more_data (feature-sg), a buffer whose grant does not map is
answered NETIF_RSP_ERROR.

A ring with impossible indices disconnects the vif (state Closing); guest input never
raises out of the service.

Rate.  A vif with xl's `rate=` (the backend's `rate` node) sends only as many bytes per
interval of virtual time as its TxCredit allows (credit.py): a packet the credit does not
cover is held, unanswered, and the tx ring waits for a service timer (hv.call_at) at the
next refill.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from paravisor.abi.consts import XenbusState
from paravisor.abi.io import SRING_HEADER
from paravisor.grants.mapping import GrantError, GrantMapping, map_grant
from paravisor.isa.table import PAGE_SIZE
from paravisor.ring import BackRing, RingError, SharedRing
from paravisor.services.backend import BackendDevice, read_int
from paravisor.services.netback.credit import TxCredit, parse_rate_node
from paravisor.services.netback.netif import (
    NETIF_RX_RING,
    NETIF_TX_RING,
    NETRXF_MORE_DATA,
    RSP_ERROR,
    RSP_OKAY,
    Fragment,
    TxChain,
    TxSlot,
    mac_bytes,
    tx_responses,
)
from paravisor.services.netback.pcap import PcapWriter
from paravisor.services.xenstore.tree import XenStoreError

if TYPE_CHECKING:
    from paravisor.services.netback.backend import Netback
    from paravisor.services.netback.bridge import Bridge

RX_QUEUE_MAX = 256
_REQ_EVENT = SRING_HEADER.offset("req_event")
_S = XenbusState


class Vif(BackendDevice):
    """The backend of one vif of one domain, from InitWait to Closed."""

    # Linux's netfront goes straight to Connected; a frontend may start over.
    CONNECT_ON = (_S.XenbusStateInitialised, _S.XenbusStateConnected)
    REOPENS = True

    def __init__(self, service: Netback, domid: int, devid: int) -> None:
        super().__init__(service, domid, devid)
        self.service: Netback = service
        self.name = f"vif{domid}.{devid}"
        self.mac = b""
        self.bridge: Bridge | None = None
        self.pcap: PcapWriter | None = None
        self.pages: list[GrantMapping] = []
        self.tx: BackRing | None = None
        self.rx: BackRing | None = None
        self.sg = False
        self.chain = TxChain()
        self.credit: TxCredit | None = None    # xl's rate=, if set
        self.held: TxChain | None = None       # a complete packet waiting for credit
        self.refill_armed = False
        self.rx_queue: deque[bytes] = deque()
        self.stats = dict.fromkeys(("tx_packets", "tx_errors", "rx_packets", "rx_errors",
                                    "rx_dropped"), 0)

    # xenbus state machine ---------------------------------------------------------------

    def start(self) -> None:
        """Read the toolstack's keys, publish the features, go to InitWait."""
        try:
            self.frontend = self.xs.read_str(f"{self.path}/frontend")
            self.mac = mac_bytes(self.xs.read_str(f"{self.path}/mac"))
            self.bridge = self.service.switch.bridge(self.xs.read_str(f"{self.path}/bridge"))
            pcap = self.xs.read_str(f"{self.path}/pcap") \
                if self.xs.exists(f"{self.path}/pcap") else None
            rate = parse_rate_node(self.xs.read_str(f"{self.path}/rate")) \
                if self.xs.exists(f"{self.path}/rate") else None
        except (XenStoreError, ValueError) as err:
            self.fail(f"incomplete vif directory: {err}")
            return
        if rate is not None:
            self.credit = TxCredit(*rate, now=self.hv.now)
        if pcap:
            try:
                self.pcap = PcapWriter(pcap, lambda: self.hv.now)
            except OSError as err:
                self.log(f"cannot write pcap {pcap}: {err.strerror}")
        self.wait_for_frontend((("feature-rx-copy", 1), ("feature-rx-flip", 0),
                                ("feature-sg", 1)))

    @property
    def label(self) -> str:
        return f"netback {self.name}"

    def connected(self) -> bool:
        return self.tx is not None

    def may_connect(self) -> bool:
        """Only from InitWait: a vif that failed stays Closed until the frontend
        starts over."""
        return self.tx is None and self.state() == _S.XenbusStateInitWait

    def connect(self) -> None:
        """Map both rings, bind the event channel, plug into the bridge, go Connected."""
        f = self.frontend
        tx_ref = read_int(self.xs, f"{f}/tx-ring-ref")
        rx_ref = read_int(self.xs, f"{f}/rx-ring-ref")
        evtchn = read_int(self.xs, f"{f}/event-channel")
        if read_int(self.xs, f"{f}/request-rx-copy") != 1:
            self.fail("the frontend did not request rx-copy (page flipping is not supported)")
            return
        self.sg = read_int(self.xs, f"{f}/feature-sg") == 1
        pages = self.attach((tx_ref, rx_ref), evtchn, "the rings")
        if pages is None:
            return
        self.pages = pages
        self.tx = BackRing(SharedRing(self.pages[0], NETIF_TX_RING))
        self.rx = BackRing(SharedRing(self.pages[1], NETIF_RX_RING))
        if self.bridge is not None:
            self.bridge.attach(self)
        self.set_state(_S.XenbusStateConnected)

    def disconnect(self) -> None:
        """Unplug, close the port, unmap the rings, drop queued frames (idempotent)."""
        if self.bridge is not None:
            self.bridge.detach(self)
        self.close_port()
        for page in self.pages:
            page.unmap()
        self.pages = []
        self.tx = self.rx = None
        self.chain = TxChain()
        self.held = None
        self.stats["rx_dropped"] += len(self.rx_queue)
        self.rx_queue.clear()

    def release(self) -> None:
        """Close the capture file."""
        if self.pcap is not None:
            self.pcap.close()

    # events -----------------------------------------------------------------------------

    def on_event(self, _port: int) -> None:
        """The frontend notified: transmit what it queued, fill the buffers it posted."""
        try:
            self.tx_work()
            self.rx_work()
        except (RingError, GrantError) as err:
            self.broken(err)
        self.service.switch.poll()

    # TX: guest -> bridge ----------------------------------------------------------------

    def tx_work(self) -> None:
        """Take every tx slot, a packet at a time; answer; re-arm with the final check.
        Out of credit, stop with the packet held and wait for the refill."""
        while self.tx is not None:
            if self.held is not None and self.may_send(self.held):
                chain, self.held = self.held, None
                self.transmit(chain)
            while self.tx is not None and self.held is None and self.tx.unconsumed_requests():
                self.chain.add(bytes(self.tx.copy_request()["raw"]))
                if self.chain.overlong:
                    self.answer(self.chain.drain(), RSP_ERROR)
                    if self.chain.complete:
                        self.stats["tx_errors"] += 1
                        self.chain = TxChain()
                elif self.chain.complete:
                    chain, self.chain = self.chain, TxChain()
                    if self.may_send(chain):
                        self.transmit(chain)
                    else:
                        self.held = chain
            if self.tx is None:
                return
            if self.tx.push_responses():
                self.notify()
            if self.held is not None:
                self.wait_for_credit()
                return
            if not self.tx.final_check_for_requests():
                return

    def may_send(self, chain: TxChain) -> bool:
        """Whether the rate limit lets the packet go now (spending its credit)."""
        if self.credit is None:
            return True
        size = next((slot.size for slot in chain.slots if not slot.extra), 0)
        return self.credit.take(size, self.hv.now)

    def wait_for_credit(self) -> None:
        """Resume the tx ring at the next refill (one timer at a time)."""
        if self.refill_armed or self.credit is None:
            return
        self.refill_armed = True

        def refilled() -> None:
            self.refill_armed = False
            self.on_event(0)

        self.hv.call_at(self.credit.next_refill, refilled, self.domid)

    def answer(self, slots: list[TxSlot], status: int) -> None:
        assert self.tx is not None
        for response in tx_responses(slots, status):
            self.tx.put_response(response)

    def transmit(self, chain: TxChain) -> None:
        """Validate and fetch one complete packet, answer its slots, forward it."""
        try:
            frame = self.fetch(chain.fragments())
        except (ValueError, GrantError):
            self.stats["tx_errors"] += 1
            self.answer(chain.slots, RSP_ERROR)
            return
        self.answer(chain.slots, RSP_OKAY)
        self.stats["tx_packets"] += 1
        if self.pcap is not None:
            self.pcap.write(frame)
        if self.bridge is not None:
            self.bridge.forward(self, frame)

    def fetch(self, fragments: list[Fragment]) -> bytes:
        """The packet's bytes, each fragment through a read-only mapping of a grant of
        this vif's domain (GrantError if one does not map)."""
        parts = []
        for frag in fragments:
            page = map_grant(self.hv, self.service.dom0, self.domid, frag.gref,
                             readonly=True)
            try:
                parts.append(page.read(frag.offset, frag.length))
            finally:
                page.unmap()
        return b"".join(parts)

    # RX: bridge -> guest ----------------------------------------------------------------

    def deliver(self, frame: bytes) -> None:
        """A frame from the bridge for this vif: queue it and fill posted buffers."""
        if self.rx is None:
            self.stats["rx_dropped"] += 1
            return
        if self.pcap is not None:
            self.pcap.write(frame)
        if len(self.rx_queue) >= RX_QUEUE_MAX:
            self.rx_queue.popleft()
            self.stats["rx_dropped"] += 1
        self.rx_queue.append(frame)
        try:
            self.rx_work()
        except (RingError, GrantError) as err:
            self.broken(err)        # this vif's ring, not the sender's problem

    def rx_work(self) -> None:
        """Copy queued frames into posted buffers while there are enough of them."""
        pushed = False
        while self.rx is not None and self.rx_queue:
            frame = self.rx_queue[0]
            need = -(-len(frame) // PAGE_SIZE)
            if need > 1 and not self.sg:
                self.rx_queue.popleft()
                self.stats["rx_dropped"] += 1
                continue
            if self.rx.unconsumed_requests() < need and not self.wait_for_buffers(need):
                break
            self.rx_queue.popleft()
            self.receive(frame, need)
            pushed = True
        if pushed and self.rx is not None and self.rx.push_responses():
            self.notify()

    def wait_for_buffers(self, need: int) -> bool:
        """Ask to be notified when `need` buffers are posted (req_event), then look once
        more (the final check of io/ring.h, for a count instead of one)."""
        assert self.rx is not None
        self.rx.sring.set(_REQ_EVENT, self.rx.req_cons + need)
        return self.rx.unconsumed_requests() >= need

    def receive(self, frame: bytes, need: int) -> None:
        """Fill `need` posted buffers with `frame`, each answered in its own slot."""
        assert self.rx is not None
        failed = False
        for i in range(need):
            request = self.rx.copy_request()
            chunk = frame[i * PAGE_SIZE:(i + 1) * PAGE_SIZE]
            status = len(chunk)
            try:
                page = map_grant(self.hv, self.service.dom0, self.domid, request["gref"])
                try:
                    page.write(0, chunk)
                finally:
                    page.unmap()
            except GrantError:
                status, failed = RSP_ERROR, True
            self.rx.put_response({"id": request["id"], "offset": 0, "status": status,
                                  "flags": NETRXF_MORE_DATA if i < need - 1 else 0})
        self.stats["rx_errors" if failed else "rx_packets"] += 1

