"""Frames between Python netfronts through netback and learning bridges: both ways on
one bridge, nothing across bridges, learning, multi-slot packets, and a Hypothesis
property against a model of a learning bridge."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paravisor.services.netback.bridge import AGEING_NS, Bridge
from paravisor.testing.netfront import BROADCAST, NetBed, ether_frame


def _bed():
    bed = NetBed(nr_guests=3)
    a, b, c = (bed.vif(g, bridge=br) for g, br in zip(bed.guests, ("br0", "br0", "br1"),
                                                       strict=True))
    for front in (a, b, c):
        front.post_rx(16)
    return bed, a, b, c


def test_two_frontends_exchange_frames_and_another_bridge_sees_nothing():
    _bed_, a, b, c = _bed()
    hello = ether_frame(BROADCAST, a.mac, b"hello from a")
    assert a.send(hello) == [0]
    assert b.receive() == [hello]
    reply = ether_frame(a.mac, b.mac, b"hello from b" * 20)
    assert b.send(reply) == [0]
    assert a.receive() == [reply]
    assert c.receive() == [] and a.receive() == [] and b.receive() == []


def test_after_a_talks_to_b_replies_reach_only_a():
    bed = NetBed(nr_guests=3)
    a, b, d = (bed.vif(g, bridge="br0") for g in bed.guests)
    for front in (a, b, d):
        front.post_rx(8)
    unknown = ether_frame(b.mac, a.mac, b"to b, not learned yet")
    a.send(unknown)
    assert b.receive() == [unknown] and d.receive() == [unknown]      # flooded
    reply = ether_frame(a.mac, b.mac, b"reply")
    b.send(reply)
    assert a.receive() == [reply] and d.receive() == []               # learned: unicast
    again = ether_frame(b.mac, a.mac, b"again")
    a.send(again)
    assert b.receive() == [again] and d.receive() == []


def test_a_packet_in_several_slots_and_a_frame_over_several_buffers():
    _bed_, a, b, _c = _bed()
    big = ether_frame(BROADCAST, a.mac, bytes(range(256)) * 40)        # 10254 bytes
    assert a.send(big, fragment=1500) == [0] * 7
    assert b.receive() == [big]


def test_frames_wait_for_buffers_and_the_oldest_are_dropped():
    bed = NetBed(nr_guests=2)
    a, b = (bed.vif(g, bridge="br0") for g in bed.guests)
    frames = [ether_frame(BROADCAST, a.mac, i.to_bytes(2, "big")) for i in range(300)]
    for frame in frames:
        a.send(frame)
    vif_b = bed.netback.devices[(b.domid, 0)]
    assert vif_b.stats["rx_dropped"] == 300 - 256
    b.post_rx(10)
    assert b.receive() == frames[44:54]                # the oldest 44 were dropped


class _Recorder:
    def __init__(self, name):
        self.name, self.got = name, []

    def deliver(self, frame):
        self.got.append(frame)


def test_learned_entries_age_out_after_300_seconds():
    now = [0]
    bridge = Bridge("br0", lambda: now[0])
    p, q, r = (_Recorder(n) for n in "pqr")
    for port in (p, q, r):
        bridge.attach(port)
    mac_p, mac_q = b"\x02" + bytes(5), b"\x04" + bytes(5)
    bridge.forward(p, mac_q + mac_p + b"\x88\xb5")
    assert bridge.forward(q, mac_p + mac_q + b"\x88\xb5") == [p]
    now[0] = AGEING_NS
    assert bridge.forward(r, mac_p + bytes(6) + b"\x88\xb5") == [p, q]   # forgotten: flood


MACS = [bytes([0x00, 0x16, 0x3E, 0, 0, i]) for i in range(4)]
_dst = st.one_of(st.sampled_from(MACS), st.just(BROADCAST),
                 st.just(b"\x01\x00\x5e\x00\x00\x01"), st.just(b"\x02" * 6))
_step = st.tuples(st.integers(0, 3), _dst, st.booleans())


def _model_destinations(fdb, bridge_of, sender, dst, src):
    """The learning-bridge model: ports (indices) a frame from `sender` reaches."""
    fdb[bridge_of[sender]][src] = sender
    same = [i for i in range(len(bridge_of)) if bridge_of[i] == bridge_of[sender]]
    if not dst[0] & 1 and dst in fdb[bridge_of[sender]]:
        port = fdb[bridge_of[sender]][dst]
        return set() if port == sender else {port}
    return {i for i in same if i != sender}


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(_step, min_size=1, max_size=12))
def test_frames_go_exactly_where_a_learning_bridge_sends_them(steps):
    bed = NetBed(nr_guests=4)
    bridge_of = ["br0", "br0", "br0", "br1"]
    fronts = [bed.vif(g, bridge=br, mac=":".join(f"{x:02x}" for x in MACS[i]))
              for i, (g, br) in enumerate(zip(bed.guests, bridge_of, strict=True))]
    for front in fronts:
        front.post_rx(12)
    fdb = {"br0": {}, "br1": {}}
    for n, (sender, dst, spoof) in enumerate(steps):
        src = b"\x02\x00\x00\x00\x00" + bytes([sender]) if spoof else MACS[sender]
        frame = ether_frame(dst, src, n.to_bytes(2, "big") * 10)
        want = _model_destinations(fdb, bridge_of, sender, dst, src)
        assert fronts[sender].send(frame) == [0]
        got = {i for i, front in enumerate(fronts) if front.receive() == [frame]}
        assert got == want
        assert sender not in got
