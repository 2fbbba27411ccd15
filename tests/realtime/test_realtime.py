"""--realtime: one host thread per pCPU gives the same guest-visible results as the
deterministic loop, keeps the MMU invariants, and leaves no thread behind."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from paravisor.domain import ShutdownReason
from paravisor.hypervisor import realtime
from paravisor.hypervisor.loop import QUANTUM_NS
from paravisor.hypervisor.realtime import run_realtime
from paravisor.jit import JitEngine
from paravisor.mm import check_invariants
from paravisor.sched import make_scheduler
from paravisor.testing.host import Host
from paravisor.toolstack.launch import launch

ROOT = Path(__file__).resolve().parents[2]


def _pcpu_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pcpu")]


def _spinner_host(tmp_path: Path, ms: int) -> str:
    for name in ("spin-a", "spin-b"):
        (tmp_path / f"{name}.cfg").write_text(
            f'name = "{name}"\nkernel = "{ROOT}/guest_os/spinner.s"\nmemory = 4\n'
            f'cmdline = "{ms}"\n')
    host = tmp_path / "host.cfg"
    host.write_text(f'name = "Domain-0"\nkernel = "{ROOT}/guest_os/dom0.s"\nmemory = 8\n'
                    'pcpus = 2\nengine = "jit"\nguests = ["spin-a.cfg", "spin-b.cfg"]\n')
    return str(host)


def _launch(config: str, *, realtime_mode: bool) -> tuple[int, dict[str, list[str]]]:
    """Run `config`; the exit status and each domain's console lines, in order."""
    out = io.StringIO()
    status = launch(config, stream=out, colour=False, realtime=realtime_mode)
    lines: dict[str, list[str]] = {}
    for line in out.getvalue().splitlines():
        name, _, text = line.partition("|")
        lines.setdefault(name.strip(), []).append(text.strip())
    return status, lines


def _guest_lines(lines: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: text for name, text in lines.items() if name.startswith("spin")}


def test_spinners_match_deterministic_mode_at_the_same_quantum(tmp_path, monkeypatch):
    # The guest's clock advances once per entry (vcpu_info is refreshed on entry), so the
    # spinners' loop counts depend on the quantum: at the deterministic one they match.
    monkeypatch.setattr(realtime, "REALTIME_QUANTUM_NS", QUANTUM_NS)
    config = _spinner_host(tmp_path, 50)
    det_status, det = _launch(config, realtime_mode=False)
    rt_status, rt = _launch(config, realtime_mode=True)
    assert det_status == rt_status == 0
    assert _guest_lines(rt) == _guest_lines(det)
    assert all(any(t.endswith(" loops") for t in text) for text in _guest_lines(det).values())
    assert _pcpu_threads() == []


def test_spinners_at_the_realtime_quantum_differ_at_most_by_clock_granularity(tmp_path):
    config = _spinner_host(tmp_path, 100)
    _, det = _launch(config, realtime_mode=False)
    status, rt = _launch(config, realtime_mode=True)
    assert status == 0
    for name, text in _guest_lines(det).items():
        det_loops = int(text[1].split()[1])
        rt_loops = int(rt[name][1].split()[1])
        # the guest's clock is stale by at most one quantum, over 100 ms of spinning
        stale = (realtime.REALTIME_QUANTUM_NS + QUANTUM_NS) / 100_000_000
        assert abs(rt_loops - det_loops) <= det_loops * stale, (name, det_loops, rt_loops)


def test_dom0_example_exits_zero_with_hello_and_ticker():
    status, lines = _launch(str(ROOT / "examples" / "dom0.cfg"), realtime_mode=True)
    assert status == 0
    assert "Goodbye." in lines["hello"]
    assert [t for t in lines["ticker"] if t.startswith("tick ")][-1].startswith("tick 5 at")
    assert "ticker: done" in lines["ticker"]
    assert _pcpu_threads() == []


def test_mmu_invariants_hold_and_threads_are_joined_after_a_time_limit():
    host = Host(64, engine_factory=JitEngine, scheduler=make_scheduler("credit", 2))
    doms = [host.guest(name=f"spin{i}") for i in range(3)]
    for dom in doms:
        host.hv.unpause(dom)
    why = run_realtime(host.hv, max_ns=100_000_000)
    assert why == "time"
    assert host.hv.now >= 100_000_000
    assert all(v.cpu_time_ns > 0 for d in doms for v in d.vcpus)
    assert check_invariants(host.hv.mm) == []
    assert _pcpu_threads() == []


def test_until_stops_the_run_and_a_second_run_continues():
    host = Host(64, engine_factory=JitEngine, scheduler=make_scheduler("credit", 2))
    dom = host.guest(name="spin")
    host.hv.unpause(dom)
    assert run_realtime(host.hv, until=lambda: host.hv.now >= 5_000_000) == "until"
    first = dom.vcpus[0].cpu_time_ns
    assert run_realtime(host.hv, max_ns=50_000_000) == "time"
    assert dom.vcpus[0].cpu_time_ns > first
    host.hv.shutdown(dom, ShutdownReason.POWEROFF)
    assert run_realtime(host.hv) == "idle"
    assert _pcpu_threads() == []


def test_an_internal_error_in_a_thread_is_raised_and_every_thread_stops():
    host = Host(64, engine_factory=JitEngine, scheduler=make_scheduler("credit", 2))
    dom = host.guest(name="spin")
    host.hv.unpause(dom)

    def broken() -> None:
        raise RuntimeError("deferred service failed")
    host.hv.defer(lambda _arg: broken(), 0)
    with pytest.raises(RuntimeError, match="deferred service failed"):
        run_realtime(host.hv, max_ns=5_000_000)
    assert _pcpu_threads() == []
