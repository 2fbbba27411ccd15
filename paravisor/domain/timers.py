"""Guest timer deadlines: what a guest asks for, and what the hypervisor arms.

Every guest timer goes through this module: set_timer_op (`timer_op_deadline`),
VCPUOP_set_singleshot_timer and SCHEDOP_poll's timeout (`guest_deadline`), and
VCPUOP_set_periodic_timer with the re-arming of each tick (`next_periodic_tick`).  The
rules are Xen's, whose s_time_t is a *signed* 64-bit count of ns (xen/include/xen/time.h):

1. A guest's absolute timeout is a u64 that Xen hands to set_timer() as an s_time_t:
   one with bit 63 set is negative, so it lies in the past and the timer fires at once.
   Every other value is at most STIME_MAX (2^63 - 1 ns, about 292 years).
2. do_set_timer_op (xen/common/sched/core.c) is more careful: a negative timeout, or one
   2^50 ns (about 13 days) or more ahead, is a guest's wrapped clock, not a wish; Xen
   fires the timer in 100 ms instead (TIMER_OP_HUGE_DELAY_NS).
3. A periodic timer's period is 1 ms .. STIME_DELTA_MAX (2^62 - 1 ns; -EINVAL outside,
   as VCPUOP_set_periodic_timer does), and a tick that would fall past STIME_MAX is
   never armed: that periodic timer has ticked for the last time.

So no armed deadline is ever past STIME_MAX.  Virtual time jumps only to an armed
deadline (paravisor/hypervisor/loop.py `_idle`), and otherwise moves 10 ns per retired instruction,
so it never passes STIME_MAX by more than the guests run afterwards: `system_time`
(u64 ns, docs/abi.md section 4) cannot overflow.  A deadline "due at once" is never
stored: the callers fire it (or return from the poll) on the spot, so no stored
deadline is ever at or before the time it was armed, and the loop always makes progress.

The 0 in a Vcpu's timer fields means "not armed", so these functions never return 0
for a deadline that is armed; `next_periodic_tick` returns 0 for "no more ticks".
"""

from __future__ import annotations

STIME_MAX = (1 << 63) - 1                # Xen: ((s_time_t)((uint64_t)~0ULL >> 1))
STIME_DELTA_MAX = (1 << 62) - 1          # Xen: ((s_time_t)((uint64_t)~0ULL >> 2))
TIMER_OP_HUGE_NS = 1 << 50               # set_timer_op: this far ahead is a wrapped clock
TIMER_OP_HUGE_DELAY_NS = 100_000_000     # ... so Xen fires it in MILLISECS(100)


def guest_deadline(now: int, timeout_ns: int) -> int:
    """The deadline to arm for a guest's absolute `timeout_ns` (a u64, not 0): the
    timeout itself, or `now` (due at once) when, read as Xen's signed s_time_t, it is
    negative.  Never past STIME_MAX."""
    return now if timeout_ns > STIME_MAX else timeout_ns


def timer_op_deadline(now: int, timeout_ns: int) -> int:
    """set_timer_op's deadline for `timeout_ns` (not 0): a negative one, or one at
    least TIMER_OP_HUGE_NS ahead, fires TIMER_OP_HUGE_DELAY_NS from now (at once if
    that is past STIME_MAX); any other as `guest_deadline`."""
    if timeout_ns > STIME_MAX or timeout_ns - now >= TIMER_OP_HUGE_NS:
        return guest_deadline(now, now + TIMER_OP_HUGE_DELAY_NS)
    return guest_deadline(now, timeout_ns)


def next_periodic_tick(now: int, tick: int, period_ns: int) -> int:
    """The first tick of a periodic timer (`tick`, then every `period_ns`) after `now`,
    computed, not counted, however many periods `now` is past `tick`; 0 if it would
    fall past STIME_MAX (the timer stops ticking).  `period_ns` is at least 1.

    Ticks missed while the domain could not run (paused) are not replayed: one
    VIRQ_TIMER stands for all of them, as in Xen (vcpu_periodic_timer_work)."""
    if tick > now:
        return tick if tick <= STIME_MAX else 0
    tick += ((now - tick) // period_ns + 1) * period_ns
    return tick if tick <= STIME_MAX else 0
