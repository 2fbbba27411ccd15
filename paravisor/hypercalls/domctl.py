"""domctl (36): dom0's control of other domains (domctl.h, common/domctl.c).

domctl(op) takes a pointer to one `xen_domctl {cmd, interface_version, domain, u}`.
Checks, in this order: the caller must be dom0 (-EPERM, before the argument is even
read); the structure must be readable (-EFAULT); interface_version must be
XEN_DOMCTL_INTERFACE_VERSION (-EACCES, as Xen); every command but createdomain names an
existing domain in `domain` (-ESRCH).  Unknown commands are -ENOSYS; scheduler_op is
paravisor.sched.ctl's.  Only the OUT fields are written back.

- createdomain (u.createdomain IN: flags, max_vcpus, max_evtchn_port, handle): a new,
  empty, paused domain.  `domain` IN names the domid wanted (0 or a reserved id: the
  next free one; taken: -EEXIST); OUT it holds the new domid.  Flags other than
  XEN_DOMCTL_CDF_xs_domain are HVM/HAP/IOMMU features PV32 lacks: -EINVAL; so is
  max_vcpus outside 1..XEN_LEGACY_MAX_VCPUS.  It has max_pages 0 until max_mem.
- destroydomain, pausedomain: not the caller's own domain (-EINVAL).
  unpausedomain: -EINVAL if the domain is not paused.
- getdomaininfo (OUT u.getdomaininfo): see `domain_info`.
- max_mem (u.max_mem.max_memkb, KiB): the new max_pages (may be below tot_pages).
- max_vcpus (u.max_vcpus.max): grow the vCPU array (new vCPUs start down); shrinking
  is -EBUSY, as Xen refuses it; above XEN_LEGACY_MAX_VCPUS -EINVAL.
- setvcpucontext (u.vcpucontext {vcpu, ctxt}): load the vcpu_guest_context at `ctxt`
  (in the caller's memory) into that vCPU; ctxt 0 resets it (vcpu_context.py).
  getvcpucontext: write it out; -ENODATA if the vCPU was never initialised.  Both
  refuse the caller's own domain / own vCPU (-EINVAL), as Xen does.
- getvcpuinfo (u.getvcpuinfo): online, blocked, running, cpu_time, cpu (always 0).
- setdomainhandle (u.setdomainhandle.handle): the domain's UUID (XENVER_guest_handle).
"""

from __future__ import annotations

from paravisor import abi
from paravisor.abi import (
    DOMID_FIRST_RESERVED,
    VCPU_GUEST_CONTEXT,
    XEN_DOMCTL,
    XEN_DOMCTL_INTERFACE_VERSION,
    XEN_INVALID_MAX_VCPU_ID,
    XEN_LEGACY_MAX_VCPUS,
    XEN_DOMCTL_CDF_xs_domain,
    XEN_DOMCTL_createdomain,
    XEN_DOMCTL_destroydomain,
    XEN_DOMCTL_getdomaininfo,
    XEN_DOMCTL_getvcpucontext,
    XEN_DOMCTL_getvcpuinfo,
    XEN_DOMCTL_max_mem,
    XEN_DOMCTL_max_vcpus,
    XEN_DOMCTL_pausedomain,
    XEN_DOMCTL_scheduler_op,
    XEN_DOMCTL_setdomainhandle,
    XEN_DOMCTL_setvcpucontext,
    XEN_DOMCTL_unpausedomain,
    XEN_DOMINF_blocked,
    XEN_DOMINF_dying,
    XEN_DOMINF_paused,
    XEN_DOMINF_running,
    XEN_DOMINF_shutdown,
    XEN_DOMINF_shutdownshift,
)
from paravisor.abi.errno import Errno
from paravisor.domain import VcpuState
from paravisor.hypercalls.common import copy_to, read_struct, require_privileged, write_field
from paravisor.hypercalls.vcpu_context import (
    apply_context,
    context_of,
    is_initialised,
    parse_context,
    reset_vcpu,
)
from paravisor.isa.table import PAGE_SHIFT
from paravisor.mm.reservation import MAX_PAGES_LIMIT, set_max_pages
from paravisor.sched import ctl as sched_ctl

KIB_SHIFT = 10
SUPPORTED_CDF = XEN_DOMCTL_CDF_xs_domain


def do_domctl(hv, vcpu, arg: int, *_) -> int:
    require_privileged(vcpu)
    op = read_struct(hv, vcpu, XEN_DOMCTL, arg)
    if op["interface_version"] != XEN_DOMCTL_INTERFACE_VERSION:
        return -Errno.EACCES
    cmd = op["cmd"]
    if cmd == XEN_DOMCTL_createdomain:
        return _createdomain(hv, vcpu, arg, op)
    dom = hv.lookup(op["domain"])
    if dom is None:
        return -Errno.ESRCH
    handler = _OPS.get(cmd)
    if handler is None:
        return -Errno.ENOSYS
    return handler(hv, vcpu, arg, op, dom)


# --- domains ----------------------------------------------------------------------------

def _createdomain(hv, vcpu, arg: int, op: dict) -> int:
    config = op["u"]["createdomain"]
    if config["flags"] & ~SUPPORTED_CDF:
        return -Errno.EINVAL
    if not 1 <= config["max_vcpus"] <= XEN_LEGACY_MAX_VCPUS:
        return -Errno.EINVAL
    domid = op["domain"]
    if 0 < domid < DOMID_FIRST_RESERVED:
        if domid in hv.domains:
            return -Errno.EEXIST
    else:
        domid = hv.next_domid()
        if domid >= DOMID_FIRST_RESERVED:
            return -Errno.ENOMEM      # every domid is taken (Xen: -ENOMEM)
    dom = hv.create_domain(f"d{domid}", domid=domid, max_vcpus=config["max_vcpus"],
                           max_event_channels=config["max_evtchn_port"])
    dom.handle = bytes(config["handle"])
    write_field(hv, vcpu, XEN_DOMCTL, arg, "domain", domid)
    return 0


def _destroydomain(hv, vcpu, arg: int, op: dict, dom) -> int:
    if dom is vcpu.domain:
        return -Errno.EINVAL
    hv.destroy(dom)
    return 0


def _pausedomain(hv, vcpu, arg: int, op: dict, dom) -> int:
    if dom is vcpu.domain:
        return -Errno.EINVAL
    hv.pause(dom)
    return 0


def _unpausedomain(hv, vcpu, arg: int, op: dict, dom) -> int:
    if dom.pause_count == 0:
        return -Errno.EINVAL
    hv.unpause(dom)
    return 0


def domain_info(hv, dom, caller) -> dict:
    """xen_domctl_getdomaininfo for `dom`, as seen by vCPU `caller` (which is running).
    Flags follow Xen's getdomaininfo(): blocked only if every online vCPU is blocked,
    running if any is on the pCPU; none of the two when no vCPU is online."""
    online = [v for v in dom.vcpus if v.state != VcpuState.DOWN]
    flags = 0
    if online:
        if all(v.state == VcpuState.BLOCKED for v in online):
            flags |= XEN_DOMINF_blocked
        if any(v is caller or v is hv.current for v in online):
            flags |= XEN_DOMINF_running
    if dom.dying:
        flags |= XEN_DOMINF_dying
    if dom.is_shutdown:
        flags |= XEN_DOMINF_shutdown | (dom.shutdown_reason.value << XEN_DOMINF_shutdownshift)
    if dom.pause_count:
        flags |= XEN_DOMINF_paused
    return {"domain": dom.domid, "flags": flags, "tot_pages": dom.mem.tot_pages,
            "max_pages": dom.mem.max_pages, "shared_info_frame": dom.shared_info_mfn,
            "cpu_time": sum(v.cpu_time_ns for v in dom.vcpus),
            "nr_online_vcpus": len(online),
            "max_vcpu_id": len(dom.vcpus) - 1 if dom.vcpus else XEN_INVALID_MAX_VCPU_ID,
            "ssidref": 0, "handle": _handle(dom), "cpupool": 0}


def _handle(dom) -> bytes:
    return dom.handle


def _getdomaininfo(hv, vcpu, arg: int, op: dict, dom) -> int:
    write_field(hv, vcpu, XEN_DOMCTL, arg, "u.getdomaininfo", domain_info(hv, dom, vcpu))
    return 0


def _max_mem(hv, vcpu, arg: int, op: dict, dom) -> int:
    pages = op["u"]["max_mem"]["max_memkb"] >> (PAGE_SHIFT - KIB_SHIFT)
    return set_max_pages(dom.mem, min(pages, MAX_PAGES_LIMIT))


def _max_vcpus(hv, vcpu, arg: int, op: dict, dom) -> int:
    wanted = op["u"]["max_vcpus"]["max"]
    if dom is vcpu.domain or wanted > XEN_LEGACY_MAX_VCPUS:
        return -Errno.EINVAL
    if wanted < len(dom.vcpus):
        return -Errno.EBUSY
    while len(dom.vcpus) < wanted:
        hv.add_vcpu(dom)
    return 0


def _setdomainhandle(hv, vcpu, arg: int, op: dict, dom) -> int:
    dom.handle = bytes(op["u"]["setdomainhandle"]["handle"])
    return 0


# --- vCPUs ------------------------------------------------------------------------------

def _setvcpucontext(hv, vcpu, arg: int, op: dict, dom) -> int:
    request = op["u"]["vcpucontext"]
    if dom is vcpu.domain or request["vcpu"] >= len(dom.vcpus):
        return -Errno.EINVAL
    target = dom.vcpus[request["vcpu"]]
    if request["ctxt"] == 0:
        reset_vcpu(hv, target)
        return 0
    context = parse_context(read_struct(hv, vcpu, VCPU_GUEST_CONTEXT, request["ctxt"]))
    apply_context(hv, target, context)
    return 0


def _getvcpucontext(hv, vcpu, arg: int, op: dict, dom) -> int:
    request = op["u"]["vcpucontext"]
    if request["vcpu"] >= len(dom.vcpus) or dom.vcpus[request["vcpu"]] is vcpu:
        return -Errno.EINVAL
    target = dom.vcpus[request["vcpu"]]
    if not is_initialised(target):
        return -Errno.ENODATA
    copy_to(hv, vcpu, request["ctxt"], VCPU_GUEST_CONTEXT.pack(**context_of(target)))
    return 0


def _getvcpuinfo(hv, vcpu, arg: int, op: dict, dom) -> int:
    index = op["u"]["getvcpuinfo"]["vcpu"]
    if index >= len(dom.vcpus):
        return -Errno.EINVAL
    target = dom.vcpus[index]
    info = {"vcpu": index, "online": int(target.state != VcpuState.DOWN),
            "blocked": int(target.state == VcpuState.BLOCKED),
            "running": int(any(p.current is target for p in hv.loop.pcpus)),
            "cpu_time": target.cpu_time_ns, "cpu": target.processor}
    write_field(hv, vcpu, XEN_DOMCTL, arg, "u.getvcpuinfo", info)
    return 0


def do_scheduler_op(hv, vcpu, arg: int, op: dict, dom) -> int:
    """XEN_DOMCTL_scheduler_op, in domctl's handler form (op is the read xen_domctl)."""
    request = op["u"]["scheduler_op"]
    if request["sched_id"] != hv.sched.sched_id or hv.sched.domain_params(dom.domid) is None:
        return -Errno.EINVAL
    credit = request["u"]["credit"]
    if request["cmd"] == abi.XEN_DOMCTL_SCHEDOP_getinfo:
        params = sched_ctl.get_sched_credit(hv, dom)
    elif request["cmd"] == abi.XEN_DOMCTL_SCHEDOP_putinfo:
        weight = None if credit["weight"] == sched_ctl.WEIGHT_UNCHANGED else credit["weight"]
        cap = None if credit["cap"] == sched_ctl.CAP_UNCHANGED else credit["cap"]
        try:
            params = sched_ctl.set_sched_credit(hv, dom, weight=weight, cap=cap)
        except sched_ctl.SchedParamError:
            return -Errno.EINVAL
    else:
        return -Errno.EINVAL
    write_field(hv, vcpu, XEN_DOMCTL, arg, "u.scheduler_op.u.credit",
                {"weight": params.weight, "cap": params.cap})
    return 0


_OPS = {
    XEN_DOMCTL_destroydomain: _destroydomain,
    XEN_DOMCTL_pausedomain: _pausedomain,
    XEN_DOMCTL_unpausedomain: _unpausedomain,
    XEN_DOMCTL_getdomaininfo: _getdomaininfo,
    XEN_DOMCTL_max_mem: _max_mem,
    XEN_DOMCTL_max_vcpus: _max_vcpus,
    XEN_DOMCTL_setdomainhandle: _setdomainhandle,
    XEN_DOMCTL_setvcpucontext: _setvcpucontext,
    XEN_DOMCTL_getvcpucontext: _getvcpucontext,
    XEN_DOMCTL_getvcpuinfo: _getvcpuinfo,
    XEN_DOMCTL_scheduler_op: do_scheduler_op,
}
