"""The hypervisor loop on several simulated pCPUs: parallel virtual time, exact timers,
idle and deadlock detection, and no vCPU in two places at once."""

from __future__ import annotations

import os

from paravisor.cli import main
from paravisor.sched import make_scheduler
from paravisor.testing.host import Host
from paravisor.testing.sched_harness import run_spans, scenario

MS = 1_000_000
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "examples")

BLOCK_FOREVER = """
    .include "paravisor.inc"
    .text
    .global _start
_start:
    li    a0, SCHEDOP_block
    li    a1, 0
    li    t0, __HYPERVISOR_sched_op
    hcall
    j     _start
"""


def test_two_pcpus_run_two_spinners_in_parallel():
    run = scenario([256, 256], pcpus=2, trace=True)
    assert run.hv.run(max_ns=100 * MS) == "time"
    assert run.cpu_ns() == [100 * MS, 100 * MS]
    assert [p.busy_ns for p in run.hv.pcpus] == [100 * MS, 100 * MS]
    assert {s.pcpu for s in run_spans(run.hv.tracer.to_json())} == {0, 1}


def test_a_vcpu_never_runs_in_two_places_at_once():
    run = scenario([100, 200, 300, 400, 500], pcpus=3, caps=[0, 30, 0, 0, 0], trace=True)
    run.hv.run(max_ns=300 * MS)
    spans = run_spans(run.hv.tracer.to_json())
    by_vcpu: dict[int, list] = {}
    for span in spans:
        by_vcpu.setdefault(span.domid, []).append(span)
    for mine in by_vcpu.values():
        for a, b in zip(mine, mine[1:], strict=False):
            assert a.end <= b.start
    for pcpu in range(3):
        mine = [s for s in spans if s.pcpu == pcpu]
        for a, b in zip(mine, mine[1:], strict=False):
            assert a.end <= b.start


def test_a_guest_blocked_forever_is_a_deadlock_on_any_number_of_pcpus():
    for pcpus in (1, 3):
        host = Host(scheduler=make_scheduler("credit", pcpus))
        dom = host.guest(BLOCK_FOREVER)
        host.hv.unpause(dom)
        assert host.hv.run(max_ns=1000 * MS) == "deadlock"
        assert host.hv.now < MS


def test_the_launch_example_behaves_the_same_on_two_pcpus(tmp_path, capsys):
    """dom0.cfg's guests (hello, and ticker's exact 10 ms ticks) on a 2-pCPU host."""
    text = open(os.path.join(EXAMPLES, "dom0.cfg")).read()
    text = text.replace('kernel = "../', f'kernel = "{EXAMPLES}/../')
    text = text.replace('guests = ["hello.cfg", "ticker.cfg"]',
                        f'guests = ["{EXAMPLES}/hello.cfg", "{EXAMPLES}/ticker.cfg"]\npcpus = 2')
    config = tmp_path / "dom0.cfg"
    config.write_text(text)
    assert main(["launch", str(config), "--colour", "never", "--max-seconds", "5"]) == 0
    out = capsys.readouterr().out
    ticks = [int(line.split()[-2]) for line in out.splitlines()
             if line.startswith("ticker") and " tick " in line]
    assert len(ticks) == 5
    assert [b - a for a, b in zip(ticks, ticks[1:], strict=False)] == [10 * MS] * 4
    assert "Goodbye." in out
