"""The scheduler's example configs (examples/sched-*.cfg) and demo guests are valid:
they parse, name kernels that exist and build, and set what their comments promise."""

from __future__ import annotations

import glob
import os

import pytest

from paravisor.cli import main
from paravisor.toolstack.config import load_domain_config, load_host_config
from paravisor.toolstack.domains import guest_os_dir, kernel_image

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "examples")
HOSTS = sorted(glob.glob(os.path.join(EXAMPLES, "sched-*.cfg")))


def test_there_are_three_scheduler_examples():
    assert [os.path.basename(p) for p in HOSTS] == [
        "sched-boost.cfg", "sched-cap.cfg", "sched-weights.cfg"]


@pytest.mark.parametrize("path", HOSTS, ids=os.path.basename)
def test_each_example_parses_and_its_guests_build(path):
    host, warnings = load_host_config(path)
    assert warnings == [] and host.sched == "credit"
    for guest_path in host.guests:
        guest, guest_warnings = load_domain_config(guest_path)
        assert guest_warnings == []
        assert kernel_image(guest.kernel, guest.memory).entry


def test_the_examples_set_what_they_promise():
    def guests(name):
        host, _ = load_host_config(os.path.join(EXAMPLES, name))
        return host, {cfg.name: cfg for cfg in (load_domain_config(g)[0] for g in host.guests)}
    host, weights = guests("sched-weights.cfg")
    assert host.pcpus == 1
    assert sorted(g.cpu_weight for g in weights.values()) == [128, 256, 512]
    host, cap = guests("sched-cap.cfg")
    assert host.pcpus == 2 and cap["spin-capped"].cap == 25
    assert cap["spin-pinned"].hard_affinity(0, 2) == frozenset({1})
    _, boost = guests("sched-boost.cfg")
    assert "sleeper" in boost


@pytest.mark.parametrize("kernel, cmdline, expected", [
    ("spinner.s", "2", ["spinner: spinning for 2 ms of virtual time"]),
    ("sleeper.s", "3", ["sleeper: 3 wakes, one every 10 ms",
                        "sleeper: ran late by 0 us on average, 0 us at worst"]),
])
def test_the_demo_guests_run_alone(kernel, cmdline, expected, capsys):
    assert main(["run", os.path.join(guest_os_dir(), kernel), "--cmdline", cmdline,
                 "--max-seconds", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:len(expected)] == expected
    if kernel == "spinner.s":
        assert lines[1].startswith("spinner: ") and lines[1].endswith(" loops")
