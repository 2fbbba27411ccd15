"""F1b: an internal error while handling one domain costs that domain, never the host.

Host-side work done for a domain outside its own hypercalls -- destroying it, the
toolstack's shutdown handling, dom0 service callbacks and timers -- runs through
`Hypervisor.contain`.  These tests inject a failure into that work for one guest of a
`paravisor launch` and check that the other guest runs to its end, that the failure is
reported as a "(XEN)" line, and that the launch exits with a status rather than a
traceback.  (Strict mode, used by most unit tests, re-raises instead.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from paravisor.cli import main
from paravisor.hypervisor.builder import BuildError
from paravisor.mm import MMBug
from paravisor.toolstack.domains import guest_os_dir

GUEST_OS = Path(guest_os_dir())


@pytest.fixture
def two_guests(tmp_path):
    """dom0 with `hello` (ends at once, on_poweroff = "restart") and `ticker` (5 ticks of
    10 ms of virtual time)."""
    guests = {"hello": ("hello.s", "hello", 'on_poweroff = "restart"\n'),
              "ticker": ("ticker.s", "5", "")}
    for name, (kernel, cmdline, extra) in guests.items():
        (tmp_path / f"{name}.cfg").write_text(
            f'name = "{name}"\nkernel = "{GUEST_OS / kernel}"\nmemory = 8\n'
            f'cmdline = "{cmdline}"\n{extra}')
    (tmp_path / "dom0.cfg").write_text(
        f'name = "Domain-0"\nkernel = "{GUEST_OS / "dom0.s"}"\nmemory = 8\n'
        f'guests = ["hello.cfg", "ticker.cfg"]\n')
    return tmp_path / "dom0.cfg"


def launch(config, capsys) -> tuple[int, str]:
    capsys.readouterr()
    status = main(["launch", str(config), "--colour", "never", "--engine", "interp",
                   "--max-seconds", "2"])
    return status, capsys.readouterr().out


def test_a_frame_table_bug_while_destroying_a_guest_spares_the_host(two_guests, capsys,
                                                                     monkeypatch):
    """The F1b shape: relinquishing hello's memory raises MMBug (as forged PTEs left in
    a pinned table made it do); the host reports it, quarantines the frames, goes on."""
    from paravisor.mm import reservation
    real = reservation.relinquish

    def broken(mm, dom):
        if dom.domid == 1:
            raise MMBug("frame 0x42 lost its last reference while typed")
        real(mm, dom)
    monkeypatch.setattr(reservation, "relinquish", broken)
    status, out = launch(two_guests, capsys)
    assert "internal error while destroying it" in out and "quarantined" in out
    assert "tick 5 at" in out
    assert status in (0, 1)


def test_a_failing_restart_spares_the_other_guests(two_guests, capsys, monkeypatch):
    """hello's on_poweroff = "restart" fails to rebuild (its kernel went away): before,
    the error escaped the toolstack's deferred work and the whole launch died with it."""
    from paravisor.toolstack import domains
    real, calls = domains.kernel_image, []

    def vanishing(path, *args):
        calls.append(path)
        if "hello" in path and sum("hello" in c for c in calls) > 1:
            raise BuildError(f"{path}: no such file")
        return real(path, *args)
    monkeypatch.setattr(domains, "kernel_image", vanishing)
    status, out = launch(two_guests, capsys)
    assert "cannot restart hello: " in out and "no such file" in out, out
    assert "tick 5 at" in out
    assert status in (0, 1)


def test_a_failing_service_callback_crashes_only_the_domain_it_serves():
    """A dom0 service's deferred work that raises (a daemon bug) crashes the domain it
    was serving, with a "(XEN)" message; its neighbour is untouched."""
    from paravisor.testing.host import Host
    host = Host(16, strict=False)
    victim, bystander = host.guest(name="victim"), host.guest(name="bystander")

    def buggy_service(_port: int) -> None:
        raise KeyError("a daemon bug")
    host.hv.defer(buggy_service, 0, victim.domid)
    host.hv.run_deferred()
    assert victim.is_shutdown and "internal hypervisor error" in victim.crash_message
    assert not bystander.is_shutdown
    log = host.out.getvalue()
    assert "internal error in test_a_failing_service_callback_crashes_only_the_domain_it_" \
           "serves.buggy_service for domain 1 (victim): KeyError('a daemon bug')" in log, log
