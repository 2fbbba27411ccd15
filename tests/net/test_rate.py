"""xl's vif `rate=`: netback sends only as many bytes per interval of virtual time as the
credit allows; a packet past the credit waits, unanswered, for the refill timer."""

from paravisor.services.netback.credit import TxCredit, parse_rate_node
from paravisor.testing.netfront import NetBed, ether_frame
from paravisor.toolstack.devices import VifRate

INTERVAL_NS = 100_000_000                     # 100 ms
RATE = VifRate(bytes_per_sec=10_000, interval_us=INTERVAL_NS // 1000)   # 1000 B/interval


def _advance(bed: NetBed, ns: int) -> None:
    """Let virtual time pass as the loop would: fire due timers, run the services."""
    bed.hv.now += ns
    bed.hv._fire_timers()
    bed.settle()


def test_packets_past_the_credit_wait_for_the_next_interval():
    bed = NetBed(nr_guests=2)
    a = bed.vif(bed.guests[0], bridge="br0", rate=RATE)
    b = bed.vif(bed.guests[1], bridge="br0")
    b.post_rx(8)
    assert bed.backend(a.domid, a.devid, "rate") == "1000,100000"
    first = ether_frame(b.mac, a.mac, b"1" * 586)                  # 600 bytes
    second = ether_frame(b.mac, a.mac, b"2" * 586)
    assert a.send(first) == [0]
    assert b.receive() == [first]
    assert a.send(second) == []                # 400 bytes of credit left: held, unanswered
    assert b.receive() == []
    _advance(bed, INTERVAL_NS // 2)
    assert b.receive() == [] and a.tx_responses() == []
    _advance(bed, INTERVAL_NS // 2)            # the refill: the held packet goes
    assert b.receive() == [second]
    assert [r["status"] for r in a.tx_responses()] == [0]


def test_a_vif_without_rate_is_not_limited():
    bed = NetBed(nr_guests=2)
    a, b = (bed.vif(g, bridge="br0") for g in bed.guests)
    b.post_rx(16)
    frames = [ether_frame(b.mac, a.mac, bytes([i]) * 1400) for i in range(10)]
    for frame in frames:
        assert a.send(frame) == [0]
    assert b.receive() == frames


def test_credit_refills_once_per_interval_and_passes_a_packet_larger_than_it():
    credit = TxCredit(1000, 100, now=0)        # 1000 bytes per 100 us
    assert credit.take(600, 0) and not credit.take(600, 50_000)
    assert credit.next_refill == 100_000
    assert credit.take(600, 100_000)            # refilled, not accumulated: 1000 again
    assert credit.take(5000, 250_000)           # full credit: an oversized packet passes
    assert not credit.take(1, 250_000)


def test_the_rate_node_is_parsed_strictly():
    assert parse_rate_node("1000,100000") == (1000, 100000)
    for bad in ("", "1000", "0,5", "5,0", "a,b", "1,2,3", "-1,5"):
        assert parse_rate_node(bad) is None
