"""Free hypercall work (issue 11, F3): a guest must pay for its hypercalls in virtual time,
and a long one must yield its pCPU, so a domain next to it keeps running.

guest_os/tests/attacks/hcall_storm.c checks from inside that a huge multicall of
mmuext_op flush batches is charged and preempted with exact results, and that forged
continuation arguments are refused.  The end-to-end case runs it in "storm" mode next
to a victim that ticks every 10 ms of virtual time, under `paravisor launch`: before the
fix the attacker's batches took no virtual time, so the victim's ticks came only after
minutes of host time (the run outlived the host time-out, and the attacker's running
time showed none of its flushes); now the victim ticks on time while the attacker runs
and the attacker's running time holds its flushes.
"""

from __future__ import annotations

import re

import pytest

from paravisor.hypercalls.cost import BATCH_ENTRY_NS
from paravisor.hypervisor.realtime import REALTIME_QUANTUM_NS
from paravisor.toolstack.domains import guest_os_dir

from .conftest import ENGINES, paravisor

NAME = "hcall_storm"
FLUSHES_PER_ROUND = 64 * 1024            # hcall_storm.c: STORM_BATCHES * OPS_PER_BATCH
TICK_NS = 10_000_000                     # guest_os/ticker.s
TICKS = 5
ROUND = re.compile(r"^attacker +\| hcall_storm: round (\d+): (\d+) flushes, running (\d+) us$")
TICK = re.compile(r"^victim +\| tick (\d+) at (\d+) ns$")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_storm_of_flushes_is_charged_preempted_and_exact(run_attack, engine):
    run = run_attack(NAME, engine)
    assert run.contained(NAME), run.out + run.err


def _write_host(tmp_path, attacker_image) -> str:
    guest_os = guest_os_dir()
    (tmp_path / "attacker.cfg").write_text(
        f'name = "attacker"\nkernel = "{attacker_image}"\nmemory = 4\ncmdline = "storm"\n')
    (tmp_path / "victim.cfg").write_text(
        f'name = "victim"\nkernel = "{guest_os}/ticker.s"\nmemory = 4\n'
        f'cmdline = "{TICKS}"\n')
    (tmp_path / "dom0.cfg").write_text(
        f'name = "Domain-0"\nkernel = "{guest_os}/dom0.s"\nmemory = 4\n'
        f'guests = ["attacker.cfg", "victim.cfg"]\n')
    return str(tmp_path / "dom0.cfg")


def _launch(host: str, engine: str, *extra: str) -> tuple[list[str], str]:
    result = paravisor("launch", host, "--engine", engine, "--colour", "never",
                       "--max-seconds", "0.2", *extra)
    return result.stdout.splitlines(), result.stdout + result.stderr


def _check_victim_and_attacker(lines: list[str], why: str, slack_ns: int) -> None:
    ticks = [(int(m[1]), int(m[2])) for m in map(TICK.match, lines) if m]
    rounds = [(i, int(m[1]), int(m[2]), int(m[3]))
              for i, m in enumerate(map(ROUND.match, lines)) if m]
    # The victim got every tick, each about one period after the last (virtual time):
    # the attacker's batches gave way at the victim's deadlines.
    assert [n for n, _ in ticks] == list(range(1, TICKS + 1)), why
    gaps = [b - a for (_, a), (_, b) in zip(ticks, ticks[1:], strict=False)]
    assert all(abs(gap - TICK_NS) <= slack_ns for gap in gaps), gaps
    # ... while the attacker was storming: rounds before and after the last tick.
    last_tick = max(i for i, line in enumerate(lines) if TICK.match(line))
    assert rounds and rounds[0][0] < last_tick < rounds[-1][0], why
    # Its running time holds every flush it asked for, at BATCH_ENTRY_NS or more each.
    for _, number, flushes, running_us in rounds:
        assert flushes == FLUSHES_PER_ROUND
        assert running_us * 1000 >= number * flushes * BATCH_ENTRY_NS, rounds


@pytest.mark.parametrize("engine", ENGINES)
def test_a_victim_keeps_its_ticks_next_to_a_hypercall_storm(attack_image, tmp_path, engine):
    lines, why = _launch(_write_host(tmp_path, attack_image(NAME)), engine)
    _check_victim_and_attacker(lines, why, slack_ns=TICK_NS // 100)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_victim_keeps_its_ticks_next_to_a_hypercall_storm_in_realtime(attack_image,
                                                                        tmp_path, engine):
    # Not deterministic: the guest clock runs up to a realtime quantum (10 ms) stale.
    lines, why = _launch(_write_host(tmp_path, attack_image(NAME)), engine, "--realtime")
    _check_victim_and_attacker(lines, why, slack_ns=REALTIME_QUANTUM_NS)
