"""xenstored: the dom0 service that serves each domain's XenStore ring.

A domain talks to the store through its xenstore_domain_interface page (start_info
store_mfn) and an event channel (store_evtchn), as in io/xs_wire.h: `req` is a
1024-byte byte ring the guest fills (it advances req_prod, we advance req_cons), `rsp`
the one we fill (we advance rsp_prod, it advances rsp_cons).  Indices are free-running
u32 counters; a position is the index modulo 1024.  We keep our own copies of the
indices we write and read only the guest's, so a guest scribbling over ours confuses
nobody but itself.  A guest whose index runs more than a ring ahead, or whose message
claims more than 4096 payload bytes, is disconnected: `error` in the page says why
(XENSTORE_ERROR_RINGIDX / _PROTO), the daemon carries on.

The daemon maps the page with dom0's rights (a ForeignPage, like the console daemon)
and owns a dom0 port bound to the guest's store_evtchn whose `service` callback pumps
the connection.  It hears of domain deaths through hv.listeners: @releaseDomain fires
when a domain shuts down and again when it is destroyed; on destruction the connection
is closed and the domain's nodes are removed.

Ownership: the hypervisor loop; every callback here runs inside it.
"""

from __future__ import annotations

from paravisor.abi import XENSTORE_DOMAIN_INTERFACE, XenstoreMisc, XsType
from paravisor.evtchn import EventError
from paravisor.services.foreign import ForeignMapError, ForeignPage
from paravisor.services.xenstore.client import XsHandle
from paravisor.services.xenstore.store import Client, XenStore
from paravisor.services.xenstore.tree import (
    XenStoreError,
    domain_path,
    format_perms,
    parse_perms,
)
from paravisor.services.xenstore.wire import (
    OK,
    PAYLOAD_MAX,
    Message,
    MessageReader,
    ProtocolError,
    Request,
    error_reply,
    pack_strings,
    parse_domid,
    parse_int,
    parse_request,
    reply,
    watch_event,
)

RING_SIZE = int(XenstoreMisc.XENSTORE_RING_SIZE)
U32 = 0xFFFF_FFFF
OUTPUT_BACKLOG_MAX = 16 * 1024     # stop reading requests while this much is unsent
EVENT_BACKLOG_MAX = 64 * 1024      # beyond this, watch events are dropped (and logged)
_OFF = {name: XENSTORE_DOMAIN_INTERFACE.offset(name) for name in (
    "req", "rsp", "req_cons", "req_prod", "rsp_cons", "rsp_prod", "server_features",
    "connection", "error")}


class RingError(Exception):
    """A guest index that cannot be right; `code` is the XENSTORE_ERROR_* to report."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


class DomainConnection:
    """One domain's ring page and event channel, and its store client."""

    def __init__(self, daemon: XenStoreDaemon, dom, mfn: int, remote_port: int) -> None:
        hv = daemon.hv
        self.daemon, self.dom = daemon, dom
        self.page = ForeignPage(hv, daemon.dom0, dom, mfn, holder="xenstored")
        try:
            self.port = hv.events.bind_interdomain(daemon.dom0, dom.domid, remote_port)
        except EventError:
            self.page.unmap()
            raise
        daemon.dom0.evtchn.channels[self.port].service = self.on_event
        self.client = Client(dom.domid, dom.privileged, self._on_watch_event)
        self.reader = MessageReader()
        self.out = bytearray()                      # bytes not yet in the rsp ring
        self.req_cons = self.page.read32(_OFF["req_cons"])
        self.rsp_prod = self.page.read32(_OFF["rsp_prod"])
        self.held: list[Message] | None = None      # events raised while a request runs
        self.broken = False
        self.dropped_events = 0
        self._flush_scheduled = False
        self.page.write32(_OFF["server_features"],
                          XenstoreMisc.XENSTORE_SERVER_FEATURE_ERROR)
        self.page.write32(_OFF["error"], XenstoreMisc.XENSTORE_ERROR_NONE)
        self.page.write32(_OFF["connection"], XenstoreMisc.XENSTORE_CONNECTED)

    # --- the pump ---------------------------------------------------------------------------

    def on_event(self, _port: int) -> None:
        """The guest notified us (or we have events to push): move bytes both ways."""
        self._flush_scheduled = False
        if self.broken or self.dom.dying or not self.page.mapped:
            return
        try:
            progressed = self._pump()
        except RingError as err:
            self._fail(err.code, str(err))
            return
        except ProtocolError as err:
            self._fail(XenstoreMisc.XENSTORE_ERROR_PROTO, str(err))
            return
        except Exception as err:   # a daemon bug must cost this connection, not the host
            if self.daemon.hv.strict:
                raise
            self._fail(XenstoreMisc.XENSTORE_ERROR_COMM, f"internal error: {err!r}")
            return
        if progressed:
            self.daemon.hv.events.send(self.daemon.dom0, self.port)

    def _pump(self) -> bool:
        progressed = self._flush()
        while len(self.out) < OUTPUT_BACKLOG_MAX:
            msg = self.reader.next_message()
            if msg is None:
                data = self._take_requests()
                if not data:
                    break
                self.reader.feed(data)
                progressed = True
                continue
            self._handle(msg)
        return self._flush() or progressed

    def _take_requests(self) -> bytes:
        """Copy every request byte the guest published, once, and consume them."""
        prod = self.page.read32(_OFF["req_prod"])
        avail = (prod - self.req_cons) & U32
        if avail > RING_SIZE:
            raise RingError(XenstoreMisc.XENSTORE_ERROR_RINGIDX,
                            f"req_prod {prod:#x} is more than a ring ahead of req_cons "
                            f"{self.req_cons:#x}")
        data = bytearray()
        while len(data) < avail:
            start = (self.req_cons + len(data)) % RING_SIZE
            n = min(avail - len(data), RING_SIZE - start)
            data += self.page.read(_OFF["req"] + start, n)
        self.req_cons = (self.req_cons + avail) & U32
        self.page.write32(_OFF["req_cons"], self.req_cons)
        return bytes(data)

    def _flush(self) -> bool:
        """Move queued replies and events into the rsp ring, as far as there is room."""
        if not self.out:
            return False
        cons = self.page.read32(_OFF["rsp_cons"])
        used = (self.rsp_prod - cons) & U32
        if used > RING_SIZE:
            raise RingError(XenstoreMisc.XENSTORE_ERROR_RINGIDX,
                            f"rsp_cons {cons:#x} is not within a ring of rsp_prod "
                            f"{self.rsp_prod:#x}")
        room = min(RING_SIZE - used, len(self.out))
        written = 0
        while written < room:
            start = (self.rsp_prod + written) % RING_SIZE
            n = min(room - written, RING_SIZE - start)
            self.page.write(_OFF["rsp"] + start, bytes(self.out[written:written + n]))
            written += n
        del self.out[:room]
        self.rsp_prod = (self.rsp_prod + room) & U32
        self.page.write32(_OFF["rsp_prod"], self.rsp_prod)
        return room > 0

    def _handle(self, msg: Message) -> None:
        """Answer one request; watch events it raises follow its reply."""
        self.held = []
        try:
            try:
                response = serve(self.daemon, self.client, parse_request(msg))
            except XenStoreError as err:
                response = error_reply(msg.req_id, msg.tx_id, err.errno)
            self.out += response.encode()
        finally:
            held, self.held = self.held, None
        for event in held:
            self._queue_event(event)

    # --- watch events -------------------------------------------------------------------------

    def _on_watch_event(self, path: str, token: str) -> None:
        event = watch_event(path, token)
        if self.held is not None:
            self.held.append(event)
            return
        self._queue_event(event)
        if not self._flush_scheduled and not self.broken:
            # Raised by someone else's operation: push it from the loop, not from here.
            self._flush_scheduled = True
            self.daemon.hv.defer(self.on_event, self.port, self.dom.domid)

    def _queue_event(self, event: Message) -> None:
        if len(event.payload) > PAYLOAD_MAX or len(self.out) >= EVENT_BACKLOG_MAX:
            self.dropped_events += 1
            if self.dropped_events == 1:
                self.daemon.hv.log(f"xenstore: domain {self.dom.domid} is not reading its "
                                   "watch events; dropping them")
            return
        self.out += event.encode()

    # --- teardown -------------------------------------------------------------------------------

    def _fail(self, code: int, why: str) -> None:
        self.broken = True
        self.daemon.store.close(self.client)
        self.out.clear()
        if self.page.mapped:
            self.page.write32(_OFF["error"], code)
        self.daemon.hv.log(f"xenstore: domain {self.dom.domid} ({self.dom.name}): {why}; "
                           "connection closed", important=True)

    def close(self) -> None:
        """Release the ring: the client's watches and transactions, the port, the page."""
        self.daemon.store.close(self.client)
        self.broken = True
        dom0 = self.daemon.dom0
        if not dom0.dying and self.port < len(dom0.evtchn.channels):
            try:
                self.daemon.hv.events.close(dom0, self.port)
            except EventError:
                pass    # already closed: nothing left to release
        self.page.unmap()


class XenStoreDaemon:
    def __init__(self, hv, dom0, store: XenStore | None = None) -> None:
        self.hv, self.dom0 = hv, dom0
        self.store = store or XenStore()
        self.connections: dict[int, DomainConnection] = {}
        self._released: set[int] = set()
        self.dom0_handle = self.handle()
        for path in ("/local", "/local/domain", domain_path(dom0.domid), "/tool"):
            self.dom0_handle.mkdir(path)
        hv.listeners.append(self._domain_changed)

    def handle(self, domid: int | None = None) -> XsHandle:
        """A Python handle on the store for a dom0 service (watch callbacks run from the
        hypervisor loop)."""
        domid = self.dom0.domid if domid is None else domid
        return XsHandle(self.store, domid, privileged=domid == self.dom0.domid,
                        defer=self.hv.defer)

    # --- domains --------------------------------------------------------------------------

    def create_domain_home(self, dom) -> None:
        """The nodes libxl makes for a new domain: its home, readable by it, with name
        and domid; device/ and data/ it owns (so it may write there)."""
        h, home, d = self.dom0_handle, domain_path(dom.domid), dom.domid
        h.rm(home)
        h.write(home, b"")
        h.set_perms(home, [f"n{self.dom0.domid}", f"r{d}"])
        h.write(f"{home}/name", dom.name)
        h.write(f"{home}/domid", str(d))
        for sub in ("device", "data", "control"):
            h.mkdir(f"{home}/{sub}")
        for sub in ("device", "data"):
            h.set_perms(f"{home}/{sub}", [f"n{d}"])

    def introduce(self, dom, mfn: int | None = None, port: int | None = None) -> None:
        """Connect `dom`'s ring (its store_mfn / store_evtchn unless given) and fire
        @introduceDomain (XS_INTRODUCE)."""
        if dom.domid in self.connections:
            raise XenStoreError("EEXIST", f"domain {dom.domid} is already introduced")
        mfn = dom.xenstore_mfn if mfn is None else mfn
        port = dom.xenstore_evtchn if port is None else port
        try:
            conn = DomainConnection(self, dom, mfn, port)
        except ForeignMapError as err:
            raise XenStoreError("EINVAL", str(err)) from None
        except EventError as err:
            raise XenStoreError("EINVAL", f"cannot bind port {port}: {err}") from None
        self.connections[dom.domid] = conn
        self._released.discard(dom.domid)
        self.store.fire_special("@introduceDomain")

    def release(self, domid: int) -> None:
        """Disconnect a domain's ring (XS_RELEASE); its nodes stay."""
        conn = self.connections.pop(domid, None)
        if conn is None:
            raise XenStoreError("ENOENT", f"domain {domid} is not introduced")
        conn.close()
        self.store.fire_special("@releaseDomain")

    def _domain_changed(self, dom) -> None:
        if dom is self.dom0:
            return          # the host is going down; the store goes with it
        if dom.dying:
            if dom.domid in self.connections:
                self.connections.pop(dom.domid).close()
            self.store.domain_gone(dom.domid)
            self._released.discard(dom.domid)
            self.store.fire_special("@releaseDomain")
        elif dom.is_shutdown and dom.domid not in self._released:
            self._released.add(dom.domid)
            self.store.fire_special("@releaseDomain")


# --- requests -------------------------------------------------------------------------------

def _need_dom0(client: Client) -> None:
    if not client.privileged:
        raise XenStoreError("EACCES", "only the control domain may do that")


def _introduce(daemon: XenStoreDaemon, client: Client, req: Request) -> bytes:
    _need_dom0(client)
    domid = parse_domid(req.args[0])
    mfn, port = parse_int(req.args[1]), parse_int(req.args[2])
    dom = daemon.hv.lookup(domid)
    if dom is None or domid == daemon.dom0.domid:
        raise XenStoreError("EINVAL", f"no domain {domid} to introduce")
    daemon.introduce(dom, mfn & U32, port)
    return OK


def _release(daemon: XenStoreDaemon, client: Client, req: Request) -> bytes:
    _need_dom0(client)
    daemon.release(parse_domid(req.args[0]))
    return OK


def _is_introduced(daemon: XenStoreDaemon, client: Client, req: Request) -> bytes:
    _need_dom0(client)
    return b"T\0" if parse_domid(req.args[0]) in daemon.connections else b"F\0"


def _transaction_start(daemon: XenStoreDaemon, client: Client, req: Request) -> bytes:
    if req.tx_id != 0:
        raise XenStoreError("EINVAL", "TRANSACTION_START inside a transaction")
    return f"{daemon.store.transaction_start(client)}\0".encode()


def _transaction_end(daemon: XenStoreDaemon, client: Client, req: Request) -> bytes:
    if req.args[0] not in ("T", "F"):
        raise XenStoreError("EINVAL", "TRANSACTION_END takes T or F")
    daemon.store.transaction_end(client, req.tx_id, req.args[0] == "T")
    return OK


def _ok(action):
    def run(daemon: XenStoreDaemon, client: Client, req: Request) -> bytes:
        action(daemon.store, client, req)
        return OK
    return run


_SERVE = {
    XsType.XS_READ: lambda d, c, r: d.store.read(c, r.tx_id, r.args[0]),
    XsType.XS_DIRECTORY: lambda d, c, r: pack_strings(d.store.directory(c, r.tx_id,
                                                                        r.args[0])),
    XsType.XS_GET_PERMS: lambda d, c, r: pack_strings(format_perms(
        d.store.get_perms(c, r.tx_id, r.args[0]))),
    XsType.XS_GET_DOMAIN_PATH: lambda d, c, r: pack_strings(
        [domain_path(parse_domid(r.args[0]))]),
    XsType.XS_WRITE: _ok(lambda s, c, r: s.write(c, r.tx_id, r.args[0], r.value)),
    XsType.XS_MKDIR: _ok(lambda s, c, r: s.mkdir(c, r.tx_id, r.args[0])),
    XsType.XS_RM: _ok(lambda s, c, r: s.rm(c, r.tx_id, r.args[0])),
    XsType.XS_SET_PERMS: _ok(lambda s, c, r: s.set_perms(c, r.tx_id, r.args[0],
                                                         parse_perms(list(r.args[1:])))),
    XsType.XS_WATCH: _ok(lambda s, c, r: s.watch(c, r.args[0], r.args[1])),
    XsType.XS_UNWATCH: _ok(lambda s, c, r: s.unwatch(c, r.args[0], r.args[1])),
    XsType.XS_RESET_WATCHES: _ok(lambda s, c, r: s.reset_watches(c)),
    XsType.XS_TRANSACTION_START: _transaction_start,
    XsType.XS_TRANSACTION_END: _transaction_end,
    XsType.XS_INTRODUCE: _introduce,
    XsType.XS_RELEASE: _release,
    XsType.XS_IS_DOMAIN_INTRODUCED: _is_introduced,
}


def serve(daemon: XenStoreDaemon, client: Client, req: Request) -> Message:
    """Carry out one parsed request for `client`; its reply (XS_ERROR on failure)."""
    try:
        return reply(req, _SERVE[req.op](daemon, client, req))
    except XenStoreError as err:
        return error_reply(req.req_id, req.tx_id, err.errno)
