"""Hostile guests: each kernel in guest_os/tests/attacks/ attacks the hypervisor from inside
a domain, as an XSA researcher would, and powers off with 0 when the attack was contained
(after printing "<name>: CONTAINED") or with the number of the check that found a breach.

The hypervisor is a black box here: every attack runs through the real CLI in a fresh
process with a time-out, so a host that hangs or dies fails the test instead of taking the
suite with it.  `run_attack(name, engine)` builds the kernel once per session (C or
assembly) and runs it with `paravisor run`; a test that takes the `engine` fixture runs
once per engine.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from paravisor.toolstack.domains import guest_os_dir

ATTACKS = Path(guest_os_dir()) / "tests" / "attacks"
HOST_TIMEOUT_S = 60      # wall clock: a contained attack ends in a few seconds
ENGINES = ("interp", "jit")


@dataclass
class AttackRun:
    status: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    def contained(self, name: str) -> bool:
        return self.status == 0 and f"{name}: CONTAINED" in self.lines


def paravisor(*args: str, timeout: float = HOST_TIMEOUT_S) -> subprocess.CompletedProcess:
    """`paravisor ARGS...` in a fresh interpreter (-P: the installed package)."""
    return subprocess.run([sys.executable, "-P", "-m", "paravisor.cli", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    """Each engine in turn: an attack must be contained on the interpreter and the JIT."""
    return request.param


@pytest.fixture(scope="session")
def attack_image(tmp_path_factory):
    """name -> path of its ELF image, built once per session."""
    built: dict[str, Path] = {}
    out_dir = tmp_path_factory.mktemp("attacks")

    def build(name: str) -> Path:
        if name not in built:
            source = next(ATTACKS.glob(f"{name}.[cs]"))
            tool = "cc" if source.suffix == ".c" else "as"
            image = out_dir / f"{name}.elf"
            if tool == "cc":
                result = paravisor("cc", "-O1", str(source), "-o", str(image))
            else:
                obj = out_dir / f"{name}.o"
                result = paravisor("as", str(source), "-o", str(obj))
                if result.returncode == 0:
                    result = paravisor("ld", str(obj), "-o", str(image))
            assert result.returncode == 0, result.stderr
            built[name] = image
        return built[name]
    return build


@pytest.fixture
def run_attack(attack_image):
    """run_attack(name, engine, *extra paravisor-run args) -> AttackRun."""
    def run(name: str, engine: str, *extra: str) -> AttackRun:
        result = paravisor("run", str(attack_image(name)), "--engine", engine,
                           "--max-seconds", "30", *extra)
        return AttackRun(result.returncode, result.stdout, result.stderr)
    return run
