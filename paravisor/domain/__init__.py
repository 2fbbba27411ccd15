"""Domains and vCPUs: the hypervisor's view of a guest.

A `Domain` is a protection domain: its memory (owned frames, via the frame table), its
event channels, its console, and one or more `Vcpu`s.  dom0 is privileged (may use
domctl/sysctl and act on other domains); domUs are not.

Ownership: all of this state belongs to the hypervisor loop (`paravisor.hypervisor`).
In the deterministic mode exactly one vCPU runs at a time, so nothing here is locked;
under --realtime it is touched only with the hypervisor lock held
(paravisor/hypervisor/realtime.py), and a vCPU's CPUState only by the engine running it,
while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from paravisor.console import ConsoleBudget
from paravisor.isa.engine import CPUState
from paravisor.isa.table import Ring


class ShutdownReason(Enum):
    """SCHEDOP_shutdown reasons, with Xen's numbers (sched.h)."""
    POWEROFF = 0
    REBOOT = 1
    SUSPEND = 2
    CRASH = 3
    WATCHDOG = 4


class VcpuState(Enum):
    RUNNABLE = "runnable"
    BLOCKED = "blocked"     # SCHEDOP_block / poll: waits for an event or a timer
    DOWN = "down"           # offline (VCPUOP_down, or never brought up)


@dataclass
class TrapHandler:
    """One trap_info entry: where the guest handles `vector`, and the highest ring that
    may raise it deliberately (syscall/break from ring 3 need 3)."""
    address: int
    dpl: int = 1
    mask_events: bool = False   # trap_info.flags TI_IF: enter with events masked


@dataclass
class Vcpu:
    domain: Domain
    vcpu_id: int
    cpu: CPUState = field(default_factory=lambda: CPUState(ring=Ring.KERNEL))
    state: VcpuState = VcpuState.DOWN
    # Registered by the guest (set_trap_table, set_callbacks, stack_switch):
    traps: dict[int, TrapHandler] = field(default_factory=dict)
    event_callback: int = 0
    failsafe_callback: int = 0
    kernel_sp: int = 0
    # Timers, in virtual ns (0 = not armed):
    singleshot_deadline: int = 0
    periodic_period: int = 0
    periodic_next: int = 0
    poll_ports: tuple[int, ...] = ()
    poll_deadline: int = 0
    # Accounting:
    cpu_time_ns: int = 0        # retired instructions and charged hypercall work
    instructions: int = 0
    # Multicall (Xen's mc_state): set while the vCPU's multicall runs one of its calls; a
    # call preempted there leaves its continuation (op, args) for the batch to write back.
    in_multicall: bool = False
    mc_continuation: tuple[int, tuple[int, ...]] | None = None
    # Scheduling (written by the hypervisor loop; the scheduler reads them):
    cpu_hard_affinity: frozenset[int] | None = None   # pCPUs it may run on; None: all
    processor: int = 0          # the pCPU it runs on, or last ran / is queued on
    ready_at: int = 0           # virtual ns: it may not start running before this

    @property
    def domid(self) -> int:
        return self.domain.domid

    @property
    def runnable(self) -> bool:
        return self.state == VcpuState.RUNNABLE and self.domain.can_run

    @property
    def name(self) -> str:
        return f"{self.domain.name}/vcpu{self.vcpu_id}"


class Domain:
    """A guest.  `mem` is the domain's memory accounting in the frame table."""

    def __init__(self, domid: int, name: str, *, privileged: bool = False,
                 max_vcpus: int = 1) -> None:
        self.domid = domid
        self.name = name
        self.privileged = privileged
        self.vcpus: list[Vcpu] = [Vcpu(self, i) for i in range(max_vcpus)]
        self.pause_count = 0
        self.shutdown_reason: ShutdownReason | None = None
        self.shutdown_code = 0          # the guest's exit status (paravisor run)
        self.pending_shutdown: ShutdownReason | None = None   # SCHEDOP_shutdown_code
        self.crash_message = ""         # why the hypervisor crashed it, if it did
        self.dying = False
        self.mem = None                 # paravisor.mm's MemoryDomain, set by the builder
        self.evtchn = None              # paravisor.evtchn's per-domain port table
        self.shared_info_mfn = 0
        self.console_mfn = 0            # the PV console ring page (xencons_interface)
        self.console_evtchn = 0         # its port in this domain (unbound, for dom0)
        self.xenstore_mfn = 0
        self.xenstore_evtchn = 0
        self.start_info_va = 0
        self.console = None             # the console this domain writes to
        self.console_io_budget = ConsoleBudget()   # its console_io rate limit
        self.config = None              # the DomainConfig it was built from, if any
        self.engine = None              # its execution engine (translations are per domain)
        self.handle = bytes(16)         # xen_domain_handle_t: the toolstack's UUID for it

    # --- life cycle ------------------------------------------------------------------

    @property
    def is_shutdown(self) -> bool:
        return self.shutdown_reason is not None

    @property
    def can_run(self) -> bool:
        return self.pause_count == 0 and not self.is_shutdown and not self.dying

    def describe_end(self) -> str:
        if self.shutdown_reason is None:
            return "still running" if not self.dying else "destroyed"
        text = self.shutdown_reason.name.lower()
        if self.shutdown_reason == ShutdownReason.CRASH and self.crash_message:
            text += f": {self.crash_message}"
        elif self.shutdown_reason == ShutdownReason.POWEROFF and self.shutdown_code:
            text += f" (exit code {self.shutdown_code})"
        return text

    def __repr__(self) -> str:
        return f"<Domain {self.domid} {self.name!r}>"
