"""The scheduler interface the hypervisor core calls (Xen's `struct scheduler` ops, trimmed).

Times are virtual nanoseconds (retired instructions at the nominal clock rate), so every
decision is deterministic.  The core owns vCPU state (online, blocked, paused); it tells
the scheduler when a vCPU becomes runnable (`wake`) or stops being runnable (`sleep`),
and asks it what a pCPU runs next (`do_schedule`).  A vCPU handed out by `do_schedule`
is "current" on that pCPU until the core calls `do_schedule` for that pCPU again (the
scheduler then deals with the previous vCPU: charge it, requeue it if still runnable).

Calls that may make another pCPU want to reschedule (a wake that should preempt, an
idle pCPU that should steal work) return the pCPUs to *tickle*: the core then makes
each of them call `do_schedule` no later than the `now` passed in (or at once if that
pCPU's clock is already past it).  Each scheduler also has timers: per pCPU
(`next_tick`/`tick`, e.g. credit's 10 ms tick, only while the pCPU is busy) and global
(`next_timer`/`timer`, e.g. credit's accounting every time slice).

Ownership: a scheduler is called from the hypervisor loop only, one call at a time: in
the deterministic mode there is one thread; under --realtime (one host thread per pCPU,
paravisor/hypervisor/realtime.py) every call is made with the one hypervisor lock held, which does
the job of Xen's scheduler lock.  No call reaches into engine or guest state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

Tickles = tuple[int, ...]          # pCPUs that must reschedule
NO_TICKLE: Tickles = ()


class SchedVcpu(Protocol):
    """What a scheduler may read of a vCPU."""

    @property
    def domid(self) -> int: ...

    @property
    def vcpu_id(self) -> int: ...

    @property
    def runnable(self) -> bool: ...

    @property
    def cpu_hard_affinity(self) -> frozenset[int] | None: ...   # None: every pCPU


@dataclass(frozen=True)
class SchedParams:
    """A domain's scheduling parameters (xen_domctl_sched_credit)."""
    weight: int
    cap: int


class SchedParamError(ValueError):
    """A scheduling parameter out of range (the domctl turns it into -EINVAL)."""


# A listener for scheduler-internal events worth a trace point: (what, vcpu, now),
# what in "boost", "park", "unpark", "steal".
SchedListener = Callable[[str, SchedVcpu, int], None]


def allowed(vcpu: SchedVcpu, pcpu: int) -> bool:
    """Whether hard affinity lets `vcpu` run on `pcpu`."""
    affinity = vcpu.cpu_hard_affinity
    return affinity is None or pcpu in affinity


class Scheduler(ABC):
    name: str = "?"
    sched_id: int = 0                 # XEN_SCHEDULER_* (0: none of Xen's)

    def __init__(self, nr_pcpus: int = 1) -> None:
        if nr_pcpus < 1:
            raise ValueError("a scheduler needs at least one pCPU")
        self.nr_pcpus = nr_pcpus
        self.listener: SchedListener | None = None

    def _note(self, what: str, vcpu: SchedVcpu, now: int) -> None:
        if self.listener is not None:
            self.listener(what, vcpu, now)

    # --- vCPU life cycle -------------------------------------------------------------

    @abstractmethod
    def insert_vcpu(self, vcpu: SchedVcpu) -> None:
        """A vCPU was created (it may or may not be runnable yet)."""

    @abstractmethod
    def remove_vcpu(self, vcpu: SchedVcpu) -> None:
        """A vCPU is being destroyed; forget it (also if it is current somewhere)."""

    @abstractmethod
    def wake(self, vcpu: SchedVcpu, now: int) -> Tickles:
        """`vcpu` became runnable (unblocked, unpaused, brought up)."""

    @abstractmethod
    def sleep(self, vcpu: SchedVcpu, now: int) -> None:
        """`vcpu` stopped being runnable (blocked, paused, down, shut down)."""

    @abstractmethod
    def yield_vcpu(self, vcpu: SchedVcpu, now: int) -> None:
        """`vcpu` gave up the rest of its slice but stays runnable."""

    def affinity_changed(self, vcpu: SchedVcpu, now: int) -> Tickles:
        """`vcpu.cpu_hard_affinity` changed; by default, requeue it if runnable."""
        self.sleep(vcpu, now)
        return self.wake(vcpu, now) if vcpu.runnable else NO_TICKLE

    # --- decisions ---------------------------------------------------------------------

    @abstractmethod
    def do_schedule(self, pcpu: int, now: int) -> tuple[SchedVcpu | None, int]:
        """Choose what `pcpu` runs from `now` and for how many ns at most.

        Returns (None, 0) when nothing may run there (the pCPU idles until tickled).
        The returned vCPU is runnable and its hard affinity includes `pcpu`.
        """

    def take_tickles(self) -> Tickles:
        """pCPUs that a `do_schedule` decided must look at their queues (e.g. the one it
        moved a vCPU to when its affinity changed); the core asks after each call."""
        return NO_TICKLE

    def current(self, pcpu: int) -> SchedVcpu | None:
        """What `pcpu` runs (what `do_schedule` last returned for it)."""
        return None

    # --- timers ------------------------------------------------------------------------

    def next_tick(self, pcpu: int) -> int | None:
        """When `pcpu`'s scheduler tick is next due (None: no tick)."""
        return None

    def tick(self, pcpu: int, now: int) -> Tickles:
        """`pcpu`'s tick is due (the core calls this with the pCPU's clock)."""
        return NO_TICKLE

    def next_timer(self) -> int | None:
        """When the global scheduler timer is next due (None: none)."""
        return None

    def timer(self, now: int) -> Tickles:
        """The global timer is due."""
        return NO_TICKLE

    def holds_work(self) -> bool:
        """Whether a vCPU the core thinks runnable is being held back (e.g. a parked,
        capped vCPU): the run is not idle while that is so."""
        return False

    # --- parameters -------------------------------------------------------------------

    def domain_params(self, domid: int) -> SchedParams | None:
        """A domain's parameters, or None if this scheduler has none."""
        return None

    def set_domain_params(self, domid: int, *, weight: int | None = None,
                          cap: int | None = None) -> SchedParams:
        """Change a domain's parameters (None: unchanged); raises SchedParamError."""
        raise SchedParamError(f"the {self.name} scheduler has no per-domain parameters")
