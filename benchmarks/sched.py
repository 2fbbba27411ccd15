"""Scheduler quality and cost: fixed scenarios under the credit scheduler and round-robin.

    python benchmarks/sched.py [--json] [--seconds S]

Scenarios: weights 1:2:4 on one pCPU and on two; a domain capped at 25% next to an
uncapped one; a sleeper (guest_os/sleeper.s: wakes every 10 ms, works ~20 us) among
two spinners.  Per scenario and scheduler it reports

- max_share_error: the largest distance (a fraction: 0.01 = 1 percentage point) between
  a CPU-bound domain's share of the CPU time and its weight-proportional share (no more
  than one pCPU, or its cap, each), measured over S seconds of virtual time after a
  300 ms warm-up, with spinners that cost no host time (SpinEngine), so the run can be
  long enough for accounting periods to average out;
- wake_latency_us_p50: the sleeper's median wake-to-run latency, virtual microseconds
  (the sleeper scenario only; null otherwise);
- overhead_fraction: host time spent inside the scheduler (every call the hypervisor
  makes into it) over the host time of the whole run, measured on a separate 200 ms run
  in which every guest is really interpreted.

--json prints {"scenarios": [{"name", "sched", "max_share_error",
"wake_latency_us_p50", "overhead_fraction"}, ...]} instead of the table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from paravisor.sched.interface import Scheduler
from paravisor.testing.sched_harness import Scenario, add_sleeper, fair_shares, scenario
from paravisor.trace.summary import summarise

MS = 1_000_000
WARM_UP_NS = 300 * MS
OVERHEAD_RUN_NS = 200 * MS
SCHEDULER_CALLS = ("insert_vcpu", "remove_vcpu", "wake", "sleep", "yield_vcpu",
                   "affinity_changed", "do_schedule", "next_tick", "tick", "next_timer",
                   "timer", "holds_work")


@dataclass(frozen=True)
class Setup:
    name: str
    weights: tuple[int, ...]
    pcpus: int = 1
    caps: tuple[int, ...] | None = None
    sleeper: bool = False


SETUPS = (
    Setup("weights 1:2:4, 1 pCPU", (128, 256, 512)),
    Setup("weights 1:2:4, 2 pCPUs", (128, 256, 512), pcpus=2),
    Setup("cap 25% + uncapped, 1 pCPU", (256, 256), caps=(25, 0)),
    Setup("sleeper among 2 spinners", (256, 256), sleeper=True),
)


def build(setup: Setup, sched: str, engine: str, trace: bool = False) -> Scenario:
    return scenario(setup.weights, caps=setup.caps, pcpus=setup.pcpus, sched=sched,
                    engine=engine, trace=trace)


def share_error(setup: Setup, sched: str, seconds: float) -> tuple[float, float | None]:
    """(largest share error of the spinners, the sleeper's median latency in us)."""
    run = build(setup, sched, "spin", trace=setup.sleeper)
    run.hv.run(max_ns=WARM_UP_NS)
    sleeper = add_sleeper(run, int(seconds * 100)) if setup.sleeper else None
    before = run.cpu_ns()
    run.hv.run(max_ns=WARM_UP_NS + int(seconds * 1000 * MS))
    used = [now - then for now, then in zip(run.cpu_ns(), before, strict=True)]
    shares = [u / sum(used) for u in used]
    fair = fair_shares(setup.weights, setup.pcpus, setup.caps)
    error = max(abs(got - want) for got, want in zip(shares, fair, strict=True))
    if sleeper is None:
        return error, None
    summary = summarise(run.hv.tracer.to_json())
    (mine,) = [d for d in summary.domains if d.domid == sleeper.domid]
    return error, None if mine.latency_p50_ns is None else mine.latency_p50_ns / 1000


def _timed(sched: Scheduler, spent: list[float]) -> None:
    """Wrap each scheduler entry point so the time spent in it adds up in `spent`."""
    for name in SCHEDULER_CALLS:
        method = getattr(sched, name)

        def timed(*args, _method: Callable = method, **kwargs):
            start = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - start
        setattr(sched, name, timed)


def overhead(setup: Setup, sched: str) -> float:
    """Host time in the scheduler over host time of a run with interpreted guests."""
    run = build(setup, sched, "interp")
    if setup.sleeper:
        add_sleeper(run, OVERHEAD_RUN_NS // (10 * MS))
    spent = [0.0]
    _timed(run.hv.sched, spent)
    start = time.perf_counter()
    run.hv.run(max_ns=OVERHEAD_RUN_NS)
    return spent[0] / (time.perf_counter() - start)


def measure(seconds: float) -> list[dict]:
    rows = []
    for setup in SETUPS:
        for sched in ("credit", "rr"):
            error, latency = share_error(setup, sched, seconds)
            rows.append({"name": setup.name, "sched": sched,
                         "max_share_error": round(error, 4),
                         "wake_latency_us_p50": latency,
                         "overhead_fraction": round(overhead(setup, sched), 4)})
    return rows


def print_table(rows: list[dict]) -> None:
    print(f"{'scenario':<28} {'sched':<6} {'max share error':>16} {'wake p50 us':>12} "
          f"{'sched overhead':>15}")
    for row in rows:
        latency = row["wake_latency_us_p50"]
        print(f"{row['name']:<28} {row['sched']:<6} "
              f"{100 * row['max_share_error']:>13.2f} pp "
              f"{'-' if latency is None else f'{latency:.1f}':>12} "
              f"{100 * row['overhead_fraction']:>14.2f}%")
    median = {sched: 100 * statistics.median(r["max_share_error"] for r in rows
                                             if r["sched"] == sched)
              for sched in ("credit", "rr")}
    print(f"median share error: credit {median['credit']:.2f} pp, "
          f"round-robin {median['rr']:.2f} pp")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="virtual seconds measured per scenario (default 2)")
    args = parser.parse_args()
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    rows = measure(args.seconds)
    if args.json:
        print(json.dumps({"scenarios": rows}))
    else:
        print_table(rows)


if __name__ == "__main__":
    main()
