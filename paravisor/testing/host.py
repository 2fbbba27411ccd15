"""A small hypervisor for tests: guests built from assembly text through the real
toolchain and domain builder, ready to run (paused) or to drive through the Python API."""

from __future__ import annotations

import io

from paravisor.console import ConsoleHub
from paravisor.domain import Domain
from paravisor.hypervisor import Hypervisor
from paravisor.hypervisor.builder import GuestImage, build_domain, parse_image

SPIN = """
    .text
    .global _start
_start:
    j _start
"""


def image_from(asm: str, name: str = "guest.s") -> GuestImage:
    """Assemble and link one source text into a guest image."""
    from paravisor.toolchain.asm import assemble
    from paravisor.toolchain.ld import link
    return parse_image(link([(name, assemble(asm, name))]), name)


class Host:
    """A strict hypervisor (internal errors raise) whose console output is captured."""

    def __init__(self, host_mib: int = 64, **hv_options) -> None:
        self.out = io.StringIO()
        self.console = ConsoleHub(self.out, colour=False)
        hv_options.setdefault("strict", True)
        self.hv = Hypervisor(host_mib, console=self.console, **hv_options)

    def guest(self, asm: str = SPIN, name: str | None = None, memory_mib: int = 2,
              privileged: bool = False, domid: int | None = None) -> Domain:
        """A new domain built from `asm`, paused (hv.unpause it to run)."""
        name = name or f"g{len(self.hv.domains)}"
        dom = self.hv.create_domain(name, privileged=privileged, domid=domid)
        build_domain(self.hv, dom, image_from(asm, f"{name}.s"), memory_mib)
        return dom

    def output(self, dom: Domain) -> list[str]:
        self.console.flush()
        return self.console.output_of(dom.name)
