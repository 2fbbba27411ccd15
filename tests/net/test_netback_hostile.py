"""A malicious netfront: random tx slots (bogus and foreign grant refs, offsets past the
page, sizes 0 or huge, more_data chains that never end, extra-info junk), req_prod
running ahead, rx requests with bogus grefs.  netback never raises, writes only memory
the frontend granted it, never leaks a bystander's page to anyone and keeps no mapping."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paravisor.abi.consts import XenbusState
from paravisor.abi.io import SRING_HEADER
from paravisor.isa.table import PAGE_SIZE
from paravisor.ring import MASK
from paravisor.services.netback.netif import RSP_ERROR, RSP_NULL, RSP_OKAY
from paravisor.testing.netfront import BROADCAST, NetBed, ether_frame

SECRET = b"\xa5\x5a" * (PAGE_SIZE // 2)
REQ_PROD = SRING_HEADER.offset("req_prod")
STATUSES = {RSP_OKAY, RSP_ERROR, RSP_NULL}


def _setup():
    bed = NetBed(nr_guests=3)
    evil, peer, bystander = bed.guests
    secret_mfn = bed.world.fresh_frame(bystander)
    bed.hv.memory.write(secret_mfn * PAGE_SIZE, SECRET)
    for ref in range(8, 40):            # the same refs the evil frontend uses
        bed.world.grant(bystander, bed.dom0, secret_mfn, ref=ref)
    front = bed.vif(evil, bridge="br0")
    other = bed.vif(peer, bridge="br0")
    other.post_rx(40)
    return bed, front, other, secret_mfn


_gref = st.one_of(st.integers(8, 40), st.sampled_from([0, 4095, 2**32 - 1]))
_slot = st.fixed_dictionaries({
    "gref": _gref,
    "offset": st.one_of(st.integers(0, 64), st.integers(0, 0xFFFF)),
    "flags": st.integers(0, 15),
    "id": st.integers(0, 0xFFFF),
    "size": st.one_of(st.integers(0, 100), st.integers(0, 0xFFFF)),
})
_round = st.tuples(st.lists(_slot, max_size=24), st.one_of(st.just(0), st.integers(-3, 40),
                                                           st.integers(0, MASK)),
                   st.lists(_gref, max_size=4))


def _allowed(bed, front, other) -> set[int]:
    """Frames netback may write: both frontends' rings and writable grants, their grant
    tables (GTF_* bits) and shared_info (event bits)."""
    frames = set()
    for f in (front, other):
        frames |= {f.tx_mfn, f.rx_mfn, f.guest.dom.shared_info_mfn}
        frames |= {mfn for _ref, mfn, _page in f.rx_posted.values()}
        frames |= set(bed.hv.grants.table_of(f.guest.dom).frames)
    return frames


def _play(bed, front, slots, ahead, rx_grefs) -> None:
    sring = front.tx_sring
    prod = sring.get(REQ_PROD)
    for i, slot in enumerate(slots):
        sring.write_entry(prod + i, sring.layout.request, slot)
    sring.set(REQ_PROD, prod + len(slots) + ahead)
    rx = front.rx_sring
    rprod = rx.get(REQ_PROD)
    for i, gref in enumerate(rx_grefs):
        rx.write_entry(rprod + i, rx.layout.request, {"id": i, "gref": gref})
    rx.set(REQ_PROD, rprod + len(rx_grefs))
    bed.hv.events.send(front.guest.dom, front.port)
    bed.settle()                                  # raises if netback raised


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds=st.lists(_round, min_size=1, max_size=3))
def test_random_rings_never_hurt_netback_or_a_bystander(rounds):
    bed, front, other, secret_mfn = _setup()
    vif = bed.netback.devices[(front.domid, 0)]
    allowed = _allowed(bed, front, other)
    before = bytes(bed.hv.memory.data)
    for slots, ahead, rx_grefs in rounds:
        _play(bed, front, slots, ahead, rx_grefs)
        assert len(bed.hv.grants.maptrack_of(0)) == (4 if vif.tx is not None else 2)
        if vif.tx is None:       # a broken ring disconnects the vif, never the daemon
            assert front.backend_state == str(int(XenbusState.XenbusStateClosing))
            break
        start = front.tx.rsp_cons
        prod = front.tx_sring.get(SRING_HEADER.offset("rsp_prod"))
        for index in range(start, start + ((prod - start) & MASK)):
            rsp = front.tx_sring.read_entry(index, front.tx_sring.layout.response)
            assert rsp["status"] in STATUSES
        front.tx.rsp_cons = prod
    after = bytes(bed.hv.memory.data)
    changed = {m for m in range(len(before) // PAGE_SIZE)
               if before[m * PAGE_SIZE:(m + 1) * PAGE_SIZE]
               != after[m * PAGE_SIZE:(m + 1) * PAGE_SIZE]}
    assert changed <= allowed
    assert bed.hv.memory.read(secret_mfn * PAGE_SIZE, PAGE_SIZE) == SECRET
    for frame in other.receive():
        assert SECRET[:64] not in frame
    # The peer is still served.
    probe = ether_frame(BROADCAST, other.mac, b"after the storm")
    assert other.send(probe) == [RSP_OKAY]


def test_a_chain_that_never_ends_is_answered_with_errors_not_held():
    bed, front, _other, _secret = _setup()
    ref = front.tx_buffers[0][0]
    slots = [{"gref": ref, "offset": 0, "flags": 4, "id": i, "size": 60} for i in range(40)]
    front.put_raw_tx(slots)
    front.kick(front.tx.push_requests())
    statuses = [r["status"] for r in front.tx_responses()]
    assert statuses and set(statuses) == {RSP_ERROR}
    assert bed.netback.devices[(front.domid, 0)].tx is not None       # still connected


def test_bad_packets_get_errors_and_good_ones_pass():
    bed, front, other, _secret = _setup()
    ref = front.tx_buffers[0][0]
    front.tx_buffers[0][2].write(0, ether_frame(BROADCAST, front.mac, b"ok" * 30))
    cases = [({"gref": ref, "offset": 0, "flags": 0, "id": 1, "size": 0}, RSP_ERROR),
             ({"gref": ref, "offset": 4090, "flags": 0, "id": 2, "size": 60}, RSP_ERROR),
             ({"gref": 9999, "offset": 0, "flags": 0, "id": 3, "size": 60}, RSP_ERROR),
             ({"gref": ref, "offset": 0, "flags": 0, "id": 4, "size": 13}, RSP_ERROR),
             ({"gref": ref, "offset": 0, "flags": 0, "id": 5, "size": 74}, RSP_OKAY)]
    for slot, status in cases:
        front.put_raw_tx([slot])
        front.kick(front.tx.push_requests())
        assert front.tx_responses() == [{"id": slot["id"], "status": status}]
    assert other.receive() == [ether_frame(BROADCAST, front.mac, b"ok" * 30)]


def test_rx_buffers_with_bogus_grefs_get_errors():
    bed, front, other, _secret = _setup()
    rx = front.rx_sring
    prod = rx.get(REQ_PROD)
    rx.write_entry(prod, rx.layout.request, {"id": 7, "gref": 12345})
    rx.set(REQ_PROD, prod + 1)
    bed.hv.events.send(front.guest.dom, front.port)
    bed.settle()
    other.send(ether_frame(BROADCAST, other.mac, b"for the evil one"))
    rsp = rx.read_entry(prod, rx.layout.response)
    assert rsp["id"] == 7 and rsp["status"] == RSP_ERROR
