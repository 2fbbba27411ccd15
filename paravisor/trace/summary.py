"""Summarising a timeline (paravisor.trace's JSON), the way xenalyze summarises xentrace.

`summarise(trace)` reads a loaded trace object and returns one `DomainSummary` per
domain: CPU time, its share of the host and of one pCPU, time spent runnable but
waiting, and wake-to-run latencies.  Waiting starts when a vCPU is woken or preempted
(a run that ended "runnable") and ends when it runs again; a parked vCPU (over its
cap) is not counted as waiting.  A wake's latency is from the wake to the vCPU's next
run; wakes of a vCPU that is already running or queued do not count.

`load_trace(path)` reads and checks a file; anything that is not such a trace is a
UserError naming the file.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from typing import Any

from paravisor.errors import UserError

# Order of simultaneous points: a run that ends frees the vCPU before a wake at the
# same instant, and a wake precedes the run it causes.
_ORDER = {"end": 0, "block": 1, "wake": 2, "unpark": 2, "park": 3, "start": 4}


@dataclass
class VcpuTimes:
    cpu_ns: int = 0
    wait_ns: int = 0
    latencies: list[int] = field(default_factory=list)


@dataclass
class DomainSummary:
    domid: int
    name: str
    weight: int | None
    cap: int | None
    vcpus: int
    cpu_ns: int
    host_share: float        # fraction of all pCPUs' time over the run
    pcpu_share: float        # fraction of one pCPU (xentop's CPU%, / 100)
    wait_ns: int
    wakes: int
    latency_p50_ns: int | None
    latency_max_ns: int | None


@dataclass
class TraceSummary:
    scheduler: str
    pcpus: int
    end_ns: int
    domains: list[DomainSummary]


def load_trace(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            trace = json.load(f)
    except OSError as err:
        raise UserError(f"{path}: cannot read the trace: {err.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not a JSON trace: {err}") from None
    if not isinstance(trace, dict) or not isinstance(trace.get("traceEvents"), list) \
            or not isinstance(trace.get("otherData"), dict):
        raise UserError(f"{path}: not a paravisor trace (written by `paravisor launch "
                        f"--trace`): no traceEvents/otherData")
    return trace


def _ns(us: float) -> int:
    return round(us * 1000)


def _points(events: list[dict[str, Any]]) -> dict[tuple[int, int], list[tuple]]:
    """Per vCPU, its (time, order, kind) points, sorted."""
    points: dict[tuple[int, int], list[tuple]] = {}
    for seq, event in enumerate(events):
        args = event.get("args") or {}
        if "domid" not in args or "vcpu" not in args:
            continue
        key = (int(args["domid"]), int(args["vcpu"]))
        at = _ns(float(event["ts"]))
        if event.get("cat") == "run":
            end = at + _ns(float(event["dur"]))
            points.setdefault(key, []).append((at, _ORDER["start"], seq, "start", 0))
            points[key].append((end, _ORDER["end"], seq, "end", end - at,
                                args.get("end")))
        elif event.get("name") in _ORDER:
            points.setdefault(key, []).append((at, _ORDER[event["name"]], seq,
                                               event["name"], 0))
    for items in points.values():
        items.sort()
    return points


def _vcpu_times(points: list[tuple]) -> VcpuTimes:
    times = VcpuTimes()
    running = parked = False
    waiting_since: int | None = None
    woken_at: int | None = None
    for at, _order, _seq, kind, duration, *rest in points:
        if kind == "start":
            running = True
            if waiting_since is not None:
                times.wait_ns += at - waiting_since
            if woken_at is not None:
                times.latencies.append(at - woken_at)
            waiting_since = woken_at = None
        elif kind == "end":
            running = False
            times.cpu_ns += duration
            state = rest[0] if rest else None
            waiting_since = at if state == "runnable" and not parked else None
        elif kind == "wake" and not running and waiting_since is None and not parked:
            waiting_since = woken_at = at
        elif kind == "park":
            parked = True
            if waiting_since is not None:
                times.wait_ns += at - waiting_since
            waiting_since = woken_at = None
        elif kind == "unpark":
            parked = False
            if not running:
                waiting_since = at
    return times


def summarise(trace: dict[str, Any]) -> TraceSummary:
    """Per-domain figures of a loaded trace (see the module docstring)."""
    facts = trace["otherData"]
    pcpus = int(facts.get("pcpus", 1))
    end_ns = int(facts.get("end_ns", 0))
    info = facts.get("domains", {})
    per_vcpu = {key: _vcpu_times(items) for key, items in _points(trace["traceEvents"]).items()}
    domids = sorted({domid for domid, _ in per_vcpu} | {int(d) for d in info})
    domains = []
    for domid in domids:
        times = [t for (d, _), t in sorted(per_vcpu.items()) if d == domid]
        latencies = sorted(lat for t in times for lat in t.latencies)
        cpu = sum(t.cpu_ns for t in times)
        meta = info.get(str(domid), {})
        domains.append(DomainSummary(
            domid, meta.get("name", f"domain {domid}"), meta.get("weight"), meta.get("cap"),
            len(times), cpu, cpu / (end_ns * pcpus) if end_ns else 0.0,
            cpu / end_ns if end_ns else 0.0, sum(t.wait_ns for t in times), len(latencies),
            int(statistics.median_low(latencies)) if latencies else None,
            latencies[-1] if latencies else None))
    return TraceSummary(str(facts.get("scheduler", "?")), pcpus, end_ns, domains)


def format_summary(summary: TraceSummary) -> str:
    """The table `paravisor trace summary` prints."""
    lines = [f"{summary.scheduler} scheduler, {summary.pcpus} pCPU(s), "
             f"{summary.end_ns / 1e9:.6f} s of virtual time",
             f"{'domain':<16} {'id':>3} {'weight':>6} {'cap':>4} {'cpu ms':>9} {'host%':>6} "
             f"{'pcpu%':>6} {'wait ms':>9} {'wakes':>6} {'lat p50 us':>10} {'lat max us':>10}"]
    for d in summary.domains:
        lines.append(
            f"{d.name[:16]:<16} {d.domid:>3} {_opt(d.weight):>6} {_opt(d.cap):>4} "
            f"{d.cpu_ns / 1e6:>9.3f} {100 * d.host_share:>6.1f} {100 * d.pcpu_share:>6.1f} "
            f"{d.wait_ns / 1e6:>9.3f} {d.wakes:>6} {_us(d.latency_p50_ns):>10} "
            f"{_us(d.latency_max_ns):>10}")
    return "\n".join(lines)


def _opt(value: int | None) -> str:
    return "-" if value is None else str(value)


def _us(ns: int | None) -> str:
    return "-" if ns is None else f"{ns / 1000:.1f}"
