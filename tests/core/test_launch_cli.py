"""`paravisor launch` and `paravisor run` as a user runs them: log files, Ctrl-C,
restarts, bad input, exit statuses, a guest's own config, the console's name column."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from paravisor.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPIN = """
    .text
    .global _start
_start:
    j _start
"""
HELLO_THEN_REBOOT = """
    .include "paravisor.inc"
    .text
    .global _start
_start:
    li t0, __HYPERVISOR_console_io
    li a0, CONSOLEIO_write
    li a1, 6
    la a2, msg
    hcall
    la a1, args
    li a0, SCHEDOP_shutdown
    li t0, __HYPERVISOR_sched_op
    hcall
    .data
msg:  .ascii "booted"
    .balign 4
args: .word SHUTDOWN_reboot, 0
"""


def _host(tmp_path, kernel_text: str, extra: str = "") -> Path:
    (tmp_path / "guest.s").write_text(kernel_text)
    (tmp_path / "guest.cfg").write_text(
        f'name = "guest"\nkernel = "guest.s"\nmemory = 2\n{extra}')
    (tmp_path / "dom0.cfg").write_text(
        f'name = "Domain-0"\nkernel = "{EXAMPLES.parent / "guest_os" / "dom0.s"}"\n'
        'memory = 4\nguests = ["guest.cfg"]\n')
    return tmp_path / "dom0.cfg"


def _launch(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-P", "-m", "paravisor.cli", "launch", *args],
                          capture_output=True, text=True, timeout=120, **kw)


def test_log_dir_gets_one_file_per_domain(tmp_path):
    logs = tmp_path / "logs"
    result = _launch(str(EXAMPLES / "dom0.cfg"), "--log-dir", str(logs), "--colour", "never")
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(logs)) == ["Domain-0.log", "hello.log", "ticker.log"]
    assert "tick 5" in (logs / "ticker.log").read_text()
    assert (logs / "hello.log").read_text().splitlines()[0].startswith("Hello from")


def test_ctrl_c_shuts_every_domain_down_cleanly(tmp_path):
    config = _host(tmp_path, SPIN)
    proc = subprocess.Popen([sys.executable, "-P", "-m", "paravisor.cli", "launch",
                             str(config), "--colour", "never"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    assert "interrupted: shutting every domain down" in out
    assert "guest (domain 1): destroyed (interrupted) -> destroy" in out
    assert proc.returncode == 130


def test_on_reboot_restart_recreates_the_domain_a_bounded_number_of_times(tmp_path):
    config = _host(tmp_path, HELLO_THEN_REBOOT, 'on_reboot = "restart"\n')
    result = _launch(str(config), "--colour", "never")
    booted = [line for line in result.stdout.splitlines() if line.startswith("guest")]
    assert len(booted) == 6          # the first boot plus MAX_RESTARTS restarts
    assert "not restarting again" in result.stdout
    assert result.returncode == 1    # it never powered off


def test_a_missing_kernel_is_an_error_naming_it(tmp_path):
    config = _host(tmp_path, SPIN)
    (tmp_path / "guest.s").unlink()
    result = _launch(str(config))
    assert result.returncode == 2
    assert "guest.s" in result.stderr and "Traceback" not in result.stderr


def test_a_kernel_with_a_syntax_error_is_reported_with_its_line(tmp_path):
    config = _host(tmp_path, "    .text\n_start:\n    addx a0, a0, 1\n")
    result = _launch(str(config))
    assert result.returncode == 2
    assert "guest.s:3:" in result.stderr and "Traceback" not in result.stderr


# --- exit statuses: the same for launch and run ----------------------------------------

def _started(proc: subprocess.Popen, text: str, timeout: float = 60) -> None:
    """Wait until `proc` has printed a line containing `text` (or fail).  A thread reads
    the lines, so that what the pipe's buffer already holds is seen too."""
    seen = threading.Event()

    def watch() -> None:
        for line in proc.stdout:
            if text in line:
                seen.set()
                return

    threading.Thread(target=watch, daemon=True).start()
    if not seen.wait(timeout):
        proc.kill()
        pytest.fail(f"no {text!r} within {timeout} s: {proc.communicate()[1]}")


SPIN_FOREVER = {
    "launch": ["launch", str(EXAMPLES / "spinner-light.cfg"), 'cmdline="0"'],
    "run": ["run", str(EXAMPLES.parent / "guest_os" / "spinner.s"), "--cmdline", "0"],
}


@pytest.mark.parametrize("command", ["launch", "run"])
def test_ctrl_c_gives_status_130(command):
    proc = subprocess.Popen([sys.executable, "-P", "-m", "paravisor.cli",
                             *SPIN_FOREVER[command]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _started(proc, "spinner: spinning for 0 ms")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    assert proc.returncode == 130
    assert "interrupted" in out + err


@pytest.mark.parametrize("command", ["launch", "run"])
def test_a_time_limit_gives_status_124(command, capsys):
    status = main([*SPIN_FOREVER[command], "--max-seconds", "0.02", "--engine", "interp"])
    out, err = capsys.readouterr()
    assert status == 124
    assert "time limit reached" in out + err


def test_version_prints_the_package_version(capsys):
    from importlib.metadata import version
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"paravisor {version('paravisor')}\n"


def test_paravisor_alone_prints_the_usage_and_exits_2():
    result = subprocess.run([sys.executable, "-P", "-m", "paravisor.cli"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("usage: paravisor")
    assert "launch" in result.stderr and "Exit status:" in result.stderr


def test_an_image_reaching_the_top_of_memory_is_refused_naming_it(tmp_path, capsys):
    assert main(["as", str(EXAMPLES.parent / "guest_os" / "hello.s"),
                 "-o", str(tmp_path / "hello.o")]) == 0
    image = tmp_path / "high.elf"
    assert main(["ld", str(tmp_path / "hello.o"), "--base", "0xffff0000",
                 "-o", str(image)]) == 0
    capsys.readouterr()
    assert main(["run", str(image), "--engine", "interp"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"paravisor run: {image}: the image's segments end at "
                          f"0xffff6000, too near the top of the address space")
    assert "link it lower: paravisor ld --base" in err


# --- a guest's own config -----------------------------------------------------------

def test_launch_of_a_guest_config_runs_it_on_a_default_host(capsys):
    status = main(["launch", str(EXAMPLES / "hello.cfg"), "--colour", "never",
                   "--engine", "interp"])
    out = capsys.readouterr().out
    assert status == 0
    assert (f"(XEN)    | {EXAMPLES / 'hello.cfg'} is a guest's config (no 'guests'): "
            f"running it on a default host, Domain-0 with the built-in kernel") in out
    assert "Domain-0 | paravisor dom0: hypervisor version" in out
    assert "hello    | Hello from hello" in out
    assert "(XEN)    |   hello (domain 1): poweroff -> destroy" in out


def test_launch_of_a_host_config_without_guests_is_refused(tmp_path, capsys):
    config = tmp_path / "dom0.cfg"
    config.write_text('name = "Domain-0"\nmemory = 4\n')
    assert main(["launch", str(config)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"paravisor launch: {config}: error: this host config lists no guests, "
                   f"so there is nothing to run: name their configs in guests = "
                   f"[\"hello.cfg\", ...]\n")


# --- the console's name column ------------------------------------------------------

@pytest.mark.parametrize("long_name, width, label", [
    ("twelve-chars", 12, "twelve-chars"),                       # the longest name
    ("a-guest-with-a-rather-long-name", 20, "a-guest-with-a-rath~"),   # NAME_COLUMN_MAX
])
def test_the_name_column_keeps_one_width_for_the_whole_run(tmp_path, capsys, long_name,
                                                            width, label):
    hello = EXAMPLES.parent / "guest_os" / "hello.s"
    for name in ("a", long_name):
        (tmp_path / f"{name}.cfg").write_text(
            f'name = "{name}"\nkernel = "{hello}"\nmemory = 2\ncmdline = "{name}"\n')
    (tmp_path / "dom0.cfg").write_text(f'memory = 4\nguests = ["a.cfg", "{long_name}.cfg"]\n')
    assert main(["launch", str(tmp_path / "dom0.cfg"), "--colour", "never",
                 "--engine", "interp"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert {line.index(" | ") for line in lines} == {width}
    assert f"{label} | Hello from {long_name}" in lines
    assert f"{'a':<{width}} | Hello from a" in lines
