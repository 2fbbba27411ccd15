"""Schedulers: they decide which runnable vCPU a physical CPU runs next, and for how long.

A scheduler knows nothing about how guest code executes; the hypervisor core calls it
through the `Scheduler` interface in `interface.py`.  `make_scheduler` builds one from
the host config's `sched`, `pcpus`, `tslice_ms` and `ratelimit_us`.
"""

from __future__ import annotations

from paravisor.sched.credit import CreditScheduler
from paravisor.sched.credit_account import (
    CSCHED_DEFAULT_TSLICE_MS,
    SCHED_DEFAULT_RATELIMIT_US,
    CreditTiming,
)
from paravisor.sched.interface import Scheduler
from paravisor.sched.rr import RoundRobin

SCHEDULERS = ("credit", "rr")


def make_scheduler(name: str, nr_pcpus: int = 1, *,
                   tslice_ms: int = CSCHED_DEFAULT_TSLICE_MS,
                   ratelimit_us: int = SCHED_DEFAULT_RATELIMIT_US) -> Scheduler:
    """A scheduler by its config name ("credit" or "rr"); ValueError for another."""
    if name == "credit":
        return CreditScheduler(nr_pcpus, CreditTiming(tslice_ms, ratelimit_us))
    if name == "rr":
        return RoundRobin(nr_pcpus)
    raise ValueError(f"unknown scheduler {name!r} (choose {' or '.join(SCHEDULERS)})")
