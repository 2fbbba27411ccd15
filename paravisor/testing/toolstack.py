"""A toolstack for device tests: dom0 with its services and one paused guest whose
config names the devices under test (disks, vifs), after dom0 has handled them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paravisor.domain import Domain
from paravisor.hypervisor import Hypervisor
from paravisor.services.console import ConsoleDaemon
from paravisor.testing.host import SPIN
from paravisor.toolstack.config import DomainConfig
from paravisor.toolstack.domains import Toolstack


def create_guest(tmp_path: Path, **devices: Any) -> tuple[Hypervisor, Toolstack, Domain]:
    """A strict 12 MiB host with dom0 and a Toolstack, and a paused 4 MiB guest "vm"
    (a spinning kernel written to `tmp_path`) created with `devices` as DomainConfig
    fields (e.g. disk=(DiskSpec, ...), vif=(VifSpec, ...)).  dom0's deferred work has
    run, as the loop would run it, so the backends have seen the new devices."""
    kernel = tmp_path / "spin.s"
    kernel.write_text(SPIN)
    hv = Hypervisor(12, strict=True)
    dom0 = hv.create_domain("Domain-0", domid=0, privileged=True)
    toolstack = Toolstack(hv, dom0, ConsoleDaemon(hv, dom0))
    cfg = DomainConfig(name="vm", kernel=str(kernel), path=str(kernel), memory=4,
                       maxmem=4, **devices)
    dom = toolstack.create(cfg, paused=True)
    hv.run_deferred()
    return hv, toolstack, dom
