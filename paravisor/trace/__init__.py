"""The timeline recorder: what ran where and when, in Chrome trace-event JSON.

`paravisor launch --trace FILE.json` attaches a `Tracer` to the hypervisor; the loop,
the hypercall dispatcher and the scheduler report to it, and at the end it writes a
file that Perfetto (ui.perfetto.dev) and chrome://tracing open:

- process 0 "pCPUs": one track per pCPU; a complete event ("X") per stretch of time a
  vCPU ran there, named after the vCPU ("web/vcpu0"), with args domid, vcpu and `end`
  (how the vCPU stood when it stopped: runnable = preempted, blocked, paused, down,
  shutdown); instant events ("i") for hypercalls (name, number, arguments, result)
  and event upcalls, on the pCPU where they happened;
- process 1 "vCPUs": one track per vCPU with instant events for wake, block, and the
  scheduler's own decisions (boost, park, unpark, steal).

Timestamps are microseconds of virtual time (floats; ns / 1000).  `otherData` holds
the run's facts: scheduler, pCPUs, end time, and every domain's name, weight and cap.
Nothing host-dependent is recorded, so the same configuration gives the same file.

Ownership: called from the hypervisor loop only.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from paravisor.abi import Hypercall

if TYPE_CHECKING:
    from paravisor.domain import Vcpu
    from paravisor.hypervisor import Hypervisor

PID_PCPUS = 0
PID_VCPUS = 1
VCPU_TRACK_STRIDE = 1000          # vCPU track id: domid * stride + vcpu_id


def _us(ns: int) -> float:
    return ns / 1000


def vcpu_track(domid: int, vcpu_id: int) -> int:
    return domid * VCPU_TRACK_STRIDE + vcpu_id


def _hypercall_name(number: int) -> str:
    try:
        return Hypercall(number).name
    except ValueError:
        return f"hypercall_{number}"


class Tracer:
    """Collects trace events in memory; `write` saves them."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.hv: Hypervisor | None = None
        self._vcpu_names: dict[int, str] = {}
        self._domains: dict[int, dict[str, Any]] = {}   # domid -> name, weight, cap

    def attach(self, hv: Hypervisor) -> None:
        self.hv = hv

    def _vcpu_args(self, vcpu: Vcpu) -> dict[str, Any]:
        self._vcpu_names.setdefault(vcpu_track(vcpu.domid, vcpu.vcpu_id), vcpu.name)
        return {"domid": vcpu.domid, "vcpu": vcpu.vcpu_id}

    def _note_domain(self, vcpu: Vcpu) -> None:
        """Remember the domain's name and latest scheduling parameters (a domain that
        was destroyed before the trace is written is still described)."""
        params = self.hv.sched.domain_params(vcpu.domid) if self.hv is not None else None
        known = self._domains.get(vcpu.domid)
        if params is None and known is not None:
            return                  # destroyed since: keep what was seen while it lived
        self._domains[vcpu.domid] = {"name": vcpu.domain.name,
                                     "weight": params.weight if params else None,
                                     "cap": params.cap if params else None}

    def _instant(self, pid: int, tid: int, cat: str, name: str, ns: int,
                 args: dict[str, Any]) -> None:
        self.events.append({"name": name, "cat": cat, "ph": "i", "s": "t", "ts": _us(ns),
                            "pid": pid, "tid": tid, "args": args})

    # --- hooks ------------------------------------------------------------------------

    def run(self, pcpu: int, vcpu: Vcpu, start: int, end: int, state: str) -> None:
        """`vcpu` ran on `pcpu` from `start` to `end` and then stood in `state`."""
        if end <= start:
            return
        self._note_domain(vcpu)
        self.events.append({"name": vcpu.name, "cat": "run", "ph": "X", "ts": _us(start),
                            "dur": _us(end - start), "pid": PID_PCPUS, "tid": pcpu,
                            "args": {**self._vcpu_args(vcpu), "end": state}})

    def hypercall(self, vcpu: Vcpu, number: int, args: tuple[int, ...],
                  result: object) -> None:
        now = self.hv.now if self.hv is not None else 0
        self._instant(PID_PCPUS, vcpu.processor, "hypercall", _hypercall_name(number), now,
                      {**self._vcpu_args(vcpu), "number": number,
                       "args": [f"{a:#x}" for a in args],
                       "result": result if isinstance(result, int) else None})

    def upcall(self, vcpu: Vcpu, now: int) -> None:
        self._instant(PID_PCPUS, vcpu.processor, "event", "event upcall", now,
                      self._vcpu_args(vcpu))

    def wake(self, vcpu: Vcpu, now: int) -> None:
        self._instant(PID_VCPUS, vcpu_track(vcpu.domid, vcpu.vcpu_id), "wake", "wake", now,
                      self._vcpu_args(vcpu))

    def block(self, vcpu: Vcpu, now: int) -> None:
        self._instant(PID_VCPUS, vcpu_track(vcpu.domid, vcpu.vcpu_id), "block", "block", now,
                      self._vcpu_args(vcpu))

    def sched_event(self, what: str, vcpu: Vcpu, now: int) -> None:
        """The scheduler's own trace points (boost, park, unpark, steal)."""
        self._instant(PID_VCPUS, vcpu_track(vcpu.domid, vcpu.vcpu_id), "sched", what, now,
                      self._vcpu_args(vcpu))

    # --- output -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The whole trace as a Chrome trace-event JSON object."""
        hv = self.hv
        nr_pcpus = len(hv.pcpus) if hv is not None else 1
        meta: list[dict[str, Any]] = [
            _meta("process_name", PID_PCPUS, 0, "pCPUs"),
            _meta("process_name", PID_VCPUS, 0, "vCPUs")]
        meta += [_meta("thread_name", PID_PCPUS, p, f"pCPU {p}") for p in range(nr_pcpus)]
        meta += [_meta("thread_name", PID_VCPUS, tid, name)
                 for tid, name in sorted(self._vcpu_names.items())]
        return {"traceEvents": meta + self.events, "displayTimeUnit": "ns",
                "otherData": self._facts()}

    def _facts(self) -> dict[str, Any]:
        hv = self.hv
        if hv is None:
            return {}
        return {"scheduler": hv.sched.name, "pcpus": len(hv.pcpus),
                "end_ns": max([hv.now] + [p.clock for p in hv.pcpus]),
                "domains": {str(domid): info for domid, info in sorted(self._domains.items())}}

    def write(self, path: str) -> None:
        """Save the trace; an unwritable path raises OSError."""
        with open(path, "w", encoding="utf-8") as out:
            json.dump(self.to_json(), out, separators=(",", ":"))
            out.write("\n")


def _meta(kind: str, pid: int, tid: int, name: str) -> dict[str, Any]:
    return {"name": kind, "ph": "M", "pid": pid, "tid": tid, "args": {"name": name}}
