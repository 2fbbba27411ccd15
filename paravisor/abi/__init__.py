"""The paravisor guest ABI, in one public module (docs/design.md, 'Fixed decisions' 4).

Everything a guest and the hypervisor must agree on is defined here or in the sibling
modules this one re-exports, and nowhere else; guest_os/include/paravisor.{h,inc},
the C wrappers in guest_os/include/hypercalls.h, and the hypercall table and the listing
in docs/abi.md are generated from it (`python -m paravisor.abi.headers`), so no number
is typed twice.

- abi_consts:  hypercall numbers (`Hypercall`) and every sub-operation, flag and status
               code, as IntEnums carrying Xen's names and numbers.
- abi_structs: start_info, shared_info, vcpu_info and the hypercall argument structures.
- abi_ctl:     domctl/sysctl argument structures (dom0's toolstack interface).
- abi_io:      shared rings, blkif/netif requests, the console and XenStore pages.
- signatures:  each hypercall's arguments, the errnos it may return and whether it is
               implemented (`SIGNATURES`, `signature(call)`).
- abi_types:   the Struct/Array/Union machinery (offsets, pack/unpack, guest memory).
- errno:       Xen's errno values; hypercalls return -Errno.X in a0.

The calling convention (docs/abi.md has the full story): `hcall` with the hypercall
number in t0 and up to six arguments in a0..a5; the result comes back in a0, a
negative errno on failure.  A 64-bit argument takes two registers, low word first.

Constant members are also exported here by name, so `abi.SCHEDOP_block` is
`SchedOp.SCHEDOP_block`; the hypercall numbers stay in `Hypercall` (`Hypercall.mmu_update`).
"""

from enum import IntEnum

from paravisor.abi import ctl as abi_ctl
from paravisor.abi import io as abi_io
from paravisor.abi import structs as abi_structs
from paravisor.abi.consts import *  # noqa: F403
from paravisor.abi.consts import SUBOP_GROUPS, Hypercall
from paravisor.abi.consts import XSD_ERRORS as XSD_ERRORS
from paravisor.abi.ctl import *  # noqa: F403
from paravisor.abi.errno import Errno
from paravisor.abi.io import *  # noqa: F403
from paravisor.abi.signatures import SIGNATURES as SIGNATURES
from paravisor.abi.signatures import HypercallSignature as HypercallSignature
from paravisor.abi.signatures import Status as Status
from paravisor.abi.signatures import signature as signature
from paravisor.abi.structs import *  # noqa: F403
from paravisor.abi.types import AbiError as AbiError
from paravisor.abi.types import Array as Array
from paravisor.abi.types import Struct
from paravisor.abi.types import Union as Union
from paravisor.abi.types import cstring as cstring
from paravisor.isa import table

# --- limits a guest can see ------------------------------------------------------------

HIGHEST_ADDRESS = 0xFFFF_F000       # XENVER_platform_parameters.virt_start: nothing above
DEFAULT_MAX_GRANT_FRAMES = 64       # grant-table frames a domain may set up (xl's default)
DEFAULT_MAX_MAPTRACK_FRAMES = 1024  # maptrack frames: how many grants a domain may map


# --- virtual time ------------------------------------------------------------------------
# Time is derived from retired instructions, so it is deterministic: the same run gives
# the same system_time on every engine and host.

NOMINAL_CLOCK_HZ = 100_000_000                  # one instruction = 10 ns of virtual time
NS_PER_SECOND = 1_000_000_000
NS_PER_INSTRUCTION = NS_PER_SECOND // NOMINAL_CLOCK_HZ


def instructions_to_ns(instructions: int) -> int:
    """Virtual nanoseconds that `instructions` retired instructions take."""
    return instructions * NS_PER_INSTRUCTION


def ns_to_instructions(ns: int) -> int:
    """Instructions to retire before `ns` virtual nanoseconds have passed (rounded up,
    so a timer never fires early)."""
    return -(-ns // NS_PER_INSTRUCTION)


# --- identity ------------------------------------------------------------------------------

# start_info.magic and the XENVER_capabilities string: "<name>-<version>-<platform>"
# in the shape of Xen's "xen-3.0-x86_32".
START_INFO_MAGIC = "paravisor-3.0-pv32"
HYPERCALL_MAX_ARGS = len(table.HYPERCALL_ARG_REGS)

# --- what the headers carry --------------------------------------------------------------

# (group, prefix) in header order; a member's header name is prefix + member name.
CONSTANT_GROUPS: tuple[tuple[type[IntEnum], str], ...] = (
    (Hypercall, "__HYPERVISOR_"),
    (Errno, ""),
    *((group, "") for group in SUBOP_GROUPS),
)


def _machine_constants() -> dict[str, int]:
    """The ISA facts a guest kernel needs (page size, PTE bits, trap vectors, #PF error
    bits), taken from the ISA table so they are not typed twice."""
    names = ["PAGE_SHIFT", "PAGE_SIZE", "ENTRIES_PER_TABLE",
             *(n for n in vars(table) if n.startswith(("PTE_", "PF_")))]
    values = {name: int(getattr(table, name)) for name in names}
    values.update({f"TRAP_VEC_{v.name}": int(v) for v in table.Vector})
    return values


# Plain numbers, by header section.
SCALAR_CONSTANTS: dict[str, dict[str, int]] = {
    "machine (from the PV32 ISA table)": _machine_constants(),
    "limits and sizes": {
        "NOMINAL_CLOCK_HZ": NOMINAL_CLOCK_HZ,
        "NS_PER_INSTRUCTION": NS_PER_INSTRUCTION,
        "HYPERCALL_MAX_ARGS": HYPERCALL_MAX_ARGS,
        "XEN_LEGACY_MAX_VCPUS": abi_structs.XEN_LEGACY_MAX_VCPUS,
        "MAX_GUEST_CMDLINE": abi_structs.MAX_GUEST_CMDLINE,
        "XEN_DOMAIN_HANDLE_LEN": abi_structs.XEN_DOMAIN_HANDLE_LEN,
        "NR_TRAP_VECTORS": abi_structs.NR_TRAP_VECTORS,
        "VGC_NR_CTRLREGS": abi_structs.VGC_NR_CTRLREGS,
        "EVTCHN_2L_NR_CHANNELS": abi_structs.EVTCHN_2L_NR_CHANNELS,
        "NR_EVENT_CHANNELS": abi_structs.EVTCHN_2L_NR_CHANNELS,
        "BLKIF_RING_SIZE": abi_io.BLKIF_RING_SIZE,
        "NET_TX_RING_SIZE": abi_io.NET_TX_RING_SIZE,
        "NET_RX_RING_SIZE": abi_io.NET_RX_RING_SIZE,
    },
}

# Strings (C header only: the assembler's .equ takes numbers).
STRING_CONSTANTS: dict[str, str] = {"START_INFO_MAGIC": START_INFO_MAGIC}


def _public_structs() -> tuple[Struct, ...]:
    """Every structure the sibling modules declare by an UPPER_CASE name, in
    declaration order (core, then domctl/sysctl, then I/O)."""
    seen: dict[int, Struct] = {}
    for module in (abi_structs, abi_ctl, abi_io):
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, Struct) and id(value) not in seen:
                seen[id(value)] = value
    return tuple(seen.values())


STRUCTS: tuple[Struct, ...] = _public_structs()


def _export_members() -> None:
    """Make every constant member (except hypercall numbers) a module attribute."""
    for group, _prefix in CONSTANT_GROUPS[1:]:
        for name, member in group.__members__.items():
            old = globals().get(name)
            if old is not None and int(old) != int(member):
                raise ImportError(f"ABI constant {name} defined twice")
            globals()[name] = member


_export_members()
