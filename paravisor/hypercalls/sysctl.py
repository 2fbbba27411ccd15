"""sysctl (35): dom0's view of the whole machine (sysctl.h, common/sysctl.c).

sysctl(op) takes a pointer to one `xen_sysctl {cmd, interface_version, u}`.  As for
domctl: dom0 only (-EPERM, checked first), -EFAULT for an unreadable argument, -EACCES
for an interface_version other than XEN_SYSCTL_INTERFACE_VERSION; unknown commands
(readconsole included: paravisor keeps no hypervisor console ring) are -ENOSYS.

- physinfo (OUT u.physinfo): one pCPU, one node, cpu_khz the nominal clock
  (abi.NOMINAL_CLOCK_HZ / 1000), capabilities XEN_SYSCTL_PHYSCAP_pv, total_pages and
  free_pages from the frame table, max_mfn the highest machine frame.
- sched_id (OUT u.sched_id.sched_id): the XEN_SCHEDULER_* id of the running scheduler;
  -EOPNOTSUPP for one Xen has no id for (the round-robin baseline).
- getdomaininfolist (u.getdomaininfolist IN first_domain, max_domains, buffer; OUT
  num_domains): the xen_domctl_getdomaininfo of each domain with domid >=
  first_domain, in domid order, at most max_domains of them, written to the array at
  `buffer` in one go (a bad buffer is -EFAULT and writes nothing).  Returns 0 and
  reports the count in num_domains, as Xen does.
"""

from __future__ import annotations

from paravisor.abi import (
    NOMINAL_CLOCK_HZ,
    XEN_DOMCTL_GETDOMAININFO,
    XEN_SCHEDULER_ARINC653,
    XEN_SCHEDULER_CREDIT,
    XEN_SCHEDULER_CREDIT2,
    XEN_SCHEDULER_NULL,
    XEN_SCHEDULER_RTDS,
    XEN_SYSCTL,
    XEN_SYSCTL_INTERFACE_VERSION,
    XEN_SYSCTL_getdomaininfolist,
    XEN_SYSCTL_PHYSCAP_pv,
    XEN_SYSCTL_physinfo,
    XEN_SYSCTL_sched_id,
)
from paravisor.abi.errno import Errno
from paravisor.hypercalls.common import copy_to, read_struct, require_privileged, write_field
from paravisor.hypercalls.domctl import domain_info

HZ_PER_KHZ = 1000
NR_PCPUS = 1                    # the deterministic loop runs one pCPU

# Scheduler.name -> Xen's id (domctl.h XEN_SCHEDULER_*).
SCHEDULER_IDS = {
    "credit": XEN_SCHEDULER_CREDIT,
    "credit2": XEN_SCHEDULER_CREDIT2,
    "arinc653": XEN_SCHEDULER_ARINC653,
    "rtds": XEN_SCHEDULER_RTDS,
    "null": XEN_SCHEDULER_NULL,
}


def do_sysctl(hv, vcpu, arg: int, *_) -> int:
    require_privileged(vcpu)
    op = read_struct(hv, vcpu, XEN_SYSCTL, arg)
    if op["interface_version"] != XEN_SYSCTL_INTERFACE_VERSION:
        return -Errno.EACCES
    handler = _OPS.get(op["cmd"])
    if handler is None:
        return -Errno.ENOSYS
    return handler(hv, vcpu, arg, op)


def physinfo(hv) -> dict:
    """xen_sysctl_physinfo of this machine."""
    return {"threads_per_core": 1, "cores_per_socket": 1, "nr_cpus": NR_PCPUS,
            "max_cpu_id": NR_PCPUS - 1, "nr_nodes": 1, "max_node_id": 0,
            "cpu_khz": NOMINAL_CLOCK_HZ // HZ_PER_KHZ, "capabilities": XEN_SYSCTL_PHYSCAP_pv,
            "arch_capabilities": 0, "total_pages": hv.mm.nframes,
            "free_pages": hv.mm.free_pages, "scrub_pages": 0, "outstanding_pages": 0,
            "max_mfn": hv.mm.nframes - 1}


def _physinfo(hv, vcpu, arg: int, op: dict) -> int:
    write_field(hv, vcpu, XEN_SYSCTL, arg, "u.physinfo", physinfo(hv))
    return 0


def _sched_id(hv, vcpu, arg: int, op: dict) -> int:
    sched_id = SCHEDULER_IDS.get(getattr(hv.sched, "name", ""))
    if sched_id is None:
        return -Errno.EOPNOTSUPP
    write_field(hv, vcpu, XEN_SYSCTL, arg, "u.sched_id.sched_id", sched_id)
    return 0


def _getdomaininfolist(hv, vcpu, arg: int, op: dict) -> int:
    request = op["u"]["getdomaininfolist"]
    chosen = [dom for domid, dom in sorted(hv.domains.items())
              if domid >= request["first_domain"] and not dom.dying]
    chosen = chosen[:request["max_domains"]]
    infos = b"".join(XEN_DOMCTL_GETDOMAININFO.pack(**domain_info(hv, dom, vcpu))
                     for dom in chosen)
    if infos:
        copy_to(hv, vcpu, request["buffer"], infos)
    write_field(hv, vcpu, XEN_SYSCTL, arg, "u.getdomaininfolist.num_domains", len(chosen))
    return 0


_OPS = {
    XEN_SYSCTL_physinfo: _physinfo,
    XEN_SYSCTL_sched_id: _sched_id,
    XEN_SYSCTL_getdomaininfolist: _getdomaininfolist,
}
