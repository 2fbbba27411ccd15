"""The guest ABI's numbers: hypercalls, sub-operations, flags and status codes.

Every number is Xen's (xen/include/public/, the header named in each group's
docstring) unless the group says it is ours.  Each group is an IntEnum whose members
carry Xen's full names (`SchedOp.SCHEDOP_block`), so a reader of Xen's documentation
finds them; abi.py also exports every member at module level (`abi.SCHEDOP_block`).
`Hypercall` is the exception: its members are the short names (`Hypercall.console_io`)
and the headers spell them `__HYPERVISOR_console_io`, as Xen does.

Aliases (two names, one value, e.g. UVMF_LOCAL and UVMF_MULTI) are kept: headers are
generated from `__members__`, which lists aliases too.
"""

from enum import IntEnum


class Hypercall(IntEnum):
    """Hypercall numbers, the value of t0 at `hcall` (xen.h)."""
    set_trap_table = 0
    mmu_update = 1
    set_gdt = 2
    stack_switch = 3
    set_callbacks = 4
    fpu_taskswitch = 5
    sched_op_compat = 6
    platform_op = 7
    set_debugreg = 8
    get_debugreg = 9
    update_descriptor = 10
    memory_op = 12          # 11 is unused
    multicall = 13
    update_va_mapping = 14
    set_timer_op = 15
    event_channel_op_compat = 16
    xen_version = 17
    console_io = 18
    physdev_op_compat = 19
    grant_table_op = 20
    vm_assist = 21
    update_va_mapping_otherdomain = 22
    iret = 23
    vcpu_op = 24
    set_segment_base = 25
    mmuext_op = 26
    xsm_op = 27
    nmi_op = 28
    sched_op = 29
    callback_op = 30
    xenoprof_op = 31
    event_channel_op = 32
    physdev_op = 33
    hvm_op = 34
    sysctl = 35
    domctl = 36
    kexec_op = 37
    tmem_op = 38
    argo_op = 39
    xenpmu_op = 40
    dm_op = 41
    hypfs_op = 42
    arch_0 = 48
    arch_1 = 49
    arch_2 = 50
    arch_3 = 51
    arch_4 = 52
    arch_5 = 53
    arch_6 = 54
    arch_7 = 55


class SchedOp(IntEnum):
    """sched_op(cmd, arg) sub-operations (sched.h)."""
    SCHEDOP_yield = 0
    SCHEDOP_block = 1
    SCHEDOP_shutdown = 2
    SCHEDOP_poll = 3
    SCHEDOP_remote_shutdown = 4
    SCHEDOP_shutdown_code = 5
    SCHEDOP_watchdog = 6
    SCHEDOP_pin_override = 7


class ShutdownReason(IntEnum):
    """sched_shutdown.reason (sched.h)."""
    SHUTDOWN_poweroff = 0
    SHUTDOWN_reboot = 1
    SHUTDOWN_suspend = 2
    SHUTDOWN_crash = 3
    SHUTDOWN_watchdog = 4
    SHUTDOWN_soft_reset = 5
    SHUTDOWN_MAX = 5


class VcpuOp(IntEnum):
    """vcpu_op(cmd, vcpuid, arg) sub-operations (vcpu.h)."""
    VCPUOP_initialise = 0
    VCPUOP_up = 1
    VCPUOP_down = 2
    VCPUOP_is_up = 3
    VCPUOP_get_runstate_info = 4
    VCPUOP_register_runstate_memory_area = 5
    VCPUOP_set_periodic_timer = 6
    VCPUOP_stop_periodic_timer = 7
    VCPUOP_set_singleshot_timer = 8
    VCPUOP_stop_singleshot_timer = 9
    VCPUOP_register_vcpu_info = 10
    VCPUOP_send_nmi = 11
    VCPUOP_get_physid = 12
    VCPUOP_register_vcpu_time_memory_area = 13
    VCPUOP_register_runstate_phys_area = 14
    VCPUOP_register_vcpu_time_phys_area = 15


class VcpuMisc(IntEnum):
    """vcpu_runstate_info.state and singleshot-timer flags (vcpu.h)."""
    RUNSTATE_running = 0
    RUNSTATE_runnable = 1
    RUNSTATE_blocked = 2
    RUNSTATE_offline = 3
    VCPU_SSHOTTMR_future = 1 << 0


class TimeFlags(IntEnum):
    """vcpu_time_info.flags (xen.h)."""
    XEN_PVCLOCK_TSC_STABLE_BIT = 1 << 0
    XEN_PVCLOCK_GUEST_STOPPED = 1 << 1


class XenVer(IntEnum):
    """xen_version(cmd, arg) sub-operations (version.h)."""
    XENVER_version = 0
    XENVER_extraversion = 1
    XENVER_compile_info = 2
    XENVER_capabilities = 3
    XENVER_changeset = 4
    XENVER_platform_parameters = 5
    XENVER_get_features = 6
    XENVER_pagesize = 7
    XENVER_guest_handle = 8
    XENVER_commandline = 9
    XENVER_build_id = 10
    XENVER_extraversion2 = 11
    XENVER_capabilities2 = 12
    XENVER_changeset2 = 13
    XENVER_commandline2 = 14


class XenVerLen(IntEnum):
    """Sizes of the xen_version string buffers (version.h: sizeof of each typedef)."""
    XEN_EXTRAVERSION_LEN = 16
    XEN_CAPABILITIES_INFO_LEN = 1024
    XEN_CHANGESET_INFO_LEN = 64
    XEN_COMMANDLINE_LEN = 1024


class XenFeat(IntEnum):
    """XENFEAT_* bit numbers of xen_version(XENVER_get_features) submap 0 (features.h);
    only the ones paravisor reports."""
    XENFEAT_dom0 = 11
    XENFEAT_direct_mapped = 16


class XenMem(IntEnum):
    """memory_op(cmd, arg) sub-operations (memory.h)."""
    XENMEM_increase_reservation = 0
    XENMEM_decrease_reservation = 1
    XENMEM_maximum_ram_page = 2
    XENMEM_current_reservation = 3
    XENMEM_maximum_reservation = 4
    XENMEM_machphys_mfn_list = 5
    XENMEM_populate_physmap = 6
    XENMEM_add_to_physmap = 7
    XENMEM_memory_map = 9
    XENMEM_machine_memory_map = 10
    XENMEM_exchange = 11
    XENMEM_machphys_mapping = 12
    XENMEM_set_memory_map = 13
    XENMEM_maximum_gpfn = 14
    XENMEM_remove_from_physmap = 15
    XENMEM_claim_pages = 24


class XenMapSpace(IntEnum):
    """xen_add_to_physmap.space (memory.h)."""
    XENMAPSPACE_shared_info = 0
    XENMAPSPACE_grant_table = 1
    XENMAPSPACE_gmfn = 2
    XENMAPSPACE_gmfn_range = 3
    XENMAPSPACE_gmfn_foreign = 4


class MmuCmd(IntEnum):
    """mmu_update.ptr[1:0]: what to do with the (ptr, val) pair (xen.h)."""
    MMU_NORMAL_PT_UPDATE = 0        # checked *ptr = val; ptr is a machine address
    MMU_MACHPHYS_UPDATE = 1         # m2p[ptr >> 12] = val
    MMU_PT_UPDATE_PRESERVE_AD = 2   # as NORMAL, keeping the entry's A and D bits
    MMU_PT_UPDATE_NO_TRANSLATE = 3


class MmuextCmd(IntEnum):
    """mmuext_op.cmd (xen.h)."""
    MMUEXT_PIN_L1_TABLE = 0
    MMUEXT_PIN_L2_TABLE = 1
    MMUEXT_PIN_L3_TABLE = 2
    MMUEXT_PIN_L4_TABLE = 3
    MMUEXT_UNPIN_TABLE = 4
    MMUEXT_NEW_BASEPTR = 5
    MMUEXT_TLB_FLUSH_LOCAL = 6
    MMUEXT_INVLPG_LOCAL = 7
    MMUEXT_TLB_FLUSH_MULTI = 8
    MMUEXT_INVLPG_MULTI = 9
    MMUEXT_TLB_FLUSH_ALL = 10
    MMUEXT_INVLPG_ALL = 11
    MMUEXT_FLUSH_CACHE = 12
    MMUEXT_SET_LDT = 13
    MMUEXT_NEW_USER_BASEPTR = 15
    MMUEXT_CLEAR_PAGE = 16
    MMUEXT_COPY_PAGE = 17
    MMUEXT_FLUSH_CACHE_GLOBAL = 18
    MMUEXT_MARK_SUPER = 19
    MMUEXT_UNMARK_SUPER = 20


class Continuation(IntEnum):
    """How a preempted hypercall records its progress for its continuation (xen.h,
    memory.h): mmu_update and mmuext_op mark `count` with MMU_UPDATE_PREEMPTED (and add to
    *success_count as they go); memory_op keeps the next extent in `cmd`'s bits from
    MEMOP_EXTENT_SHIFT up.  Only the hypervisor writes them; a guest that does is checked
    like any other caller (docs/abi.md, "What a hypercall costs")."""
    MMU_UPDATE_PREEMPTED = 1 << 31
    MEMOP_EXTENT_SHIFT = 6
    MEMOP_CMD_MASK = (1 << 6) - 1


class Uvmf(IntEnum):
    """update_va_mapping flags (xen.h).  UVMF_MULTI: OR in a pointer to a vCPU bitmap."""
    UVMF_NONE = 0
    UVMF_TLB_FLUSH = 1
    UVMF_INVLPG = 2
    UVMF_FLUSHTYPE_MASK = 3
    UVMF_MULTI = 0
    UVMF_LOCAL = 0
    UVMF_ALL = 1 << 2


class ConsoleIO(IntEnum):
    """console_io(cmd, count, buffer) commands (xen.h)."""
    CONSOLEIO_write = 0
    CONSOLEIO_read = 1


class VmAssist(IntEnum):
    """vm_assist(cmd, type) (xen.h)."""
    VMASST_CMD_enable = 0
    VMASST_CMD_disable = 1
    VMASST_TYPE_4gb_segments = 0
    VMASST_TYPE_4gb_segments_notify = 1
    VMASST_TYPE_writable_pagetables = 2
    VMASST_TYPE_pae_extended_cr3 = 3
    VMASST_TYPE_architectural_iopl = 4
    VMASST_TYPE_runstate_update_flag = 5
    VMASST_TYPE_m2p_strict = 32


class DomId(IntEnum):
    """Reserved domain ids (xen.h); domid_t is 16 bits."""
    DOMID_FIRST_RESERVED = 0x7FF0
    DOMID_SELF = 0x7FF0
    DOMID_IO = 0x7FF1
    DOMID_XEN = 0x7FF2
    DOMID_COW = 0x7FF3
    DOMID_INVALID = 0x7FF4
    DOMID_ANY = 0x7FF5
    DOMID_IDLE = 0x7FFF
    DOMID_MASK = 0x7FFF


class StartInfoFlags(IntEnum):
    """start_info.flags (xen.h)."""
    SIF_PRIVILEGED = 1 << 0
    SIF_INITDOMAIN = 1 << 1
    SIF_MULTIBOOT_MOD = 1 << 2
    SIF_MOD_START_PFN = 1 << 3
    SIF_VIRT_P2M_4TOOLS = 1 << 4
    SIF_PM_MASK = 0xFF << 8


class Virq(IntEnum):
    """Virtual interrupts (xen.h).  Per-vCPU: TIMER, DEBUG, XENOPROF, XENPMU."""
    VIRQ_TIMER = 0
    VIRQ_DEBUG = 1
    VIRQ_CONSOLE = 2
    VIRQ_DOM_EXC = 3
    VIRQ_TBUF = 4
    VIRQ_DEBUGGER = 6
    VIRQ_XENOPROF = 7
    VIRQ_CON_RING = 8
    VIRQ_PCPU_STATE = 9
    VIRQ_MEM_EVENT = 10
    VIRQ_ARGO = 11
    VIRQ_ENOMEM = 12
    VIRQ_XENPMU = 13
    VIRQ_ARCH_0 = 16
    VIRQ_ARCH_1 = 17
    VIRQ_ARCH_2 = 18
    VIRQ_ARCH_3 = 19
    VIRQ_ARCH_4 = 20
    VIRQ_ARCH_5 = 21
    VIRQ_ARCH_6 = 22
    VIRQ_ARCH_7 = 23
    NR_VIRQS = 24


class EvtchnOp(IntEnum):
    """event_channel_op(cmd, arg) sub-operations (event_channel.h)."""
    EVTCHNOP_bind_interdomain = 0
    EVTCHNOP_bind_virq = 1
    EVTCHNOP_bind_pirq = 2
    EVTCHNOP_close = 3
    EVTCHNOP_send = 4
    EVTCHNOP_status = 5
    EVTCHNOP_alloc_unbound = 6
    EVTCHNOP_bind_ipi = 7
    EVTCHNOP_bind_vcpu = 8
    EVTCHNOP_unmask = 9
    EVTCHNOP_reset = 10
    EVTCHNOP_init_control = 11
    EVTCHNOP_expand_array = 12
    EVTCHNOP_set_priority = 13


class EvtchnStat(IntEnum):
    """evtchn_status.status (event_channel.h)."""
    EVTCHNSTAT_closed = 0
    EVTCHNSTAT_unbound = 1
    EVTCHNSTAT_interdomain = 2
    EVTCHNSTAT_pirq = 3
    EVTCHNSTAT_virq = 4
    EVTCHNSTAT_ipi = 5


class Callback(IntEnum):
    """callback_op types, flags and sub-operations (callback.h)."""
    CALLBACKTYPE_event = 0
    CALLBACKTYPE_failsafe = 1
    CALLBACKTYPE_syscall = 2
    CALLBACKTYPE_sysenter_deprecated = 3
    CALLBACKTYPE_nmi = 4
    CALLBACKTYPE_sysenter = 5
    CALLBACKTYPE_syscall32 = 7
    CALLBACKF_mask_events = 1 << 0
    CALLBACKOP_register = 0
    CALLBACKOP_unregister = 1


class TrapInfoFlags(IntEnum):
    """trap_info.flags.  Bits 1..0: the highest ring (1 or 3) allowed to raise the
    vector itself with `syscall`/`break` (0: none); bit 2: deliver with events masked,
    as an x86 interrupt gate does (Xen's TI_GET_DPL / TI_GET_IF, arch-x86/xen.h)."""
    TI_DPL_MASK = 3
    TI_IF = 1 << 2


class Bounce(IntEnum):
    """Ours: the bounce frame's vector for an event upcall (one past the last trap
    vector) and its `flags` word, which iret restores (see abi_structs.BOUNCE_FRAME)."""
    BOUNCE_VECTOR_EVENT = 256
    IRET_FLAG_EVENTS_MASKED = 1 << 0    # evtchn_upcall_mask to restore
    IRET_FLAG_RING_SHIFT = 2            # bits 3..2: the ring to return to (1 or 3)
    IRET_FLAG_RING_MASK = 3 << 2


class VgcfFlags(IntEnum):
    """vcpu_guest_context.flags (arch-x86/xen.h)."""
    VGCF_i387_valid = 1 << 0
    VGCF_in_kernel = 1 << 2
    VGCF_failsafe_disables_events = 1 << 3
    VGCF_syscall_disables_events = 1 << 4
    VGCF_online = 1 << 5


class GnttabOp(IntEnum):
    """grant_table_op(cmd, uop, count) sub-operations (grant_table.h)."""
    GNTTABOP_map_grant_ref = 0
    GNTTABOP_unmap_grant_ref = 1
    GNTTABOP_setup_table = 2
    GNTTABOP_dump_table = 3
    GNTTABOP_transfer = 4
    GNTTABOP_copy = 5
    GNTTABOP_query_size = 6
    GNTTABOP_unmap_and_replace = 7
    GNTTABOP_set_version = 8
    GNTTABOP_get_status_frames = 9
    GNTTABOP_get_version = 10
    GNTTABOP_swap_grant_ref = 11
    GNTTABOP_cache_flush = 12


class Gtf(IntEnum):
    """grant_entry_v1.flags: type in bits 1..0, then sub-flags (grant_table.h)."""
    GTF_invalid = 0
    GTF_permit_access = 1
    GTF_accept_transfer = 2
    GTF_transitive = 3
    GTF_type_mask = 3
    GTF_readonly = 1 << 2           # written by the granting guest
    GTF_reading = 1 << 3            # written by the hypervisor while mapped/copied
    GTF_writing = 1 << 4            # written by the hypervisor while mapped/copied
    GTF_PWT = 1 << 5
    GTF_PCD = 1 << 6
    GTF_PAT = 1 << 7
    GTF_sub_page = 1 << 8
    GTF_transfer_committed = 1 << 2
    GTF_transfer_completed = 1 << 3


class GnttabMisc(IntEnum):
    """Reserved grant references and gnttab_copy flags (grant_table.h)."""
    GNTTAB_NR_RESERVED_ENTRIES = 8
    GNTTAB_RESERVED_CONSOLE = 0
    GNTTAB_RESERVED_XENSTORE = 1
    GNTCOPY_source_gref = 1 << 0
    GNTCOPY_dest_gref = 1 << 1


class Gntmap(IntEnum):
    """gnttab_map_grant_ref.flags (grant_table.h)."""
    GNTMAP_device_map = 1 << 0
    GNTMAP_host_map = 1 << 1
    GNTMAP_readonly = 1 << 2
    GNTMAP_application_map = 1 << 3
    GNTMAP_contains_pte = 1 << 4


class Gntst(IntEnum):
    """Grant-table status codes, in each op's `status` field (grant_table.h)."""
    GNTST_okay = 0
    GNTST_general_error = -1
    GNTST_bad_domain = -2
    GNTST_bad_gntref = -3
    GNTST_bad_handle = -4
    GNTST_bad_virt_addr = -5
    GNTST_bad_dev_addr = -6
    GNTST_no_device_space = -7
    GNTST_permission_denied = -8
    GNTST_bad_page = -9
    GNTST_bad_copy_arg = -10
    GNTST_address_too_big = -11
    GNTST_eagain = -12
    GNTST_no_space = -13


class DomctlCmd(IntEnum):
    """xen_domctl.cmd: the ones paravisor's toolstack may use (domctl.h)."""
    XEN_DOMCTL_createdomain = 1
    XEN_DOMCTL_destroydomain = 2
    XEN_DOMCTL_pausedomain = 3
    XEN_DOMCTL_unpausedomain = 4
    XEN_DOMCTL_getdomaininfo = 5
    XEN_DOMCTL_setvcpuaffinity = 9
    XEN_DOMCTL_shadow_op = 10
    XEN_DOMCTL_max_mem = 11
    XEN_DOMCTL_setvcpucontext = 12
    XEN_DOMCTL_getvcpucontext = 13
    XEN_DOMCTL_getvcpuinfo = 14
    XEN_DOMCTL_max_vcpus = 15
    XEN_DOMCTL_scheduler_op = 16
    XEN_DOMCTL_setdomainhandle = 17
    XEN_DOMCTL_setdebugging = 18
    XEN_DOMCTL_hypercall_init = 22
    XEN_DOMCTL_settimeoffset = 24
    XEN_DOMCTL_getvcpuaffinity = 25
    XEN_DOMCTL_resumedomain = 27
    XEN_DOMCTL_soft_reset = 79
    XEN_DOMCTL_get_domain_state = 90


class DomctlMisc(IntEnum):
    """Domctl versions, scheduler ids and sub-ops, and flag words (domctl.h)."""
    XEN_DOMCTL_INTERFACE_VERSION = 0x18
    XEN_DOMCTL_SCHEDOP_putinfo = 0
    XEN_DOMCTL_SCHEDOP_getinfo = 1
    XEN_DOMCTL_SCHEDOP_putvcpuinfo = 2
    XEN_DOMCTL_SCHEDOP_getvcpuinfo = 3
    XEN_SCHEDULER_CREDIT = 5
    XEN_SCHEDULER_CREDIT2 = 6
    XEN_SCHEDULER_ARINC653 = 7
    XEN_SCHEDULER_RTDS = 8
    XEN_SCHEDULER_NULL = 9
    XEN_INVALID_MAX_VCPU_ID = 0xFFFF_FFFF


class DomctlCdf(IntEnum):
    """xen_domctl_createdomain.flags (domctl.h)."""
    XEN_DOMCTL_CDF_hvm = 1 << 0
    XEN_DOMCTL_CDF_hap = 1 << 1
    XEN_DOMCTL_CDF_s3_integrity = 1 << 2
    XEN_DOMCTL_CDF_oos_off = 1 << 3
    XEN_DOMCTL_CDF_xs_domain = 1 << 4
    XEN_DOMCTL_CDF_iommu = 1 << 5
    XEN_DOMCTL_CDF_nested_virt = 1 << 6
    XEN_DOMCTL_CDF_vpmu = 1 << 7
    XEN_DOMCTL_CDF_trap_unmapped_accesses = 1 << 8


class DomInf(IntEnum):
    """xen_domctl_getdomaininfo.flags; the shutdown reason sits in bits 23..16
    (flags >> XEN_DOMINF_shutdownshift & XEN_DOMINF_shutdownmask) (domctl.h)."""
    XEN_DOMINF_dying = 1 << 0
    XEN_DOMINF_hvm_guest = 1 << 1
    XEN_DOMINF_shutdown = 1 << 2
    XEN_DOMINF_paused = 1 << 3
    XEN_DOMINF_blocked = 1 << 4
    XEN_DOMINF_running = 1 << 5
    XEN_DOMINF_debugged = 1 << 6
    XEN_DOMINF_xs_domain = 1 << 7
    XEN_DOMINF_hap = 1 << 8
    XEN_DOMINF_shutdownmask = 255
    XEN_DOMINF_shutdownshift = 16


class SysctlCmd(IntEnum):
    """xen_sysctl.cmd (sysctl.h)."""
    XEN_SYSCTL_readconsole = 1
    XEN_SYSCTL_tbuf_op = 2
    XEN_SYSCTL_physinfo = 3
    XEN_SYSCTL_sched_id = 4
    XEN_SYSCTL_perfc_op = 5
    XEN_SYSCTL_getdomaininfolist = 6
    XEN_SYSCTL_debug_keys = 7
    XEN_SYSCTL_getcpuinfo = 8
    XEN_SYSCTL_availheap = 9
    XEN_SYSCTL_get_pmstat = 10
    XEN_SYSCTL_cpu_hotplug = 11
    XEN_SYSCTL_pm_op = 12
    XEN_SYSCTL_page_offline_op = 14
    XEN_SYSCTL_lockprof_op = 15
    XEN_SYSCTL_cputopoinfo = 16
    XEN_SYSCTL_numainfo = 17
    XEN_SYSCTL_cpupool_op = 18
    XEN_SYSCTL_scheduler_op = 19


class SysctlMisc(IntEnum):
    """Sysctl version and xen_sysctl_physinfo.capabilities (sysctl.h)."""
    XEN_SYSCTL_INTERFACE_VERSION = 0x16
    XEN_SYSCTL_PHYSCAP_hvm = 1 << 0
    XEN_SYSCTL_PHYSCAP_pv = 1 << 1
    XEN_SYSCTL_PHYSCAP_directio = 1 << 2
    XEN_SYSCTL_PHYSCAP_hap = 1 << 3
    XEN_SYSCTL_PHYSCAP_shadow = 1 << 4


class ElfNote(IntEnum):
    """Types of the "Xen" ELF notes in a guest image (elfnote.h)."""
    XEN_ELFNOTE_INFO = 0
    XEN_ELFNOTE_ENTRY = 1
    XEN_ELFNOTE_HYPERCALL_PAGE = 2
    XEN_ELFNOTE_VIRT_BASE = 3
    XEN_ELFNOTE_PADDR_OFFSET = 4
    XEN_ELFNOTE_XEN_VERSION = 5
    XEN_ELFNOTE_GUEST_OS = 6
    XEN_ELFNOTE_GUEST_VERSION = 7
    XEN_ELFNOTE_LOADER = 8
    XEN_ELFNOTE_PAE_MODE = 9
    XEN_ELFNOTE_FEATURES = 10
    XEN_ELFNOTE_BSD_SYMTAB = 11
    XEN_ELFNOTE_HV_START_LOW = 12
    XEN_ELFNOTE_L1_MFN_VALID = 13
    XEN_ELFNOTE_SUSPEND_CANCEL = 14
    XEN_ELFNOTE_INIT_P2M = 15
    XEN_ELFNOTE_MOD_START_PFN = 16
    XEN_ELFNOTE_SUPPORTED_FEATURES = 17
    XEN_ELFNOTE_PHYS32_ENTRY = 18
    XEN_ELFNOTE_PHYS32_RELOC = 19
    XEN_ELFNOTE_MAX = 19
    XEN_ELFNOTE_CRASH_INFO = 0x1000001
    XEN_ELFNOTE_CRASH_REGS = 0x1000002
    XEN_ELFNOTE_DUMPCORE_NONE = 0x2000000
    XEN_ELFNOTE_DUMPCORE_HEADER = 0x2000001
    XEN_ELFNOTE_DUMPCORE_XEN_VERSION = 0x2000002
    XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION = 0x2000003


class XenbusState(IntEnum):
    """The state node of a split-driver frontend or backend (io/xenbus.h)."""
    XenbusStateUnknown = 0
    XenbusStateInitialising = 1
    XenbusStateInitWait = 2
    XenbusStateInitialised = 3
    XenbusStateConnected = 4
    XenbusStateClosing = 5
    XenbusStateClosed = 6
    XenbusStateReconfiguring = 7
    XenbusStateReconfigured = 8


class XsType(IntEnum):
    """xsd_sockmsg.type: XenStore wire message types (io/xs_wire.h)."""
    XS_CONTROL = 0
    XS_DEBUG = 0
    XS_DIRECTORY = 1
    XS_READ = 2
    XS_GET_PERMS = 3
    XS_WATCH = 4
    XS_UNWATCH = 5
    XS_TRANSACTION_START = 6
    XS_TRANSACTION_END = 7
    XS_INTRODUCE = 8
    XS_RELEASE = 9
    XS_GET_DOMAIN_PATH = 10
    XS_WRITE = 11
    XS_MKDIR = 12
    XS_RM = 13
    XS_SET_PERMS = 14
    XS_WATCH_EVENT = 15
    XS_ERROR = 16
    XS_IS_DOMAIN_INTRODUCED = 17
    XS_RESUME = 18
    XS_SET_TARGET = 19
    XS_RESET_WATCHES = 21          # 20 was XS_RESTRICT, removed
    XS_DIRECTORY_PART = 22
    XS_GET_FEATURE = 23
    XS_SET_FEATURE = 24
    XS_GET_QUOTA = 25
    XS_SET_QUOTA = 26
    XS_TYPE_COUNT = 27
    XS_INVALID = 0xFFFF


class XenstoreMisc(IntEnum):
    """XenStore ring and protocol limits (io/xs_wire.h)."""
    XS_WATCH_PATH = 0
    XS_WATCH_TOKEN = 1
    XENSTORE_RING_SIZE = 1024
    XENSTORE_PAYLOAD_MAX = 4096
    XENSTORE_ABS_PATH_MAX = 3072
    XENSTORE_REL_PATH_MAX = 2048
    XENSTORE_SERVER_FEATURE_RECONNECTION = 1
    XENSTORE_SERVER_FEATURE_ERROR = 2
    XENSTORE_SERVER_FEATURE_WATCHDEPTH = 4
    XENSTORE_SERVER_FEATURE_DOMID_ANY = 8
    XENSTORE_CONNECTED = 0
    XENSTORE_RECONNECT = 1
    XENSTORE_ERROR_NONE = 0
    XENSTORE_ERROR_COMM = 1
    XENSTORE_ERROR_RINGIDX = 2
    XENSTORE_ERROR_PROTO = 3


# The strings an XS_ERROR reply carries, in xs_wire.h's order (new ones go last).
XSD_ERRORS = ("EINVAL", "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM", "ENOSPC",
              "EIO", "ENOTEMPTY", "ENOSYS", "EROFS", "EBUSY", "EAGAIN", "EISCONN",
              "E2BIG", "EPERM")


class Console(IntEnum):
    """The PV console ring page (io/console.h; the sizes are Xen's sizeof(in/out))."""
    XENCONS_IN_SIZE = 1024
    XENCONS_OUT_SIZE = 2048
    XENCONSOLE_CONNECTED = 0
    XENCONSOLE_DISCONNECTED = 1


class Blkif(IntEnum):
    """Block split driver: operations, limits, response status (io/blkif.h)."""
    BLKIF_OP_READ = 0
    BLKIF_OP_WRITE = 1
    BLKIF_OP_WRITE_BARRIER = 2
    BLKIF_OP_FLUSH_DISKCACHE = 3
    BLKIF_OP_RESERVED_1 = 4
    BLKIF_OP_DISCARD = 5
    BLKIF_OP_INDIRECT = 6
    BLKIF_MAX_SEGMENTS_PER_REQUEST = 11
    BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = 8
    BLKIF_SECTOR_SIZE = 512     # ours: ring sectors are always 512 bytes (blkif.h text)
    BLKIF_DISCARD_SECURE = 1 << 0
    BLKIF_RSP_EOPNOTSUPP = -2
    BLKIF_RSP_ERROR = -1
    BLKIF_RSP_OKAY = 0
    VDISK_CDROM = 0x1
    VDISK_REMOVABLE = 0x2
    VDISK_READONLY = 0x4


class Netif(IntEnum):
    """Network split driver: request flags, limits, response status (io/netif.h)."""
    NETTXF_csum_blank = 1 << 0
    NETTXF_data_validated = 1 << 1
    NETTXF_more_data = 1 << 2
    NETTXF_extra_info = 1 << 3
    NETRXF_data_validated = 1 << 0
    NETRXF_csum_blank = 1 << 1
    NETRXF_more_data = 1 << 2
    NETRXF_extra_info = 1 << 3
    XEN_NETIF_MAX_TX_SIZE = 0xFFFF
    XEN_NETIF_NR_SLOTS_MIN = 18
    NETIF_RSP_DROPPED = -2
    NETIF_RSP_ERROR = -1
    NETIF_RSP_OKAY = 0
    NETIF_RSP_NULL = 1


# Header order of the groups above (abi.py puts Hypercall and Errno first).
SUBOP_GROUPS: tuple[type[IntEnum], ...] = (
    SchedOp, ShutdownReason, VcpuOp, VcpuMisc, TimeFlags, XenVer, XenVerLen, XenFeat,
    XenMem, XenMapSpace, MmuCmd, MmuextCmd, Continuation, Uvmf, ConsoleIO, VmAssist,
    DomId, StartInfoFlags, Virq, EvtchnOp, EvtchnStat, Callback,
    TrapInfoFlags, Bounce, VgcfFlags, GnttabOp, Gtf, GnttabMisc, Gntmap, Gntst,
    DomctlCmd, DomctlMisc, DomctlCdf, DomInf, SysctlCmd, SysctlMisc,
    ElfNote, XenbusState, XsType, XenstoreMisc, Console, Blkif, Netif,
)
