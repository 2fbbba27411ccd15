"""--realtime stops an idle jump of virtual time at the run's time limit, as the
deterministic loop does (issue 11, F2: a guest sleeping until STIME_MAX must not carry
the run past --max-seconds, nor make the host catch up 292 years of accounting)."""

from __future__ import annotations

import pytest

from paravisor.hypervisor.realtime import run_realtime
from paravisor.jit import JitEngine
from paravisor.sched import make_scheduler
from paravisor.testing.host import Host

LIMIT_NS = 50_000_000

# SCHEDOP_poll with no ports and timeout STIME_MAX = 2^63 - 1 ns; then power off.
SLEEP_UNTIL_THE_END_OF_TIME = """
        .include "runtime.s"
        .text
        .global kmain
kmain:
        addi  sp, sp, -16
        sw    ra, 12(sp)
        sw    zero, SCHED_POLL_PORTS(sp)
        sw    zero, SCHED_POLL_NR_PORTS(sp)
        li    t1, 0xFFFFFFFF
        sw    t1, SCHED_POLL_TIMEOUT(sp)
        li    t1, 0x7FFFFFFF
        sw    t1, SCHED_POLL_TIMEOUT + 4(sp)
        li    a0, SCHEDOP_poll
        mv    a1, sp
        call  HYPERVISOR_sched_op
        li    a0, 0
        lw    ra, 12(sp)
        addi  sp, sp, 16
        ret
"""


@pytest.mark.parametrize("sched", ["credit", "rr"])
@pytest.mark.parametrize("mode", ["deterministic", "realtime"])
def test_a_far_sleep_stops_at_the_time_limit(mode, sched):
    host = Host(64, engine_factory=JitEngine, scheduler=make_scheduler(sched, 2))
    dom = host.guest(SLEEP_UNTIL_THE_END_OF_TIME)
    host.hv.unpause(dom)
    if mode == "realtime":
        why = run_realtime(host.hv, max_ns=LIMIT_NS)
    else:
        why = host.hv.run(max_ns=LIMIT_NS)
    assert why == "time" and host.hv.now == LIMIT_NS
    assert not dom.is_shutdown
