"""End to end: `paravisor launch` with the example host configs (examples/dom0*.cfg)."""

from __future__ import annotations

import os
import re

import pytest

from paravisor.abi import Hypercall
from paravisor.toolstack.config import load_domain_config, load_host_config

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "examples")

NEEDED = (Hypercall.update_va_mapping, Hypercall.set_timer_op)   # ticker's timer


def _by_domain(out: str) -> dict[str, list[str]]:
    """Console lines grouped by the domain name that prefixes them ("name | text")."""
    lines: dict[str, list[str]] = {}
    for raw in out.splitlines():
        name, sep, text = raw.partition(" | ")
        assert sep, f"unprefixed console line: {raw!r}"
        lines.setdefault(name.strip(), []).append(text)
    return lines


def _ending(xen: list[str], name: str) -> str:
    """How the summary says `name` ended: "poweroff -> destroy", "crash -> destroy"..."""
    for line in xen:
        m = re.fullmatch(rf"\s*{name} \(domain \d+\): (.*)", line)
        if m:
            return m[1]
    raise AssertionError(f"{name} is not in the summary: {xen}")


def _check_well_behaved(lines: dict[str, list[str]]) -> None:
    assert "Hello from hello" in lines["hello"]
    assert lines["hello"][-1] == "Goodbye."
    assert [t for t in lines["ticker"] if t.startswith("tick ")] == [
        f"tick {n} at {n * 10_000_000 + _tick_offset(lines)} ns" for n in range(1, 6)]
    assert lines["ticker"][-1] == "ticker: done"
    assert _ending(lines["(XEN)"], "hello") == "poweroff -> destroy"
    assert _ending(lines["(XEN)"], "ticker") == "poweroff -> destroy"


def _tick_offset(lines: dict[str, list[str]]) -> int:
    """Ticks come every 10 ms after ticker's boot time, whatever that was."""
    first = re.fullmatch(r"tick 1 at (\d+) ns", lines["ticker"][0])
    assert first
    return int(first[1]) - 10_000_000


def _check_dom0(lines: dict[str, list[str]]) -> None:
    dom0 = lines["Domain-0"]
    assert dom0[0].startswith("paravisor dom0: hypervisor version ")
    if Hypercall.xen_version in _implemented():
        assert re.fullmatch(r"paravisor dom0: hypervisor version \d+\.\d+", dom0[0])
    if Hypercall.sysctl in _implemented():
        assert re.fullmatch(r"memory: \d+ pages total \(\d+ MiB\), \d+ pages free", dom0[1])
        assert any(re.fullmatch(r"domain 0: .*, \d+ pages", line) for line in dom0)


def _implemented() -> set[int]:
    from paravisor.hypercalls.dispatch import TABLE
    return set(TABLE)


def test_launch_dom0_runs_hello_and_ticker(launch_host, require_hypercalls):
    require_hypercalls(*NEEDED)
    result = launch_host("dom0.cfg")
    assert result.status == 0, result.out + result.err
    lines = _by_domain(result.out)
    _check_well_behaved(lines)
    _check_dom0(lines)


def test_launch_with_faulty_crashes_it_alone(launch_host, require_hypercalls):
    require_hypercalls(*NEEDED)
    result = launch_host("dom0-faulty.cfg")
    assert result.status == 1, result.out + result.err
    lines = _by_domain(result.out)
    _check_well_behaved(lines)
    assert any(line.startswith("*** trap #PF (vector 14)") for line in lines["faulty"])
    assert _ending(lines["(XEN)"], "faulty").startswith("crash")
    assert _ending(lines["(XEN)"], "faulty").endswith("-> destroy")


@pytest.mark.parametrize("config", ["hello.cfg", "ticker.cfg", "faulty.cfg"])
def test_guest_configs_name_existing_kernels(config):
    cfg, warnings = load_domain_config(os.path.join(EXAMPLES, config))
    assert warnings == []
    assert cfg.name == config.removesuffix(".cfg")
    assert os.path.isfile(cfg.kernel)
    assert cfg.memory <= 8


def test_host_configs_list_their_guests():
    for config, guests in (("dom0.cfg", ["hello", "ticker"]),
                           ("dom0-faulty.cfg", ["hello", "ticker", "faulty"])):
        host, warnings = load_host_config(os.path.join(EXAMPLES, config))
        assert warnings == []
        assert [os.path.basename(g).removesuffix(".cfg") for g in host.guests] == guests
        assert os.path.basename(host.dom0.kernel) == "dom0.s"
