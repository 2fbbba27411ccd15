"""Scheduler scenarios for tests and benchmarks: CPU-bound domains on a few pCPUs.

`SpinEngine` stands in for a CPU-bound guest without interpreting it: every run retires
its whole budget (what `j _start` does, at no host cost), so scheduling properties can
be checked over seconds of virtual time.  `scenario(...)` builds a strict hypervisor
with one domain per weight, runs it, and reports each domain's CPU time; with
engine="interp" the domains run the real spinner loop on the interpreter instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from paravisor.domain import Domain
from paravisor.hypervisor.builder import build_domain
from paravisor.isa.engine import CPUState, Exit, ExitReason
from paravisor.isa.interpreter import Interpreter
from paravisor.isa.memory import MachineMemory
from paravisor.sched import make_scheduler
from paravisor.testing.host import Host
from paravisor.toolstack.domains import guest_os_dir, kernel_image
from paravisor.trace import Tracer


class SpinEngine:
    """An engine whose guest is an endless CPU-bound loop: each run uses the budget."""

    def __init__(self, memory: MachineMemory) -> None:
        self.memory = memory

    def run(self, cpu: CPUState, budget: int) -> Exit:
        cpu.instret += budget
        return Exit(ExitReason.BUDGET, budget)

    def invalidate_frame(self, mfn: int) -> None:
        """Nothing is cached."""

    def forget(self, cpu: CPUState) -> None:
        """Nothing is cached."""

    def request_exit(self) -> None:
        """Runs are instantaneous: nothing to end early."""

    def cancel_exit(self) -> None:
        """See request_exit."""


@dataclass
class Scenario:
    host: Host
    domains: list[Domain]

    @property
    def hv(self):
        return self.host.hv

    def cpu_ns(self) -> list[int]:
        return [sum(v.cpu_time_ns for v in d.vcpus) for d in self.domains]

    def shares(self) -> list[float]:
        """Each domain's fraction of all CPU time the domains used."""
        used = self.cpu_ns()
        total = sum(used) or 1
        return [u / total for u in used]


def scenario(weights: Sequence[int], *, caps: Sequence[int] | None = None,
             pcpus: int = 1, sched: str = "credit", tslice_ms: int = 30,
             ratelimit_us: int = 1000, affinity: Sequence[frozenset[int] | None] | None = None,
             engine: str = "spin", trace: bool = False) -> Scenario:
    """One spinning domain per weight (cap and affinity per domain, optional), unpaused
    and ready to `hv.run`."""
    factory = SpinEngine if engine == "spin" else Interpreter
    scheduler = make_scheduler(sched, pcpus, tslice_ms=tslice_ms, ratelimit_us=ratelimit_us)
    host = Host(16 + 2 * len(weights), scheduler=scheduler,
                engine_factory=factory, tracer=Tracer() if trace else None)
    domains = []
    for i, weight in enumerate(weights):
        dom = host.guest(name=f"spin{i}", memory_mib=1)
        if sched == "credit":
            host.hv.sched.set_domain_params(dom.domid, weight=weight,
                                            cap=caps[i] if caps else 0)
        if affinity is not None:
            host.hv.set_vcpu_affinity(dom.vcpus[0], affinity[i])
        domains.append(dom)
    for dom in domains:
        host.hv.unpause(dom)
    return Scenario(host, domains)


def fair_shares(weights: Sequence[int], pcpus: int,
                caps: Sequence[int] | None = None) -> list[float]:
    """Weight-proportional shares of `pcpus` for single-vCPU CPU-bound domains, where no
    domain gets more than one pCPU or its cap (water-filling), as fractions of the CPU
    time used."""
    limits = [min(100, cap or 100) / 100 for cap in (caps or [0] * len(weights))]
    shares = [0.0] * len(weights)
    left = set(range(len(weights)))
    capacity = float(pcpus)
    while left and capacity > 0:
        total = sum(weights[i] for i in left)
        full = {i for i in left if capacity * weights[i] / total >= limits[i]}
        if not full:
            for i in left:
                shares[i] = capacity * weights[i] / total
            break
        for i in full:
            shares[i] = limits[i]
        capacity -= sum(limits[i] for i in full)
        left -= full
    used = sum(shares)
    return [s / used for s in shares]


def add_sleeper(run: Scenario, wakes: int) -> Domain:
    """The real sleeper guest (guest_os/sleeper.s, interpreted, `wakes` wakes), built
    into `run`'s host and unpaused now."""
    hv = run.hv
    dom = hv.create_domain("sleeper")
    dom.engine = Interpreter(hv.memory)
    build_domain(hv, dom, kernel_image(os.path.join(guest_os_dir(), "sleeper.s"), 2), 2,
                 str(wakes))
    hv.unpause(dom)
    return dom


@dataclass(frozen=True)
class RunSpan:
    """One stretch of a vCPU running on a pCPU, read back from a trace."""
    pcpu: int
    domid: int
    vcpu: int
    start: int
    end: int


def run_spans(trace: dict) -> list[RunSpan]:
    """The run spans of a trace (Tracer.to_json()), in start order."""
    spans = [RunSpan(e["tid"], e["args"]["domid"], e["args"]["vcpu"], round(e["ts"] * 1000),
                     round((e["ts"] + e["dur"]) * 1000))
             for e in trace["traceEvents"] if e.get("cat") == "run"]
    return sorted(spans, key=lambda s: (s.start, s.pcpu))
