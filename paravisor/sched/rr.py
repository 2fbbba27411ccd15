"""Round-robin: the baseline scheduler.  Runnable vCPUs take turns, each for a fixed
slice, from one global queue; a pCPU takes the first queued vCPU its affinity allows.
No weights, caps or boost: this is what the credit scheduler is measured against."""

from __future__ import annotations

from paravisor.sched.interface import NO_TICKLE, Scheduler, SchedVcpu, Tickles, allowed

RR_DEFAULT_SLICE_NS = 10_000_000   # 10 ms, Xen credit's tick


class RoundRobin(Scheduler):
    name = "rr"

    def __init__(self, nr_pcpus: int = 1, slice_ns: int = RR_DEFAULT_SLICE_NS) -> None:
        super().__init__(nr_pcpus)
        self.slice_ns = slice_ns
        self.queue: list[SchedVcpu] = []                       # runnable, not running
        self.running: list[SchedVcpu | None] = [None] * nr_pcpus

    def insert_vcpu(self, vcpu: SchedVcpu) -> None:
        if vcpu.runnable:
            self._enqueue(vcpu)

    def remove_vcpu(self, vcpu: SchedVcpu) -> None:
        self._dequeue(vcpu)
        self.running = [None if v is vcpu else v for v in self.running]

    def wake(self, vcpu: SchedVcpu, now: int) -> Tickles:
        if any(v is vcpu for v in self.running):
            return NO_TICKLE
        self._enqueue(vcpu)
        for pcpu, running in enumerate(self.running):   # an idle pCPU that may run it
            if running is None and allowed(vcpu, pcpu):
                return (pcpu,)
        return NO_TICKLE

    def sleep(self, vcpu: SchedVcpu, now: int) -> None:
        self._dequeue(vcpu)

    def yield_vcpu(self, vcpu: SchedVcpu, now: int) -> None:
        # The yielder goes to the back of the queue at its pCPU's next do_schedule.
        pass

    def current(self, pcpu: int) -> SchedVcpu | None:
        return self.running[pcpu]

    def do_schedule(self, pcpu: int, now: int) -> tuple[SchedVcpu | None, int]:
        prev = self.running[pcpu]
        self.running[pcpu] = None
        if prev is not None and prev.runnable:
            self._enqueue(prev)
        for vcpu in self.queue:
            if allowed(vcpu, pcpu):
                self.queue.remove(vcpu)
                self.running[pcpu] = vcpu
                return vcpu, self.slice_ns
        return None, 0

    def _enqueue(self, vcpu: SchedVcpu) -> None:
        if not any(v is vcpu for v in self.queue):
            self.queue.append(vcpu)

    def _dequeue(self, vcpu: SchedVcpu) -> None:
        self.queue = [v for v in self.queue if v is not vcpu]
