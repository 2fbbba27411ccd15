"""The generic shared ring (io/ring.h): indices, hold-off, copy-once, overflow guards.

The stateful test runs a frontend and a backend over one small ring with random
interleavings, starting the free-running indices just below 2**32 so they wrap.  Each
side sleeps only after its RING_FINAL_CHECK found nothing; a push that returns
"notify" wakes it.  Checked: no request or response is lost, duplicated or reordered,
and a sleeping side always has a wake-up pending when there is work for it.
"""

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from paravisor.abi.io import BLKIF_REQUEST, BLKIF_RESPONSE, SRING_HEADER
from paravisor.abi.types import U8, U32, Array, Struct
from paravisor.ring import BackRing, BytesPage, FrontRing, RingError, RingLayout, SharedRing

TEST_REQUEST = Struct("test_request", [("seq", U32), ("body", Array(U8, 496))])
TEST_RESPONSE = Struct("test_response", [("seq", U32), ("status", U32)])
LAYOUT = RingLayout(TEST_REQUEST, TEST_RESPONSE)      # 8 entries: wraps quickly
START = 0xFFFF_FFF4                                    # indices wrap past 2**32


def _ring(start: int = 0, layout: RingLayout = LAYOUT):
    sring = SharedRing(BytesPage(), layout)
    sring.init()
    if start:
        sring.page.write(0, SRING_HEADER.pack(req_prod=start, rsp_prod=start,
                                              req_event=start + 1, rsp_event=start + 1))
    attach = bool(start)
    return sring, FrontRing(sring, attach=attach), BackRing(sring, attach=attach)


def test_ring_size_is_the_largest_power_of_two_that_fits():
    assert LAYOUT.size == 8                             # (4096 - 64) // 500 = 8
    assert RingLayout(BLKIF_REQUEST, BLKIF_RESPONSE).size == 32   # Xen's blkif ring


def test_shared_ring_init_sets_event_indices_to_one():
    sring, _, _ = _ring()
    header = SRING_HEADER.unpack(sring.page.read(0, SRING_HEADER.size))
    assert (header["req_prod"], header["req_event"]) == (0, 1)
    assert (header["rsp_prod"], header["rsp_event"]) == (0, 1)


def test_hold_off_suppresses_notifications_until_the_consumer_rearms():
    _, front, back = _ring()
    front.put_request({"seq": 1})
    assert front.push_requests()                        # req_event = 1: first one notifies
    assert back.copy_request()["seq"] == 1
    front.put_request({"seq": 2})
    assert not front.push_requests()                    # backend still busy: held off
    assert back.final_check_for_requests()              # ...and it sees the work anyway
    assert back.copy_request()["seq"] == 2
    assert not back.final_check_for_requests()          # re-armed: req_event = req_cons + 1
    front.put_request({"seq": 3})
    assert front.push_requests()


def test_without_hold_off_every_push_that_publishes_notifies(monkeypatch):
    monkeypatch.setattr("paravisor.ring.NOTIFY_HOLDOFF", False)   # benchmarks/io.py's switch
    _, front, back = _ring()
    front.put_request({"seq": 1})
    assert front.push_requests()
    assert back.copy_request()["seq"] == 1
    front.put_request({"seq": 2})
    assert front.push_requests()                        # held off above; notified here
    assert not front.push_requests()                    # nothing new published: no notify


def test_a_full_ring_refuses_more_requests():
    _, front, back = _ring()
    for i in range(LAYOUT.size):
        front.put_request({"seq": i})
    assert front.full()
    with pytest.raises(RingError):
        front.put_request({"seq": 99})


def test_copy_request_is_a_private_copy():
    sring, front, back = _ring()
    front.put_request({"seq": 7})
    front.push_requests()
    request = back.copy_request()
    sring.write_entry(0, TEST_REQUEST, {"seq": 666})    # the frontend changes it afterwards
    assert request["seq"] == 7


@pytest.mark.parametrize("req_prod", [LAYOUT.size + 1, 0x8000_0000, 0xFFFF_FFFF])
def test_req_prod_running_ahead_is_refused(req_prod):
    sring, _, back = _ring()
    sring.set(SRING_HEADER.offset("req_prod"), req_prod)
    with pytest.raises(RingError):
        back.unconsumed_requests()
    with pytest.raises(RingError):
        back.copy_request()


def test_a_backend_cannot_answer_more_than_it_took():
    _, front, back = _ring()
    with pytest.raises(RingError):
        back.put_response({"seq": 0})


def test_a_frontend_refuses_responses_it_never_asked_for():
    sring, front, _ = _ring()
    sring.set(SRING_HEADER.offset("rsp_prod"), 3)
    with pytest.raises(RingError):
        front.get_response()


class RingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sring, self.front, self.back = _ring(START)
        self.next_seq = 0            # requests put (not all pushed)
        self.pushed = 0              # requests published
        self.taken: list[int] = []   # what the backend copied, in order
        self.answered = 0            # responses the backend put
        self.received: list[int] = []
        self.back_asleep = self.front_asleep = False
        self.back_woken = self.front_woken = False   # a notification is pending

    # --- frontend -----------------------------------------------------------------

    @rule(n=st.integers(1, 10))
    def put_requests(self, n):
        while n and not self.front.full():
            self.front.put_request({"seq": self.next_seq})
            self.next_seq += 1
            n -= 1

    @rule()
    def push_requests(self):
        if self.front.push_requests():
            self.back_woken = True
        self.pushed = self.next_seq

    @precondition(lambda self: not self.front_asleep)
    @rule(n=st.integers(1, 10))
    def take_responses(self, n):
        while n and self.front.unconsumed_responses():
            self.received.append(self.front.get_response()["seq"])
            n -= 1

    @precondition(lambda self: not self.front_asleep)
    @rule()
    def frontend_waits(self):
        if not self.front.final_check_for_responses():
            self.front_asleep = True

    @precondition(lambda self: self.front_asleep and self.front_woken)
    @rule()
    def frontend_wakes(self):
        self.front_asleep = self.front_woken = False

    # --- backend ----------------------------------------------------------------------

    @precondition(lambda self: not self.back_asleep)
    @rule(n=st.integers(1, 10))
    def take_requests(self, n):
        while n and self.back.unconsumed_requests():
            self.taken.append(self.back.copy_request()["seq"])
            n -= 1

    @rule(n=st.integers(1, 10))
    def put_responses(self, n):
        while n and self.answered < len(self.taken):
            self.back.put_response({"seq": self.taken[self.answered], "status": 0})
            self.answered += 1
            n -= 1

    @rule()
    def push_responses(self):
        if self.back.push_responses():
            self.front_woken = True

    @precondition(lambda self: not self.back_asleep)
    @rule()
    def backend_waits(self):
        if not self.back.final_check_for_requests():
            self.back_asleep = True

    @precondition(lambda self: self.back_asleep and self.back_woken)
    @rule()
    def backend_wakes(self):
        self.back_asleep = self.back_woken = False

    # --- properties -----------------------------------------------------------------

    @invariant()
    def nothing_lost_duplicated_or_reordered(self):
        assert self.taken == list(range(len(self.taken)))
        assert len(self.taken) <= self.pushed
        assert self.received == list(range(len(self.received)))
        assert len(self.received) <= self.answered

    @invariant()
    def no_lost_wakeup(self):
        if self.back_asleep and self.back.unconsumed_requests():
            assert self.back_woken, "backend sleeps with requests and no notification"
        if self.front_asleep and self.front.unconsumed_responses():
            assert self.front_woken, "frontend sleeps with responses and no notification"

    def teardown(self):
        """Everything published is eventually delivered, once."""
        self.push_requests()
        while self.back.unconsumed_requests():
            self.taken.append(self.back.copy_request()["seq"])
        assert self.taken == list(range(self.pushed))


TestRingInterleavings = RingMachine.TestCase
