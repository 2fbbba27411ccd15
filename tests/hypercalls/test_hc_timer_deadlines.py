"""Timer deadlines a guest cannot use to hang or crash the host (issue 11, F2).

Every timer path (set_timer_op, VCPUOP_set_singleshot_timer, VCPUOP_set_periodic_timer,
SCHEDOP_poll's timeout) makes its deadline with paravisor.domain.timers, by Xen's rules: a u64
timeout with bit 63 set is a negative s_time_t (due at once); set_timer_op turns a
negative or 2^50-ns-ahead timeout into now + 100 ms; nothing is armed past STIME_MAX;
a periodic timer behind by any number of ticks is re-armed in one step.
"""

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paravisor.abi import (
    SCHED_POLL,
    VCPU_SET_PERIODIC_TIMER,
    VCPU_SET_SINGLESHOT_TIMER,
    Hypercall,
    SCHEDOP_poll,
    VCPU_SSHOTTMR_future,
    VCPUOP_set_periodic_timer,
    VCPUOP_set_singleshot_timer,
    Virq,
)
from paravisor.abi.errno import Errno
from paravisor.domain import VcpuState
from paravisor.domain.timers import (
    STIME_DELTA_MAX,
    STIME_MAX,
    TIMER_OP_HUGE_DELAY_NS,
    TIMER_OP_HUGE_NS,
    guest_deadline,
    next_periodic_tick,
    timer_op_deadline,
)
from paravisor.hypercalls.cost import copy_ns
from paravisor.testing.guests import api_guest

VCPU = Hypercall.vcpu_op
MS = 1_000_000
READ_PERIOD = copy_ns(VCPU_SET_PERIODIC_TIMER.size)   # charged before the timer is armed
U64_MAX = (1 << 64) - 1

u64 = st.integers(1, U64_MAX)
nows = st.integers(0, STIME_MAX + 10**12)        # a guest may run a little past the end


@pytest.fixture
def guest(host, dom0):
    guest = api_guest(host, name="timers")
    guest.port = host.hv.events.bind_virq(guest.dom, Virq.VIRQ_TIMER, 0)
    guest.hv.now = 5 * MS
    return guest


def fired(guest) -> bool:
    return guest.hv.events.is_pending(guest.dom, guest.port)


def words(value: int) -> tuple[int, int]:
    return value & 0xFFFF_FFFF, value >> 32


# --- paravisor.domain.timers, directly --------------------------------------------------------

@given(nows, u64)
def test_an_armed_deadline_is_never_past_stime_max(now, timeout):
    for deadline in (guest_deadline(now, timeout), timer_op_deadline(now, timeout)):
        assert deadline <= STIME_MAX or deadline == now     # due at once: never stored


@given(nows, u64)
def test_a_negative_timeout_is_due_at_once(now, timeout):
    expected = now if timeout > STIME_MAX else timeout
    assert guest_deadline(now, timeout) == expected


@given(st.integers(0, STIME_MAX), st.integers(0, STIME_MAX), st.integers(1, STIME_DELTA_MAX))
def test_the_next_periodic_tick_is_the_first_after_now(now, tick, period):
    nxt = next_periodic_tick(now, tick, period)
    first = tick + max(0, -(-(now + 1 - tick) // period)) * period    # ceil: first > now
    if nxt:
        assert now < nxt <= STIME_MAX and (nxt - tick) % period == 0
        assert nxt == tick or nxt - period <= now
    else:
        assert first > STIME_MAX                  # no tick left before the end of time


def test_the_next_periodic_tick_of_a_long_pause_is_computed():
    started = time.monotonic()
    assert next_periodic_tick(10**18 + 5, 1 * MS, MS) == 10**18 + MS
    assert time.monotonic() - started < 0.1
    assert next_periodic_tick(STIME_MAX - 1, STIME_MAX - 2, 2) == STIME_MAX
    assert next_periodic_tick(STIME_MAX - 1, STIME_MAX - 3, 2) == 0     # past the end


# --- the hypercalls ---------------------------------------------------------------------

@pytest.mark.parametrize("timeout", [U64_MAX, 1 << 63, STIME_MAX, 5 * MS + TIMER_OP_HUGE_NS])
def test_set_timer_op_fires_a_huge_timeout_in_100ms(guest, timeout):
    assert guest.hcall(Hypercall.set_timer_op, *words(timeout)) == 0
    assert guest.vcpu.singleshot_deadline == 5 * MS + TIMER_OP_HUGE_DELAY_NS


def test_set_timer_op_keeps_a_timeout_just_short_of_huge(guest):
    timeout = 5 * MS + TIMER_OP_HUGE_NS - 1
    assert guest.hcall(Hypercall.set_timer_op, *words(timeout)) == 0
    assert guest.vcpu.singleshot_deadline == timeout


def test_at_the_end_of_time_set_timer_op_fires_at_once(guest):
    guest.hv.now = STIME_MAX - MS
    assert guest.hcall(Hypercall.set_timer_op, *words(U64_MAX)) == 0
    assert guest.vcpu.singleshot_deadline == 0 and fired(guest)


@pytest.mark.parametrize("flags", [0, VCPU_SSHOTTMR_future])
def test_a_negative_singleshot_timeout_fires_at_once(guest, flags):
    """Xen checks VCPU_SSHOTTMR_future on the raw u64 (not before NOW(): no -ETIME) and
    arms the negative s_time_t, which has passed."""
    timer = guest.put(VCPU_SET_SINGLESHOT_TIMER, timeout_abs_ns=U64_MAX, flags=flags)
    assert guest.call(VCPU, VCPUOP_set_singleshot_timer, 0, timer) == 0
    assert guest.vcpu.singleshot_deadline == 0 and fired(guest)


def test_a_singleshot_timer_at_stime_max_is_armed_as_it_is(guest):
    timer = guest.put(VCPU_SET_SINGLESHOT_TIMER, timeout_abs_ns=STIME_MAX)
    assert guest.call(VCPU, VCPUOP_set_singleshot_timer, 0, timer) == 0
    assert guest.vcpu.singleshot_deadline == STIME_MAX and not fired(guest)


def poll(guest, timeout: int) -> int:
    args = guest.put(SCHED_POLL, ports=0, nr_ports=0, timeout=timeout)
    return guest.call(Hypercall.sched_op, SCHEDOP_poll, args)


@pytest.mark.parametrize("timeout", [U64_MAX, 1 << 63])
def test_a_poll_with_a_negative_timeout_returns_at_once(guest, timeout):
    assert poll(guest, timeout) == 0
    assert guest.vcpu.state == VcpuState.RUNNABLE and guest.vcpu.poll_deadline == 0


def test_a_poll_until_stime_max_sleeps_until_then(guest):
    assert poll(guest, STIME_MAX) == 0
    assert guest.vcpu.state == VcpuState.BLOCKED and guest.vcpu.poll_deadline == STIME_MAX


def test_a_periodic_tick_past_stime_max_is_never_armed(guest):
    period = guest.put(VCPU_SET_PERIODIC_TIMER, period_ns=STIME_DELTA_MAX)
    too_long = guest.put(VCPU_SET_PERIODIC_TIMER, period_ns=STIME_DELTA_MAX + 1)
    assert guest.call(VCPU, VCPUOP_set_periodic_timer, 0, too_long) == -Errno.EINVAL
    guest.hv.now = 5 * MS                         # the refused call was charged too
    assert guest.call(VCPU, VCPUOP_set_periodic_timer, 0, period) == 0
    assert guest.vcpu.periodic_next == 5 * MS + READ_PERIOD + STIME_DELTA_MAX
    guest.hv.now = guest.vcpu.periodic_next
    guest.hv._fire_timers()
    assert fired(guest)
    assert guest.vcpu.periodic_next == 0          # 5 ms + 2 x (2^62 - 1) > STIME_MAX
    assert guest.hv.next_deadline() is None


def test_a_periodic_timer_paused_for_ages_fires_once_and_catches_up_in_one_step(guest):
    period = guest.put(VCPU_SET_PERIODIC_TIMER, period_ns=MS)
    assert guest.call(VCPU, VCPUOP_set_periodic_timer, 0, period) == 0
    guest.hv.pause(guest.dom)
    guest.hv.now = 10**18 + 123
    guest.hv._fire_timers()                       # a paused domain's timers wait
    assert not fired(guest)
    guest.hv.unpause(guest.dom)
    started = time.monotonic()
    guest.hv._fire_timers()
    assert time.monotonic() - started < 0.1
    # ticks at n ms, shifted by the copy of the period charged before it was armed
    assert fired(guest) and guest.vcpu.periodic_next == 10**18 + MS + READ_PERIOD
