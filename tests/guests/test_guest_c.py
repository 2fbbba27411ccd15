"""A demo guest written in C runs the same on both engines, alone and under launch."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("engine", ["interp", "jit"])
def test_hello_in_c_greets_with_its_command_line(engine):
    result = subprocess.run(
        [sys.executable, "-P", "-m", "paravisor.cli", "run", str(ROOT / "guest_os/hello_c.c"),
         "--engine", engine, "--cmdline", "C"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Hello from C"
    assert lines[1] == "I have 4096 pages of memory"      # paravisor run's 16 MiB
    assert lines[-1] == "Goodbye."


def test_hello_in_c_under_launch(tmp_path):
    (tmp_path / "dom0.cfg").write_text(
        f'name = "Domain-0"\nkernel = "{ROOT / "guest_os/dom0.s"}"\nmemory = 4\n'
        f'guests = ["{ROOT / "examples/hello-c.cfg"}"]\n')
    result = subprocess.run(
        [sys.executable, "-P", "-m", "paravisor.cli", "launch", str(tmp_path / "dom0.cfg"),
         "--colour", "never"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "hello-c  | Hello from C" in result.stdout
    assert "hello-c (domain 1): poweroff -> destroy" in result.stdout
