"""The wire layer against hostile clients: whatever arrives, the daemon answers with a
well-formed reply or disconnects that client, and never raises."""

from hypothesis import given
from hypothesis import strategies as st

from paravisor.abi import XSD_ERRORS, XsType
from paravisor.services.xenstore.daemon import serve
from paravisor.services.xenstore.store import Client
from paravisor.services.xenstore.tree import XenStoreError
from paravisor.services.xenstore.wire import (
    PAYLOAD_MAX,
    Message,
    MessageReader,
    ProtocolError,
    parse_request,
)

words = st.sampled_from(["data", "x", "/local/domain/1", "/", "@releaseDomain", "T", "F",
                         "r1", "n0", "b2", "1", "-1", "4294967295", "", "a//b", "\xff"])
payloads = st.one_of(
    st.binary(max_size=64),
    st.lists(words, max_size=5).map(lambda ws: b"".join(w.encode("latin-1") + b"\0"
                                                         for w in ws)),
)
messages = st.builds(Message, st.integers(0, 30), st.integers(0, 2**32 - 1),
                     st.sampled_from([0, 0, 1, 2, 2**32 - 1]), payloads)


def _check_reply(request: Message, reply: Message) -> None:
    assert reply.req_id == request.req_id and reply.tx_id == request.tx_id
    assert len(reply.payload) <= PAYLOAD_MAX
    if reply.type == XsType.XS_ERROR:
        assert reply.payload.endswith(b"\0")
        assert reply.payload[:-1].decode() in XSD_ERRORS
    else:
        assert reply.type == request.type


@given(batch=st.lists(messages, max_size=12), privileged=st.booleans())
def test_any_message_gets_a_well_formed_reply(xs_host_factory, batch, privileged):
    xs = xs_host_factory()
    client = Client(0 if privileged else 1, privileged, lambda p, t: None)
    for msg in batch:
        try:
            request = parse_request(msg)
        except XenStoreError as err:
            assert err.errno in XSD_ERRORS
            continue
        _check_reply(msg, serve(xs.daemon, client, request))


@given(stream=st.binary(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=6))
def test_the_reader_never_misframes(stream, cuts):
    reader = MessageReader()
    pieces = [stream[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(stream)],
                                          strict=True)]
    out = []
    try:
        for piece in pieces:
            reader.feed(piece)
            while (msg := reader.next_message()) is not None:
                out.append(msg)
    except ProtocolError:
        return
    assert b"".join(m.encode() for m in out) + bytes(reader.buffer) == stream


ring_actions = st.lists(st.one_of(
    st.tuples(st.just("put"), st.binary(min_size=1, max_size=200)),
    st.tuples(st.just("message"), messages),
    st.tuples(st.just("index"), st.sampled_from(["req_prod", "rsp_cons", "req_cons",
                                                 "rsp_prod"]), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("take"), st.none()),
), max_size=10)


@given(actions=ring_actions)
def test_a_hostile_ring_never_crashes_the_daemon(xs_host_factory, actions):
    xs = xs_host_factory()
    victim, bystander = xs.guest(), xs.guest()
    ring = xs.ring(victim)
    for action, *args in actions:
        if action == "put":
            ring.put(args[0])
        elif action == "message":
            ring.put(args[0].encode()[:1024])
        elif action == "index":
            ring.set_field(args[0], args[1])
        else:
            ring.take()
        ring.notify()
    conn = xs.daemon.connections[victim.domid]
    assert conn.broken == (ring.field("error") != 0)
    honest = xs.ring(bystander)
    honest.request(XsType.XS_READ, b"name\0", req_id=42)
    assert [(m.req_id, m.payload) for m in honest.messages()] == [(42,
                                                                   bystander.name.encode())]
