"""domctl and sysctl argument structures: the toolstack's view of the hypervisor.

Only dom0 may call domctl/sysctl.  Each call passes a pointer to one `xen_domctl` (or
`xen_sysctl`): a header naming the command, the interface version and (for domctl)
the target domain, then a union of per-command structures padded to 128 bytes, as in
Xen.  Fields Xen keeps for HVM, IOMMUs, memory sharing or paging are left out; the
PV32 type rules of abi_structs apply (frames and pointers u32, counts and times u64).
"""

from paravisor.abi.structs import XEN_DOMAIN_HANDLE_LEN
from paravisor.abi.types import I32, U8, U16, U32, U64, Array, Struct, Union

HANDLE = Array(U8, XEN_DOMAIN_HANDLE_LEN)   # xen_domain_handle_t: the domain's UUID
CTL_PAYLOAD_SIZE = 128                       # Xen's union pad: room for later commands

XEN_DOMCTL_CREATEDOMAIN = Struct("xen_domctl_createdomain", [
    ("ssidref", U32),
    ("handle", HANDLE),
    ("flags", U32),                  # XEN_DOMCTL_CDF_*
    ("max_vcpus", U32),
    ("max_evtchn_port", U32),
    ("max_grant_frames", I32),       # < 0: the hypervisor's default
    ("max_maptrack_frames", I32),    # < 0: the hypervisor's default
    ("grant_opts", U32),
    ("cpupool_id", U32),
], doc="IN: XEN_DOMCTL_createdomain (no iommu_opts, altp2m, vmtrace or arch part)")

XEN_DOMCTL_GETDOMAININFO = Struct("xen_domctl_getdomaininfo", [
    ("domain", U16),
    ("pad1", U16),
    ("flags", U32),                  # XEN_DOMINF_*, shutdown reason in bits 23..16
    ("tot_pages", U64),
    ("max_pages", U64),
    ("shared_info_frame", U32),      # Xen: u64 (and outstanding/shr/paged pages before it)
    ("cpu_time", U64),               # ns of CPU time used by all its vCPUs
    ("nr_online_vcpus", U32),
    ("max_vcpu_id", U32),            # XEN_INVALID_MAX_VCPU_ID when it has none
    ("ssidref", U32),
    ("handle", HANDLE),
    ("cpupool", U32),
], size=72, doc="OUT: XEN_DOMCTL_getdomaininfo and each XEN_SYSCTL_getdomaininfolist entry")

XEN_DOMCTL_MAX_MEM = Struct("xen_domctl_max_mem", [("max_memkb", U64)], size=8)
XEN_DOMCTL_VCPUCONTEXT = Struct("xen_domctl_vcpucontext", [
    ("vcpu", U32),
    ("ctxt", U32),                   # guest pointer to vcpu_guest_context (Xen: handle64)
], size=8)
XEN_DOMCTL_GETVCPUINFO = Struct("xen_domctl_getvcpuinfo", [
    ("vcpu", U32),                                                  # IN
    ("online", U8), ("blocked", U8), ("running", U8),               # OUT
    ("cpu_time", U64), ("cpu", U32),                                # OUT
], size=24)
XEN_DOMCTL_MAX_VCPUS = Struct("xen_domctl_max_vcpus", [("max", U32)], size=4)

XEN_DOMCTL_SCHED_CREDIT = Struct("xen_domctl_sched_credit", [
    ("weight", U16),                 # 1..65535, default 256
    ("cap", U16),                    # % of one pCPU, 0 = uncapped
], size=4)
XEN_DOMCTL_SCHED_RTDS = Struct("xen_domctl_sched_rtds", [
    ("period", U32), ("budget", U32), ("flags", U32)], size=12)
XEN_DOMCTL_SCHEDULER_OP = Struct("xen_domctl_scheduler_op", [
    ("sched_id", U32),               # XEN_SCHEDULER_*
    ("cmd", U32),                    # XEN_DOMCTL_SCHEDOP_putinfo / getinfo
    ("u", Union("xen_domctl_scheduler_op_u", [
        ("credit", XEN_DOMCTL_SCHED_CREDIT),
        ("credit2", XEN_DOMCTL_SCHED_CREDIT),
        ("rtds", XEN_DOMCTL_SCHED_RTDS),
    ])),
], size=20, doc="IN/OUT: XEN_DOMCTL_scheduler_op (no per-vCPU variant)")
XEN_DOMCTL_SETDOMAINHANDLE = Struct("xen_domctl_setdomainhandle", [("handle", HANDLE)])

XEN_DOMCTL = Struct("xen_domctl", [
    ("cmd", U32),                    # XEN_DOMCTL_*
    ("interface_version", U32),      # XEN_DOMCTL_INTERFACE_VERSION
    ("domain", U16),
    ("_pad", Array(U16, 3)),
    ("u", Union("xen_domctl_u", [
        ("createdomain", XEN_DOMCTL_CREATEDOMAIN),
        ("getdomaininfo", XEN_DOMCTL_GETDOMAININFO),
        ("max_mem", XEN_DOMCTL_MAX_MEM),
        ("vcpucontext", XEN_DOMCTL_VCPUCONTEXT),
        ("getvcpuinfo", XEN_DOMCTL_GETVCPUINFO),
        ("max_vcpus", XEN_DOMCTL_MAX_VCPUS),
        ("scheduler_op", XEN_DOMCTL_SCHEDULER_OP),
        ("setdomainhandle", XEN_DOMCTL_SETDOMAINHANDLE),
        ("pad", Array(U8, CTL_PAYLOAD_SIZE)),
    ])),
], size=16 + CTL_PAYLOAD_SIZE, doc="the argument of the domctl hypercall")

XEN_SYSCTL_READCONSOLE = Struct("xen_sysctl_readconsole", [
    ("clear", U8), ("incremental", U8), ("pad0", U16),   # IN
    ("index", U32),                                      # IN/OUT
    ("buffer", U32),                                     # IN: guest pointer (Xen: handle64)
    ("count", U32),                                      # IN/OUT
], size=16)
XEN_SYSCTL_PHYSINFO = Struct("xen_sysctl_physinfo", [
    ("threads_per_core", U32), ("cores_per_socket", U32),
    ("nr_cpus", U32), ("max_cpu_id", U32),
    ("nr_nodes", U32), ("max_node_id", U32),
    ("cpu_khz", U32),                # the nominal clock (abi.NOMINAL_CLOCK_HZ / 1000)
    ("capabilities", U32),           # XEN_SYSCTL_PHYSCAP_*
    ("arch_capabilities", U32),
    ("pad", U32),
    ("total_pages", U64), ("free_pages", U64),
    ("scrub_pages", U64), ("outstanding_pages", U64),
    ("max_mfn", U32),                # Xen: u64, then hw_cap[8] (x86 CPUID)
], size=80, doc="OUT: XEN_SYSCTL_physinfo")
XEN_SYSCTL_SCHED_ID = Struct("xen_sysctl_sched_id", [("sched_id", U32)], size=4)
XEN_SYSCTL_GETDOMAININFOLIST = Struct("xen_sysctl_getdomaininfolist", [
    ("first_domain", U16), ("max_domains", U32),         # IN
    ("buffer", U32),                 # IN: pointer to xen_domctl_getdomaininfo[max_domains]
    ("num_domains", U32),            # OUT
], size=16)

XEN_SYSCTL = Struct("xen_sysctl", [
    ("cmd", U32),                    # XEN_SYSCTL_*
    ("interface_version", U32),      # XEN_SYSCTL_INTERFACE_VERSION
    ("u", Union("xen_sysctl_u", [
        ("readconsole", XEN_SYSCTL_READCONSOLE),
        ("physinfo", XEN_SYSCTL_PHYSINFO),
        ("sched_id", XEN_SYSCTL_SCHED_ID),
        ("getdomaininfolist", XEN_SYSCTL_GETDOMAININFOLIST),
        ("pad", Array(U8, CTL_PAYLOAD_SIZE)),
    ])),
], size=8 + CTL_PAYLOAD_SIZE, doc="the argument of the sysctl hypercall")
