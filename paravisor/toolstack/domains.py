"""The toolstack proper: create domains from configs and act when they end (xl's job).

It runs as a dom0 service.  Creating a domain follows xl: create the empty domain, set
its limits, give it console and XenStore event channels for dom0, build it from its
kernel image, connect the console daemon, make its XenStore home and introduce it to
the XenStore daemon, and unpause it.  When a domain shuts down, the config's
on_poweroff / on_reboot / on_crash / on_watchdog action decides: destroy it, restart it
(destroy and create again from the same config), or preserve it shut down.

Kernels named by source path (`kernel = "hello.s"`) are built with our toolchain on
first use and cached for the process.  A kernel file must be a regular file: an image no
larger than its domain's memory, a source no larger than MAX_KERNEL_SOURCE_BYTES
(toolstack.configfiles.kernel_file_limit); anything else is refused before it is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from paravisor.domain import Domain, ShutdownReason
from paravisor.errors import UserError
from paravisor.hypervisor.builder import BuildError, build_domain, load_image_file, parse_image
from paravisor.inputfiles import InputFileError, check_input_file
from paravisor.sched.ctl import set_sched_credit
from paravisor.services.blkback import Blkback, write_vbd_nodes
from paravisor.services.netback import Netback, write_vif_nodes
from paravisor.services.xenstore.daemon import XenStoreDaemon
from paravisor.toolstack.config import DomainConfig
from paravisor.toolstack.configfiles import kernel_file_limit
from paravisor.toolstack.devices import DiskSpec

MAX_RESTARTS = 5                     # a domain that keeps crashing is not restarted forever
GUEST_OS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "guest_os")

_image_cache: dict[tuple[str, float], bytes] = {}


def guest_os_dir() -> str:
    """Where the guest kernels live (a checkout's guest_os/, or the installed package)."""
    import paravisor.guest_os as pkg
    return os.path.dirname(os.path.abspath(pkg.__file__))


def kernel_image(path: str, memory_mib: int):
    """Load the kernel of a domain with `memory_mib`: an ELF image, or an assembly or C
    source we build (and cache) here; C is compiled with `paravisor cc` and linked with
    crt0 and its libc.  A file of the wrong kind or size is an InputFileError."""
    what, limit, limit_text = kernel_file_limit(path, memory_mib)
    if what == "kernel image":
        return load_image_file(path, memory_mib)
    try:
        check_input_file(path, what, limit, limit_text)
        key = (path, os.path.getmtime(path))
    except OSError as err:
        raise BuildError(f"{path}: cannot read the kernel source: {err.strerror}") from None
    if key not in _image_cache:
        _image_cache[key] = _build_source(path)
    return parse_image(_image_cache[key], path)


def _build_source(path: str) -> bytes:
    """An image from one kernel source: C through `paravisor cc` (with crt0 and libc),
    assembly through the assembler and linker."""
    if path.endswith(".c"):
        from paravisor.toolchain.cc import build_program
        return build_program([path])
    from paravisor.toolchain.ld import build_image
    return build_image([path])


def apply_schedule_params(hv, dom: Domain, cfg: DomainConfig) -> None:
    """Weight and cap (credit only) and every vCPU's hard affinity, from `cfg`.  A
    `cpus` that names only pCPUs the host lacks is a BuildError naming the file."""
    if hv.sched.domain_params(dom.domid) is not None:
        set_sched_credit(hv, dom, weight=cfg.cpu_weight, cap=cfg.cap)
    nr_pcpus = len(hv.pcpus)
    for vcpu in dom.vcpus:
        cpus = cfg.hard_affinity(vcpu.vcpu_id, nr_pcpus)
        if not cpus:
            raise BuildError(f"{cfg.path}: 'cpus' leaves {vcpu.name} no pCPU to run on "
                             f"(the host has pCPUs 0-{nr_pcpus - 1})")
        hv.set_vcpu_affinity(vcpu, None if len(cpus) == nr_pcpus else cpus)


def create_disk_image(cfg: DomainConfig, disk: DiskSpec) -> None:
    """paravisor's `size=` disk parameter: a missing image is created, sparse and
    zero-filled, with that size (an existing one is used as it is).  Without `size` a
    missing image stays blkback's error.  A failure is a BuildError naming the config."""
    if disk.size is None or os.path.exists(disk.target):
        return
    try:
        with open(disk.target, "xb") as image:
            image.truncate(disk.size)
    except OSError as err:
        raise BuildError(f"{cfg.path}: cannot create disk image {disk.target} "
                         f"(size={disk.size}): {err.strerror}") from None


@dataclass
class Ending:
    """How a domain ended, for the summary `paravisor launch` prints."""
    name: str
    domid: int
    reason: ShutdownReason | None
    text: str
    action: str
    code: int = 0                     # the guest's exit code (sched_shutdown's extension)

    @property
    def clean(self) -> bool:
        """Powered off with exit code 0: what a launch counts as success."""
        return self.reason == ShutdownReason.POWEROFF and self.code == 0


class Toolstack:
    def __init__(self, hv, dom0: Domain, console_daemon, xenstore=None,
                 bridges: tuple = ()) -> None:
        """`bridges`: the host config's BridgeSettings (pcap, uplink per bridge)."""
        self.hv, self.dom0, self.consoles = hv, dom0, console_daemon
        self.xenstore = xenstore if xenstore is not None else XenStoreDaemon(hv, dom0)
        self.blkback = Blkback(hv, dom0, self.xenstore)
        self.netback = Netback(hv, dom0, self.xenstore, bridges)
        self.guests: dict[int, Domain] = {}       # live domUs we created
        self.endings: list[Ending] = []
        self.restarts: dict[str, int] = {}
        hv.listeners.append(self._domain_changed)

    # --- creation -------------------------------------------------------------------------

    def create(self, cfg: DomainConfig, *, paused: bool = False) -> Domain:
        """Create, build and (unless `paused`) start a domain from `cfg`."""
        if cfg.kernel is None:
            raise BuildError(f"{cfg.path}: no kernel given")
        if any(d.name == cfg.name for d in self.hv.domains.values() if not d.dying):
            raise BuildError(f"{cfg.path}: a domain named {cfg.name!r} already exists")
        try:
            image = kernel_image(cfg.kernel, cfg.memory)
        except InputFileError as err:
            raise BuildError(f"{cfg.path}: {err}") from None
        dom = self.hv.create_domain(cfg.name, max_vcpus=cfg.maxvcpus,
                                    max_event_channels=cfg.max_event_channels)
        dom.config = cfg
        try:
            apply_schedule_params(self.hv, dom, cfg)
            dom.console_evtchn = self.hv.events.alloc_unbound(dom, dom.domid, self.dom0.domid)
            dom.xenstore_evtchn = self.hv.events.alloc_unbound(dom, dom.domid, self.dom0.domid)
            build_domain(self.hv, dom, image, cfg.memory, cfg.cmdline or "")
            self.consoles.connect(dom)
            self.xenstore.create_domain_home(dom)
            self.xenstore.introduce(dom)
            for vif in cfg.vif:
                write_vif_nodes(self.xenstore.dom0_handle, dom.domid, vif)
            for disk in cfg.disk:
                create_disk_image(cfg, disk)
                write_vbd_nodes(self.xenstore.dom0_handle, dom.domid, disk.devid,
                                disk.target, disk.vdev, disk.readonly)
        except Exception:
            self.hv.destroy(dom)
            raise
        self.guests[dom.domid] = dom
        if not paused:
            self.hv.unpause(dom)
        return dom

    # --- endings ----------------------------------------------------------------------------

    def _action_for(self, dom: Domain) -> str:
        cfg = dom.config
        reason = dom.shutdown_reason
        if reason == ShutdownReason.CRASH:
            return cfg.on_crash
        if reason == ShutdownReason.REBOOT:
            return cfg.on_reboot
        if reason == ShutdownReason.WATCHDOG:
            return cfg.on_watchdog
        return cfg.on_poweroff

    def _domain_changed(self, dom: Domain) -> None:
        if dom.domid not in self.guests or not dom.is_shutdown or dom.dying:
            return
        # Act later in the loop, not inside the hypercall that shut the domain down.
        self.hv.defer(self._handle_shutdown, dom.domid, dom.domid)

    def _handle_shutdown(self, domid: int) -> None:
        dom = self.guests.get(domid)
        if dom is None or dom.dying:
            return
        action = self._action_for(dom)
        self.consoles.disconnect(dom)
        self.endings.append(Ending(dom.name, dom.domid, dom.shutdown_reason,
                                   dom.describe_end(), action, dom.shutdown_code))
        if action == "preserve":
            del self.guests[domid]
            return
        del self.guests[domid]
        self.hv.destroy(dom)
        if action == "restart":
            count = self.restarts.get(dom.name, 0) + 1
            self.restarts[dom.name] = count
            if count > MAX_RESTARTS:
                self.hv.log(f"{dom.name} restarted {MAX_RESTARTS} times; not restarting again")
                return
            self.hv.log(f"restarting {dom.name} (on_{dom.shutdown_reason.name.lower()} "
                        f"= restart)")
            try:
                self.create(dom.config)
            except UserError as err:      # e.g. its kernel went away: the others go on
                self.hv.log(f"cannot restart {dom.name}: {err}", important=True)

    def busy(self) -> bool:
        """Guests still running (or being handled)."""
        return bool(self.guests) or bool(self.hv.deferred)

    def destroy_all(self) -> None:
        """Ctrl-C or the end of a launch: every guest down, consoles drained first.  A
        guest still running ends "destroyed (interrupted)"; one that had already shut
        down (its ending not handled yet when the run stopped) keeps its own ending."""
        for dom in list(self.guests.values()):
            self.consoles.disconnect(dom)
            if dom.is_shutdown:
                text = dom.describe_end()
            else:
                self.hv.shutdown(dom, ShutdownReason.POWEROFF, message="destroyed by toolstack")
                text = "destroyed (interrupted)"
            self.endings.append(Ending(dom.name, dom.domid, dom.shutdown_reason, text,
                                       "destroy", dom.shutdown_code))
            self.hv.destroy(dom)
        self.guests.clear()
