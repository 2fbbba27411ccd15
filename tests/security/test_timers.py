"""F2 (issue 11): a guest hangs or crashes the host through its timers.

A guest asks for a deadline near 2^64 ns (SCHEDOP_poll's timeout, set_timer_op,
VCPUOP_set_singleshot_timer) or a 146-year period (VCPUOP_set_periodic_timer).  Before
the fix the idle loop jumped virtual time to it: the credit scheduler then caught up its
accounting one 30 ms period at a time (~10^11 steps: the host hung) and under round robin
system_time overflowed 64 bits (the domain crashed with an OverflowError).  Now every
deadline is made as Xen makes it (paravisor/domain/timers.py: none is past STIME_MAX = 2^63 - 1
ns) and a jump of any length costs a bounded number of accounting steps.

Every attack runs on both engines and under both schedulers with no time limit (so
nothing but the guest's own timers bounds the run: a hang shows as the harness's host
time-out, a crash as a non-zero status), except where the test is about the limit.
"""

from __future__ import annotations

import time

import pytest

SCHEDULERS = ("credit", "rr")
NS_PER_S = 1_000_000_000
# --max-seconds past anything a u64 system_time holds, i.e. none (the last --max-seconds
# on the command line wins over the harness's).
NO_TIME_LIMIT = ("--max-seconds", str(2**64 // NS_PER_S + 1))
QUICK_S = 30                  # wall clock: a contained run takes a second or two

# Contained by the guest's own timers: Xen's rules turn each huge deadline into one that
# has passed (it fires at once) or one 100 ms ahead, so virtual time stays near boot.
HUGE_DEADLINES = ("poll_wrapped_timeout", "timer_op_huge", "singleshot_huge")
# Legitimately far deadlines (STIME_MAX, a 2^62 - 1 ns period): virtual time jumps there.
FAR_DEADLINES = ("poll_far_future", "periodic_huge")


@pytest.fixture(params=SCHEDULERS)
def sched(request) -> str:
    return request.param


@pytest.mark.parametrize("name", HUGE_DEADLINES)
def test_a_huge_deadline_neither_hangs_nor_crashes_the_host(run_attack, name, engine, sched):
    run = run_attack(name, engine, "--sched", sched, *NO_TIME_LIMIT)
    assert run.contained(name), (run.status, run.out, run.err)


@pytest.mark.parametrize("name", FAR_DEADLINES)
def test_virtual_time_jumps_to_the_end_of_time_in_one_step(run_attack, name, engine, sched):
    """The guest sleeps ~292 years of virtual time and wakes with system_time just past
    STIME_MAX: the jump costs no more host time than a short sleep."""
    run = run_attack(name, engine, "--sched", sched, *NO_TIME_LIMIT)
    assert run.contained(name), (run.status, run.out, run.err)


def test_a_far_deadline_runs_to_the_time_limit_quickly(run_attack, engine, sched):
    """Under the harness's usual --max-seconds the far poll is cut short there, as
    `paravisor run` ends any run that reaches its limit."""
    started = time.monotonic()
    run = run_attack("poll_far_future", engine, "--sched", sched)
    assert time.monotonic() - started < QUICK_S
    assert run.status == 124, (run.status, run.out, run.err)
    assert "paravisor run: poll_far_future: time limit reached" in run.err


def test_a_poll_for_nothing_ends_the_run_as_blocked_forever(run_attack, engine, sched):
    """No ports, no timeout: the guest cannot report; the host must see every vCPU
    blocked with no timer pending and stop at once (exit status 1)."""
    run = run_attack("poll_forever", engine, "--sched", sched, *NO_TIME_LIMIT)
    assert run.status == 1, (run.status, run.out, run.err)
    assert "paravisor run: poll_forever: guest blocked forever" in run.err
    assert "BREACHED" not in run.out
