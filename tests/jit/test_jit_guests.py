"""Whole guests: every kernel in guest_os/ (and its guest tests) runs on the JIT with
the same console output, exit status, retired instructions and final virtual time as
on the interpreter, and whole hosts (`paravisor launch examples/dom0*.cfg`) print the
same (docs/design.md, 'Fixed decisions' 5: same configuration, same run, either
engine)."""

import glob
import io
import os

import pytest

from paravisor.console import ConsoleHub
from paravisor.hypervisor import Hypervisor
from paravisor.isa.interpreter import Interpreter
from paravisor.jit import JitEngine
from paravisor.jit.config import JitConfig
from paravisor.services.console import ConsoleDaemon
from paravisor.toolstack.config import DomainConfig
from paravisor.toolstack.domains import Toolstack, guest_os_dir

MEMORY_MIB = 16
MAX_NS = 60_000_000          # 60 ms of virtual time: every guest but spinner ends by then
KERNELS = sorted(glob.glob(os.path.join(guest_os_dir(), "*.s"))
                 + glob.glob(os.path.join(guest_os_dir(), "tests", "*.s")))


def run_guest(path, engine_factory):
    """Run one kernel like `paravisor run`; (status, console, hv.now, instructions)."""
    out = io.StringIO()
    hv = Hypervisor(MEMORY_MIB + 8, console=ConsoleHub(out, raw=True),
                    engine_factory=engine_factory)
    dom0 = hv.create_domain("Domain-0", domid=0, privileged=True)
    daemon = ConsoleDaemon(hv, dom0)
    cfg = DomainConfig(name="guest", kernel=path, path=path, memory=MEMORY_MIB,
                       maxmem=MEMORY_MIB, on_poweroff="preserve", on_reboot="preserve",
                       on_crash="preserve", on_watchdog="preserve")
    dom = Toolstack(hv, dom0, daemon).create(cfg)
    hv.run(until=lambda: dom.is_shutdown and not hv.deferred, max_ns=MAX_NS)
    daemon.disconnect(dom)
    hv.console.flush()
    status = (dom.shutdown_reason, dom.shutdown_code) if dom.is_shutdown else None
    instructions = sum(vcpu.instructions for vcpu in dom.vcpus)
    return status, out.getvalue(), hv.now, instructions


def test_the_guest_kernels_are_found():
    assert len(KERNELS) >= 5, f"guest kernels missing from {guest_os_dir()}"


@pytest.mark.parametrize("path", KERNELS, ids=lambda p: os.path.relpath(p, guest_os_dir()))
def test_guest_runs_identically_on_both_engines(path):
    reference = run_guest(path, Interpreter)
    jitted = run_guest(path, lambda memory: JitEngine(memory, JitConfig(threshold=4)))
    assert jitted == reference
    assert reference[2] > 0 and reference[3] > 0


# The checkout's examples/ (they are not installed with the package).
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "examples")
HOST_CONFIGS = sorted(glob.glob(os.path.join(EXAMPLES, "dom0*.cfg")))


@pytest.mark.parametrize("config", HOST_CONFIGS, ids=os.path.basename)
def test_a_whole_host_launches_identically_on_both_engines(config):
    # dom0 and several guests, created and destroyed by the toolstack (which calls
    # forget() on their engines): the same consoles, endings and virtual time.
    from paravisor.toolstack.launch import launch
    runs = []
    for engine in ("interp", "jit"):
        out = io.StringIO()
        status = launch(config, engine=engine, stream=out, colour=False, max_seconds=5)
        runs.append((status, out.getvalue()))
    assert runs[0] == runs[1]
    assert "of virtual time" in runs[1][1]
