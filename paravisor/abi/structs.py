"""Shared structures of the core hypercalls, in their PV32 layouts.

How a Xen type becomes ours (PV32 is a 32-bit ISA):
- unsigned long, xen_ulong_t, xen_pfn_t, pointers and guest handles -> u32;
- addresses and frame numbers that Xen widens to uint64_t (mmu_update.ptr,
  gnttab_map_grant_ref.host_addr, vcpu_register_vcpu_info.mfn ...) -> u32 too: no
  machine or guest address here is wider than 32 bits, and guests need no 64-bit
  arithmetic to fill them;
- times and page *counts* that Xen fixes as 64-bit (system_time, timeouts,
  tot_pages, cpu_time) stay u64, aligned to 8 (x86-64's rule, not i386's);
- domid_t u16, evtchn_port_t u32, grant_ref_t u32, grant_handle_t u32.
Where the result differs from Xen's x86_32 layout, the declaration says so.

Who writes what is documented in docs/abi.md; the per-op IN/OUT fields follow Xen's
public headers.
"""

from paravisor.abi.types import (
    CHAR,
    I8,
    I16,
    I32,
    U8,
    U16,
    U32,
    U64,
    Array,
    Struct,
    Union,
)
from paravisor.isa.table import NUM_CRS, NUM_REGS, PAGE_SIZE

XEN_LEGACY_MAX_VCPUS = 32          # vcpu_info slots in shared_info (arch-x86/xen.h)
MAX_GUEST_CMDLINE = 1024           # start_info.cmd_line (xen.h)
XEN_DOMAIN_HANDLE_LEN = 16         # xen_domain_handle_t: a UUID (xen.h)
NR_TRAP_VECTORS = 256              # trap_ctxt entries, one per vector (as x86's IDT)
VGC_NR_CTRLREGS = 16               # ours: room for every PV32 control register
EVTCHN_2L_WORDS = 32               # evtchn_pending/evtchn_mask words of 32 bits
EVTCHN_2L_NR_CHANNELS = EVTCHN_2L_WORDS * 32   # 1024 ports (event_channel.h, 32-bit)

if NUM_CRS > VGC_NR_CTRLREGS:   # the ISA grew past vcpu_guest_context.ctrlreg
    raise ImportError("vcpu_guest_context.ctrlreg has fewer slots than the ISA has CRs")

# --- time and vCPU info ----------------------------------------------------------------

VCPU_TIME_INFO = Struct("vcpu_time_info", [
    ("version", U32),            # odd while the hypervisor updates the fields below
    ("pad0", U32),
    ("tsc_timestamp", U64),      # always 0: PV32 guests have no TSC
    ("system_time", U64),        # ns since boot, from retired instructions
    ("tsc_to_system_mul", U32),  # always 0
    ("tsc_shift", I8),           # always 0
    ("flags", U8),               # XEN_PVCLOCK_*
    ("pad1", Array(U8, 2)),
], size=32, doc="per-vCPU time, refreshed by the hypervisor on every guest entry")

ARCH_VCPU_INFO = Struct("arch_vcpu_info", [
    ("cr2", U32),                # fault address of the last #PF bounced to the guest
    ("pad", Array(U32, 5)),
], size=24, doc="architecture part of vcpu_info (x86_32's layout)")

VCPU_INFO = Struct("vcpu_info", [
    ("evtchn_upcall_pending", U8),   # set by the hypervisor, cleared by the guest
    ("evtchn_upcall_mask", U8),      # set/cleared by the guest; 1 = no upcalls
    ("evtchn_pending_sel", U32),     # one bit per evtchn_pending word
    ("arch", ARCH_VCPU_INFO),
    ("time", VCPU_TIME_INFO),
], size=64, doc="per-vCPU event and time state in shared_info")

ARCH_SHARED_INFO = Struct("arch_shared_info", [
    ("max_pfn", U32),
    ("pfn_to_mfn_frame_list_list", U32),
    ("nmi_reason", U32),
    ("p2m_cr3", U32),
    ("p2m_vaddr", U32),
    ("p2m_generation", U32),
    ("wc_sec_hi", U32),
], doc="p2m publication for the toolstack (x86_32's layout)")

SHARED_INFO = Struct("shared_info", [
    ("vcpu_info", Array(VCPU_INFO, XEN_LEGACY_MAX_VCPUS)),
    ("evtchn_pending", Array(U32, EVTCHN_2L_WORDS)),
    ("evtchn_mask", Array(U32, EVTCHN_2L_WORDS)),
    ("wc_version", U32),
    ("wc_sec", U32),
    ("wc_nsec", U32),
    ("arch", ARCH_SHARED_INFO),
], doc="the page shared by the hypervisor and a domain")

# --- start of day ------------------------------------------------------------------------

START_INFO_CONSOLE = Union("start_info_console", [
    ("domU", Struct("start_info_console_domU", [("mfn", U32), ("evtchn", U32)])),
    ("dom0", Struct("start_info_console_dom0", [("info_off", U32), ("info_size", U32)])),
])

START_INFO = Struct("start_info", [
    ("magic", Array(CHAR, 32)),          # START_INFO_MAGIC, NUL-padded
    ("nr_pages", U32),
    ("shared_info", U32),                # machine address of shared_info
    ("flags", U32),                      # SIF_*
    ("store_mfn", U32),
    ("store_evtchn", U32),
    ("console", START_INFO_CONSOLE),
    ("pt_base", U32),                    # virtual address of the bootstrap L2
    ("nr_pt_frames", U32),
    ("mfn_list", U32),                   # virtual address of the p2m array
    ("mod_start", U32),
    ("mod_len", U32),
    ("cmd_line", Array(CHAR, MAX_GUEST_CMDLINE)),
    ("first_p2m_pfn", U32),
    ("nr_p2m_frames", U32),
], size=1112, doc="start-of-day information; a0 points at it on entry")

# --- page tables, traps, multicalls ----------------------------------------------------

MMU_UPDATE = Struct("mmu_update", [
    ("ptr", U32),   # machine address of the entry; bits 1..0 select MMU_* (Xen: u64)
    ("val", U32),   # new entry (Xen: u64)
], size=8, doc="one (ptr, val) request of mmu_update")

MMUEXT_OP = Struct("mmuext_op", [
    ("cmd", U32),   # MMUEXT_*
    ("arg1", U32),  # mfn (pin, unpin, new baseptr) or linear_addr (invlpg)
    ("arg2", U32),  # nr_ents, vcpumask (a guest pointer) or src_mfn
], size=12, doc="one request of mmuext_op (Xen's unions flattened to u32)")

MULTICALL_ENTRY = Struct("multicall_entry", [
    ("op", U32),
    ("result", U32),                 # written by the hypervisor
    ("args", Array(U32, 6)),
], size=32, doc="one call of a multicall batch")

TRAP_INFO = Struct("trap_info", [
    ("vector", U8),
    ("flags", U8),                   # TI_DPL_MASK, TI_IF
    ("pad", U16),                    # Xen: code selector; PV32 has none
    ("address", U32),                # handler; a table ends with address 0
], size=8, doc="one entry of set_trap_table")

BOUNCE_FRAME = Struct("bounce_frame", [
    ("vector", U32),                 # the trap vector, or BOUNCE_VECTOR_EVENT for an upcall
    ("error_code", U32),             # #PF error code bits (PF_*), else 0
    ("fault_addr", U32),             # #PF/#AC address (a #PF also sets vcpu_info.arch.cr2)
    ("pad", U32),
    ("t0", U32),                     # from here on: the iret frame, which HYPERVISOR_iret
    ("pc", U32),                     # pops with sp pointing at t0 (t0 carried the
    ("flags", U32),                  # hypercall number); flags: IRET_FLAG_*
    ("sp", U32),                     # the interrupted sp
], size=32, doc="what the hypervisor pushes on the guest kernel stack to enter a trap "
                "handler or the event callback (ours; Xen x86_32 pushes an x86 frame)")

CALLBACK_REGISTER = Struct("callback_register", [
    ("type", U16), ("flags", U16),   # CALLBACKTYPE_*, CALLBACKF_*
    ("address", U32),                # Xen x86_32: {cs, eip}; PV32 has no segments
], size=8)

CALLBACK_UNREGISTER = Struct("callback_unregister", [("type", U16), ("_unused", U16)], size=4)

# --- sched_op and vcpu_op ---------------------------------------------------------------

SCHED_SHUTDOWN = Struct("sched_shutdown", [
    ("reason", U32),                 # SHUTDOWN_*
    ("code", U32),                   # ours: the exit status `paravisor run` reports
], size=8, doc="SCHEDOP_shutdown's argument; Xen's has only `reason`, and a guest that "
               "writes only that gets exit status 0 if the next word is 0")
SCHED_POLL = Struct("sched_poll", [
    ("ports", U32),                  # guest pointer to evtchn_port_t[nr_ports]
    ("nr_ports", U32),
    ("timeout", U64),                # absolute system time in ns; 0 = none
], size=16)
SCHED_REMOTE_SHUTDOWN = Struct("sched_remote_shutdown", [
    ("domain_id", U16), ("reason", U32)], size=8)
SCHED_WATCHDOG = Struct("sched_watchdog", [("id", U32), ("timeout", U32)], size=8)

VCPU_RUNSTATE_INFO = Struct("vcpu_runstate_info", [
    ("state", I32),                  # RUNSTATE_*
    ("state_entry_time", U64),       # Xen x86_32 packs this at offset 4
    ("time", Array(U64, 4)),         # ns spent in each RUNSTATE_*
], size=48)
VCPU_REGISTER_RUNSTATE_MEMORY_AREA = Struct("vcpu_register_runstate_memory_area", [
    ("addr", U32)], size=4)
VCPU_SET_PERIODIC_TIMER = Struct("vcpu_set_periodic_timer", [("period_ns", U64)], size=8)
VCPU_SET_SINGLESHOT_TIMER = Struct("vcpu_set_singleshot_timer", [
    ("timeout_abs_ns", U64), ("flags", U32)], size=16)
VCPU_REGISTER_VCPU_INFO = Struct("vcpu_register_vcpu_info", [
    ("mfn", U32), ("offset", U32), ("rsvd", U32)], size=12)

CPU_USER_REGS = Struct("cpu_user_regs", [
    ("regs", Array(U32, NUM_REGS)),  # r0..r15 (r0 is ignored)
    ("pc", U32),
    ("ring", U32),                   # 1 (kernel) or 3 (user)
], doc="PV32 register state")

VCPU_GUEST_CONTEXT = Struct("vcpu_guest_context", [
    ("flags", U32),                  # VGCF_*
    ("user_regs", CPU_USER_REGS),
    ("trap_ctxt", Array(TRAP_INFO, NR_TRAP_VECTORS)),
    ("ctrlreg", Array(U32, VGC_NR_CTRLREGS)),   # indexed by CR; ctrlreg[PTBR] = baseptr
    ("kernel_sp", U32),              # stack for ring 3 -> ring 1 transitions
    ("event_callback_eip", U32),
    ("failsafe_callback_eip", U32),
    ("vm_assist", U32),              # VMASST_TYPE_* bitmap
], doc="a vCPU's state for VCPUOP_initialise and set/getvcpucontext (no FPU, "
       "segments or debug registers)")

# --- event channels ---------------------------------------------------------------------

EVTCHN_ALLOC_UNBOUND = Struct("evtchn_alloc_unbound", [
    ("dom", U16), ("remote_dom", U16), ("port", U32)], size=8)
EVTCHN_BIND_INTERDOMAIN = Struct("evtchn_bind_interdomain", [
    ("remote_dom", U16), ("remote_port", U32), ("local_port", U32)], size=12)
EVTCHN_BIND_VIRQ = Struct("evtchn_bind_virq", [
    ("virq", U32), ("vcpu", U32), ("port", U32)], size=12)
EVTCHN_BIND_PIRQ = Struct("evtchn_bind_pirq", [
    ("pirq", U32), ("flags", U32), ("port", U32)], size=12)
EVTCHN_BIND_IPI = Struct("evtchn_bind_ipi", [("vcpu", U32), ("port", U32)], size=8)
EVTCHN_CLOSE = Struct("evtchn_close", [("port", U32)], size=4)
EVTCHN_SEND = Struct("evtchn_send", [("port", U32)], size=4)
EVTCHN_STATUS_U = Union("evtchn_status_u", [
    ("unbound", Struct("evtchn_status_unbound", [("dom", U16)])),
    ("interdomain", Struct("evtchn_status_interdomain", [("dom", U16), ("port", U32)])),
    ("pirq", U32),
    ("virq", U32),
])
EVTCHN_STATUS = Struct("evtchn_status", [
    ("dom", U16), ("port", U32),                 # IN
    ("status", U32), ("vcpu", U32),              # OUT: EVTCHNSTAT_*
    ("u", EVTCHN_STATUS_U),                      # OUT, by status
], size=24)
EVTCHN_BIND_VCPU = Struct("evtchn_bind_vcpu", [("port", U32), ("vcpu", U32)], size=8)
EVTCHN_UNMASK = Struct("evtchn_unmask", [("port", U32)], size=4)
EVTCHN_RESET = Struct("evtchn_reset", [("dom", U16)], size=2)

# --- grant tables -----------------------------------------------------------------------

GRANT_ENTRY_V1 = Struct("grant_entry_v1", [
    ("flags", U16),                  # GTF_*: type and readonly by the granter,
    ("domid", U16),                  # reading/writing by the hypervisor
    ("frame", U32),
], size=8, doc="one entry of a domain's v1 grant table")

GNTTAB_MAP_GRANT_REF = Struct("gnttab_map_grant_ref", [
    ("host_addr", U32), ("flags", U32), ("ref", U32), ("dom", U16),   # IN (Xen: u64 addr)
    ("status", I16), ("handle", U32), ("dev_bus_addr", U32),          # OUT (Xen: u64 addr)
], size=24)
GNTTAB_UNMAP_GRANT_REF = Struct("gnttab_unmap_grant_ref", [
    ("host_addr", U32), ("dev_bus_addr", U32), ("handle", U32),       # IN
    ("status", I16),                                                  # OUT
], size=16)
GNTTAB_SETUP_TABLE = Struct("gnttab_setup_table", [
    ("dom", U16), ("nr_frames", U32),            # IN
    ("status", I16),                             # OUT
    ("frame_list", U32),                         # IN: guest pointer to u32[nr_frames]
], size=16)
GNTTAB_DUMP_TABLE = Struct("gnttab_dump_table", [("dom", U16), ("status", I16)], size=4)
GNTTAB_TRANSFER = Struct("gnttab_transfer", [
    ("mfn", U32), ("domid", U16), ("ref", U32), ("status", I16)], size=16)
GNTTAB_COPY_PTR = Struct("gnttab_copy_ptr", [
    ("u", Union("gnttab_copy_ptr_u", [("ref", U32), ("gmfn", U32)])),
    ("domid", U16), ("offset", U16),
], size=8)
GNTTAB_COPY = Struct("gnttab_copy", [
    ("source", GNTTAB_COPY_PTR), ("dest", GNTTAB_COPY_PTR),
    ("len", U16), ("flags", U16),                # IN: GNTCOPY_*
    ("status", I16),                             # OUT
], size=24)
GNTTAB_QUERY_SIZE = Struct("gnttab_query_size", [
    ("dom", U16), ("nr_frames", U32), ("max_nr_frames", U32), ("status", I16)], size=16)
GNTTAB_UNMAP_AND_REPLACE = Struct("gnttab_unmap_and_replace", [
    ("host_addr", U32), ("new_addr", U32), ("handle", U32), ("status", I16)], size=16)
GNTTAB_SET_VERSION = Struct("gnttab_set_version", [("version", U32)], size=4)
GNTTAB_GET_VERSION = Struct("gnttab_get_version", [
    ("dom", U16), ("pad", U16), ("version", U32)], size=8)

# --- memory_op and xen_version ----------------------------------------------------------

XEN_MEMORY_RESERVATION = Struct("xen_memory_reservation", [
    ("extent_start", U32),           # guest pointer to u32[nr_extents] (IN and/or OUT)
    ("nr_extents", U32),
    ("extent_order", U32),
    ("mem_flags", U32),
    ("domid", U16),                  # DOMID_SELF unless privileged
], size=20)
XEN_MEMORY_EXCHANGE = Struct("xen_memory_exchange", [
    ("in", XEN_MEMORY_RESERVATION), ("out", XEN_MEMORY_RESERVATION),
    ("nr_exchanged", U32),           # OUT; the caller must set it to 0
], size=44)
XEN_ADD_TO_PHYSMAP = Struct("xen_add_to_physmap", [
    ("domid", U16), ("size", U16), ("space", U32), ("idx", U32), ("gpfn", U32)], size=16)
XEN_REMOVE_FROM_PHYSMAP = Struct("xen_remove_from_physmap", [
    ("domid", U16), ("gpfn", U32)], size=8)
XEN_MEMORY_MAP = Struct("xen_memory_map", [("nr_entries", U32), ("buffer", U32)], size=8)

XEN_FEATURE_INFO = Struct("xen_feature_info", [("submap_idx", U32), ("submap", U32)], size=8)
XEN_PLATFORM_PARAMETERS = Struct("xen_platform_parameters", [("virt_start", U32)], size=4)
XEN_COMPILE_INFO = Struct("xen_compile_info", [
    ("compiler", Array(CHAR, 64)), ("compile_by", Array(CHAR, 16)),
    ("compile_domain", Array(CHAR, 32)), ("compile_date", Array(CHAR, 32)),
], size=144)

if SHARED_INFO.size > PAGE_SIZE:
    raise ImportError("shared_info must fit in one page")
