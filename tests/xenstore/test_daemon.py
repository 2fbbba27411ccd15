"""The XenStore daemon serving a guest's ring page (io/xs_wire.h), domain life cycle,
and clients that break the protocol."""

from paravisor.abi import XsType
from paravisor.abi.consts import XenstoreMisc
from paravisor.mm.external import holders_of
from paravisor.mm.invariants import verify
from paravisor.services.xenstore.wire import HEADER_SIZE, Message


def _payloads(messages: list[Message]) -> list[tuple[int, bytes]]:
    return [(m.type, m.payload) for m in messages]


def test_write_then_read_through_the_ring(xs):
    dom = xs.guest()
    ring = xs.ring(dom)
    ring.request(XsType.XS_WRITE, b"data/k\0", b"value", req_id=7)
    ring.request(XsType.XS_READ, b"data/k\0", req_id=8)
    replies = ring.messages()
    assert [(m.type, m.req_id, m.payload) for m in replies] == [
        (XsType.XS_WRITE, 7, b"OK\0"), (XsType.XS_READ, 8, b"value")]
    assert xs.daemon.dom0_handle.read(f"/local/domain/{dom.domid}/data/k") == b"value"


def test_the_daemon_advertises_itself_in_the_page(xs):
    ring = xs.ring(xs.guest())
    assert ring.field("connection") == XenstoreMisc.XENSTORE_CONNECTED
    assert ring.field("server_features") & XenstoreMisc.XENSTORE_SERVER_FEATURE_ERROR


def test_errors_carry_xen_names(xs):
    ring = xs.ring(xs.guest())
    ring.request(XsType.XS_READ, b"nothing-here\0", req_id=3)
    ring.request(XsType.XS_READ, b"/local/domain/0\0", req_id=4)
    ring.request(XsType.XS_SET_TARGET, b"1\0", req_id=5)
    ring.request(XsType.XS_READ, b"no-terminator", req_id=6)
    assert [(m.type, m.req_id, m.payload) for m in ring.messages()] == [
        (XsType.XS_ERROR, 3, b"ENOENT\0"), (XsType.XS_ERROR, 4, b"EACCES\0"),
        (XsType.XS_ERROR, 5, b"ENOSYS\0"), (XsType.XS_ERROR, 6, b"EINVAL\0")]


def test_a_watch_reply_comes_before_its_first_event(xs):
    ring = xs.ring(xs.guest())
    ring.request(XsType.XS_WATCH, b"data\0tok\0")
    assert _payloads(ring.messages()) == [(XsType.XS_WATCH, b"OK\0"),
                                          (XsType.XS_WATCH_EVENT, b"data\0tok\0")]


def test_dom0_writes_reach_a_guest_watch_with_a_notification(xs):
    dom = xs.guest()
    ring = xs.ring(dom)
    ring.request(XsType.XS_WATCH, b"device\0dev\0")
    ring.messages()
    xs.daemon.dom0_handle.write(f"/local/domain/{dom.domid}/device/vbd/51712/state", "1")
    xs.hv.run(until=lambda: True)
    assert xs.hv.events.is_pending(dom, dom.xenstore_evtchn)
    assert _payloads(ring.messages()) == [
        (XsType.XS_WATCH_EVENT, b"device/vbd/51712/state\0dev\0")]


def test_transactions_over_the_ring(xs):
    ring = xs.ring(xs.guest())
    ring.request(XsType.XS_TRANSACTION_START, b"\0")
    (started,) = ring.messages()
    tx_id = int(started.payload.rstrip(b"\0"))
    ring.request(XsType.XS_WRITE, b"data/t\0", b"1", tx_id=tx_id)
    ring.request(XsType.XS_TRANSACTION_END, b"T\0", tx_id=tx_id)
    ring.request(XsType.XS_READ, b"data/t\0")
    assert _payloads(ring.messages()) == [(XsType.XS_WRITE, b"OK\0"),
                                          (XsType.XS_TRANSACTION_END, b"OK\0"),
                                          (XsType.XS_READ, b"1")]


def test_a_reply_larger_than_the_ring_arrives_in_pieces(xs):
    dom = xs.guest()
    ring = xs.ring(dom)
    big = bytes(range(256)) * 12                     # 3072 bytes: three rings' worth
    xs.daemon.dom0_handle.write(f"/local/domain/{dom.domid}/data/big", big)
    ring.request(XsType.XS_READ, b"data/big\0")
    received = bytearray()
    for _ in range(8):
        received += ring.take()
        ring.notify()                                # "I made room"
    assert received == Message(XsType.XS_READ, 1, 0, big).encode()


def test_dom0_only_operations_are_refused_to_a_guest(xs):
    ring = xs.ring(xs.guest())
    other = xs.guest(introduce=False)
    ring.request(XsType.XS_INTRODUCE, f"{other.domid}\0{other.xenstore_mfn}\0"
                 f"{other.xenstore_evtchn}\0".encode())
    ring.request(XsType.XS_RELEASE, b"1\0")
    assert _payloads(ring.messages()) == [(XsType.XS_ERROR, b"EACCES\0")] * 2
    assert other.domid not in xs.daemon.connections


def test_a_reply_over_the_payload_limit_is_e2big(xs):
    dom = xs.guest()
    h = xs.daemon.dom0_handle
    for i in range(200):                             # 200 names of 24 bytes: 5000 bytes
        h.write(f"/local/domain/{dom.domid}/data/{i:023d}", "")
    ring = xs.ring(dom)
    ring.request(XsType.XS_DIRECTORY, b"data\0")
    assert _payloads(ring.messages()) == [(XsType.XS_ERROR, b"E2BIG\0")]


def test_get_domain_path(xs):
    ring = xs.ring(xs.guest())
    ring.request(XsType.XS_GET_DOMAIN_PATH, b"5\0")
    assert _payloads(ring.messages()) == [(XsType.XS_GET_DOMAIN_PATH, b"/local/domain/5\0")]


# --- life cycle ------------------------------------------------------------------------------

def test_introduce_and_release_fire_special_watches(xs):
    events = []
    xs.daemon.dom0_handle.watch("@introduceDomain", "i", lambda p, t: events.append(p))
    xs.daemon.dom0_handle.watch("@releaseDomain", "r", lambda p, t: events.append(p))
    xs.hv.run(until=lambda: True)
    events.clear()
    dom = xs.guest()
    xs.hv.run(until=lambda: True)
    assert events == ["@introduceDomain"]
    xs.hv.destroy(dom)
    xs.hv.run(until=lambda: True)
    assert events == ["@introduceDomain", "@releaseDomain", "@releaseDomain"]


def test_a_destroyed_domain_leaves_nothing_behind(xs):
    dom = xs.guest()
    ring = xs.ring(dom)
    ring.request(XsType.XS_WRITE, b"data/x\0", b"1")
    ring.request(XsType.XS_WATCH, b"data\0t\0")
    mfn = dom.xenstore_mfn
    assert holders_of(xs.hv.mm, mfn) == [("xenstored d0", dom.domid, mfn, True)]
    xs.hv.destroy(dom)
    h = xs.daemon.dom0_handle
    assert not h.exists(f"/local/domain/{dom.domid}")
    assert dom.domid not in xs.daemon.connections
    assert not any(w.client.domid == dom.domid for w in xs.daemon.store.watches)
    assert holders_of(xs.hv.mm, mfn) == []
    verify(xs.hv.mm)


# --- hostile guests -----------------------------------------------------------------------

def _still_serves(xs) -> None:
    ring = xs.ring(xs.guest())
    ring.request(XsType.XS_READ, b"name\0")
    assert ring.messages()[0].type == XsType.XS_READ


def test_req_prod_far_ahead_disconnects_that_guest_only(xs):
    dom = xs.guest()
    ring = xs.ring(dom)
    ring.set_field("req_prod", 0x7FFF_FFFF)
    ring.notify()
    assert ring.field("error") == XenstoreMisc.XENSTORE_ERROR_RINGIDX
    assert xs.daemon.connections[dom.domid].broken
    assert any("more than a ring ahead" in message for _, message in xs.host.console.lines)
    _still_serves(xs)


def test_an_oversized_message_is_a_protocol_error(xs):
    dom = xs.guest()
    ring = xs.ring(dom)
    ring.put(Message(XsType.XS_READ, 1, 0, b"").encode()[:12] + (5000).to_bytes(4, "little"))
    ring.notify()
    assert ring.field("error") == XenstoreMisc.XENSTORE_ERROR_PROTO
    ring.request(XsType.XS_READ, b"name\0")          # ignored from now on
    assert ring.messages() == []
    _still_serves(xs)


def test_rsp_cons_running_away_disconnects(xs):
    dom = xs.guest()
    ring = xs.ring(dom)
    ring.set_field("rsp_cons", 0x1234_5678)
    ring.request(XsType.XS_READ, b"name\0")
    assert ring.field("error") == XenstoreMisc.XENSTORE_ERROR_RINGIDX
    _still_serves(xs)


def test_a_guest_overwriting_our_indices_only_confuses_itself(xs):
    dom = xs.guest()
    ring = xs.ring(dom)
    ring.request(XsType.XS_READ, b"name\0")
    ring.set_field("req_cons", 0)                    # scribble over the daemon's index
    ring.request(XsType.XS_READ, b"domid\0", req_id=2)
    replies = ring.messages()
    assert [m.req_id for m in replies] == [1, 2]      # nothing served twice
    assert replies[1].payload == str(dom.domid).encode()


def test_a_message_split_across_notifications_is_reassembled(xs):
    ring = xs.ring(xs.guest())
    data = Message(XsType.XS_READ, 9, 0, b"name\0").encode()
    for i in range(0, len(data), 3):
        ring.put(data[i:i + 3])
        ring.notify()
    (reply,) = ring.messages()
    assert (reply.req_id, reply.type) == (9, XsType.XS_READ)


def test_a_header_alone_waits_for_its_payload(xs):
    ring = xs.ring(xs.guest())
    data = Message(XsType.XS_READ, 9, 0, b"name\0").encode()
    ring.put(data[:HEADER_SIZE])
    ring.notify()
    assert ring.messages() == []
    ring.put(data[HEADER_SIZE:])
    ring.notify()
    assert [m.req_id for m in ring.messages()] == [9]


def test_a_daemon_bug_costs_one_connection_not_the_host(xs_host_factory, monkeypatch):
    xs = xs_host_factory(strict=False)
    dom = xs.guest()
    ring = xs.ring(dom)

    def broken_read(*args):
        raise RuntimeError("bug")
    monkeypatch.setattr(xs.daemon.store, "read", broken_read)
    ring.request(XsType.XS_READ, b"name\0")
    assert ring.field("error") == XenstoreMisc.XENSTORE_ERROR_COMM
    assert any("internal error" in message for _, message in xs.host.console.lines)
    monkeypatch.undo()
    _still_serves(xs)
