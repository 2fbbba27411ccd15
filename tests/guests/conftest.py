"""Fixtures for running the guest kernels of guest_os/ through the real CLI.

`run_guest(path, cmdline="", engine=None)` runs `paravisor run` in-process (on the
default engine unless `engine` names one) and returns a GuestRun
(exit status, console output, stderr); `launch_host(config)` runs `paravisor launch`.
`require_hypercalls(*numbers)` fails a test whose guest needs a hypercall that is missing
from the dispatch table: a missing handler is a bug, not a reason to skip.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from paravisor.abi import Hypercall
from paravisor.cli import main
from paravisor.hypercalls import dispatch
from paravisor.toolstack.domains import guest_os_dir

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUEST_OS = guest_os_dir()
EXAMPLES = os.path.join(REPO, "examples")
MAX_SECONDS = "5"        # virtual seconds: a guard against a guest that never ends


@dataclass
class GuestRun:
    status: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def kernel_lines(self) -> list[str]:
        """The console lines the kernel itself printed: without the runtime's boot
        diagnostics ("start: ...", printed when shared_info cannot be mapped)."""
        return [line for line in self.lines if not line.startswith("start: ")]


def missing_hypercalls(*numbers: Hypercall) -> list[str]:
    return [Hypercall(n).name for n in numbers if n not in dispatch.TABLE]


@pytest.fixture
def require_hypercalls():
    def require(*numbers: Hypercall) -> None:
        missing = missing_hypercalls(*numbers)
        if missing:
            pytest.fail(f"hypercall(s) missing from the dispatch table: {', '.join(missing)}")
    return require


@pytest.fixture
def run_guest(capsys):
    def run(path: str, cmdline: str = "", engine: str | None = None) -> GuestRun:
        capsys.readouterr()
        status = main(["run", os.path.join(GUEST_OS, path), "--cmdline", cmdline,
                       "--max-seconds", MAX_SECONDS,
                       *(["--engine", engine] if engine else [])])
        captured = capsys.readouterr()
        return GuestRun(status, captured.out, captured.err)
    return run


@pytest.fixture
def launch_host(capsys):
    def launch(config: str) -> GuestRun:
        capsys.readouterr()
        status = main(["launch", os.path.join(EXAMPLES, config), "--colour", "never",
                       "--max-seconds", MAX_SECONDS])
        captured = capsys.readouterr()
        return GuestRun(status, captured.out, captured.err)
    return launch
