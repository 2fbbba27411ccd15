"""domctl (36) and sysctl (35): dom0 only, interface versions, and each command."""


from paravisor.abi import (
    NOMINAL_CLOCK_HZ,
    VCPU_GUEST_CONTEXT,
    XEN_DOMCTL,
    XEN_DOMCTL_GETDOMAININFO,
    XEN_DOMCTL_INTERFACE_VERSION,
    XEN_SYSCTL,
    XEN_SYSCTL_INTERFACE_VERSION,
    DomctlCmd,
    Hypercall,
    SysctlCmd,
    XEN_DOMCTL_createdomain,
    XEN_DOMCTL_destroydomain,
    XEN_DOMCTL_getdomaininfo,
    XEN_DOMCTL_getvcpucontext,
    XEN_DOMCTL_getvcpuinfo,
    XEN_DOMCTL_max_mem,
    XEN_DOMCTL_max_vcpus,
    XEN_DOMCTL_pausedomain,
    XEN_DOMCTL_setvcpucontext,
    XEN_DOMCTL_unpausedomain,
    XEN_DOMINF_paused,
    XEN_DOMINF_shutdown,
    XEN_DOMINF_shutdownshift,
    XEN_SYSCTL_getdomaininfolist,
    XEN_SYSCTL_PHYSCAP_pv,
    XEN_SYSCTL_physinfo,
    XEN_SYSCTL_readconsole,
    XEN_SYSCTL_sched_id,
    XENVER_extraversion,
)
from paravisor.abi.errno import Errno
from paravisor.domain import ShutdownReason, VcpuState
from paravisor.domain.traps import bounce_trap
from paravisor.isa.engine import Trap
from paravisor.isa.table import CR, Vector
from paravisor.mm.invariants import verify

DOMCTL, SYSCTL = Hypercall.domctl, Hypercall.sysctl


def domctl(guest, cmd, domain=0, version=XEN_DOMCTL_INTERFACE_VERSION, **payload):
    """Put a xen_domctl in guest memory and call domctl: (rc, va)."""
    va = guest.put(XEN_DOMCTL, cmd=cmd, interface_version=version, domain=domain,
                   u=payload)
    return guest.call(DOMCTL, va), va


def sysctl(guest, cmd, version=XEN_SYSCTL_INTERFACE_VERSION, **payload):
    va = guest.put(XEN_SYSCTL, cmd=cmd, interface_version=version, u=payload)
    return guest.call(SYSCTL, va), va


def test_every_domctl_and_sysctl_is_eperm_for_a_domu(domu):
    for cmd in DomctlCmd:
        assert domctl(domu, cmd, domain=domu.dom.domid)[0] == -Errno.EPERM, cmd.name
    for cmd in SysctlCmd:
        assert sysctl(domu, cmd)[0] == -Errno.EPERM, cmd.name
    assert domu.call(DOMCTL, 0x1000) == -Errno.EPERM     # checked before the pointer
    assert domu.call(SYSCTL, 0x1000) == -Errno.EPERM


def test_version_pointer_and_unknown_checks(dom0, domu):
    assert domctl(dom0, XEN_DOMCTL_getdomaininfo, version=1)[0] == -Errno.EACCES
    assert sysctl(dom0, XEN_SYSCTL_physinfo, version=1)[0] == -Errno.EACCES
    assert dom0.call(DOMCTL, 0x1000) == -Errno.EFAULT
    assert dom0.call(SYSCTL, 0x1000) == -Errno.EFAULT
    assert domctl(dom0, XEN_DOMCTL_getdomaininfo, domain=99)[0] == -Errno.ESRCH
    assert domctl(dom0, 0x3333, domain=domu.dom.domid)[0] == -Errno.ENOSYS
    assert sysctl(dom0, XEN_SYSCTL_readconsole)[0] == -Errno.ENOSYS


def info_of(dom0, domid):
    rc, va = domctl(dom0, XEN_DOMCTL_getdomaininfo, domain=domid)
    assert rc == 0
    return dom0.get(XEN_DOMCTL, va)["u"]["getdomaininfo"]


def test_createdomain_gives_a_paused_empty_domain(dom0):
    rc, va = domctl(dom0, XEN_DOMCTL_createdomain, createdomain={"max_vcpus": 2})
    assert rc == 0
    domid = dom0.get(XEN_DOMCTL, va)["domain"]
    dom = dom0.hv.domains[domid]
    assert len(dom.vcpus) == 2 and dom.mem.tot_pages == 0 and dom.pause_count == 1
    info = info_of(dom0, domid)
    assert info["flags"] & XEN_DOMINF_paused and info["nr_online_vcpus"] == 0
    assert info["max_vcpu_id"] == 1
    assert domctl(dom0, XEN_DOMCTL_createdomain, domain=domid,
                  createdomain={"max_vcpus": 1})[0] == -Errno.EEXIST
    assert domctl(dom0, XEN_DOMCTL_createdomain, createdomain={"max_vcpus": 0})[0] \
        == -Errno.EINVAL
    assert domctl(dom0, XEN_DOMCTL_createdomain,
                  createdomain={"max_vcpus": 1, "flags": 1})[0] == -Errno.EINVAL   # HVM


def test_pause_unpause_destroy(dom0, domu):
    domid = domu.dom.domid
    assert domctl(dom0, XEN_DOMCTL_pausedomain, domain=domid)[0] == 0
    assert info_of(dom0, domid)["flags"] & XEN_DOMINF_paused
    assert domctl(dom0, XEN_DOMCTL_unpausedomain, domain=domid)[0] == 0
    assert domctl(dom0, XEN_DOMCTL_unpausedomain, domain=domid)[0] == -Errno.EINVAL
    assert domctl(dom0, XEN_DOMCTL_pausedomain, domain=0)[0] == -Errno.EINVAL
    assert domctl(dom0, XEN_DOMCTL_destroydomain, domain=0)[0] == -Errno.EINVAL
    assert domctl(dom0, XEN_DOMCTL_destroydomain, domain=domid)[0] == 0
    assert domid not in dom0.hv.domains
    verify(dom0.hv.mm)


def test_getdomaininfo_reports_memory_and_shutdown(dom0, domu):
    domu.hv.shutdown(domu.dom, ShutdownReason.REBOOT)
    info = info_of(dom0, domu.dom.domid)
    assert info["tot_pages"] == domu.dom.mem.tot_pages
    assert info["shared_info_frame"] == domu.dom.shared_info_mfn
    assert info["flags"] & XEN_DOMINF_shutdown
    assert info["flags"] >> XEN_DOMINF_shutdownshift & 0xFF == ShutdownReason.REBOOT.value


def test_max_mem_is_in_kib_and_max_vcpus_only_grows(dom0, domu):
    assert domctl(dom0, XEN_DOMCTL_max_mem, domain=domu.dom.domid,
                  max_mem={"max_memkb": 4096})[0] == 0
    assert domu.dom.mem.max_pages == 1024
    assert domctl(dom0, XEN_DOMCTL_max_vcpus, domain=domu.dom.domid,
                  max_vcpus={"max": 3})[0] == 0
    assert [v.state for v in domu.dom.vcpus[1:]] == [VcpuState.DOWN] * 2
    assert len(domu.dom.mem.vcpus) == 3
    assert domctl(dom0, XEN_DOMCTL_max_vcpus, domain=domu.dom.domid,
                  max_vcpus={"max": 1})[0] == -Errno.EBUSY


def test_vcpu_context_round_trip_between_domains(dom0, domu):
    buf = dom0.alloc(VCPU_GUEST_CONTEXT.size)
    rc, _ = domctl(dom0, XEN_DOMCTL_getvcpucontext, domain=domu.dom.domid,
                   vcpucontext={"vcpu": 0, "ctxt": buf})
    assert rc == 0
    ctx = dom0.get(VCPU_GUEST_CONTEXT, buf)
    assert ctx["ctrlreg"][CR.PTBR] == domu.vcpu.cpu.cr[CR.PTBR]
    assert ctx["user_regs"]["pc"] == domu.vcpu.cpu.pc
    domu.vcpu.cpu.pc = 0x4444
    rc, _ = domctl(dom0, XEN_DOMCTL_setvcpucontext, domain=domu.dom.domid,
                   vcpucontext={"vcpu": 0, "ctxt": buf})
    assert rc == 0 and domu.vcpu.cpu.pc == ctx["user_regs"]["pc"]
    assert domctl(dom0, XEN_DOMCTL_getvcpucontext, domain=0,
                  vcpucontext={"vcpu": 0, "ctxt": buf})[0] == -Errno.EINVAL
    verify(dom0.hv.mm)


def test_setvcpucontext_null_resets_and_get_is_then_enodata(dom0, domu):
    domid = domu.dom.domid
    assert domctl(dom0, XEN_DOMCTL_setvcpucontext, domain=domid,
                  vcpucontext={"vcpu": 0, "ctxt": 0})[0] == 0
    assert domu.vcpu.state == VcpuState.DOWN and domu.vcpu.cpu.cr[CR.PTBR] == 0
    buf = dom0.alloc(VCPU_GUEST_CONTEXT.size)
    assert domctl(dom0, XEN_DOMCTL_getvcpucontext, domain=domid,
                  vcpucontext={"vcpu": 0, "ctxt": buf})[0] == -Errno.ENODATA
    verify(dom0.hv.mm)


def test_getvcpuinfo(dom0, domu):
    domu.vcpu.cpu_time_ns = 777
    rc, va = domctl(dom0, XEN_DOMCTL_getvcpuinfo, domain=domu.dom.domid,
                    getvcpuinfo={"vcpu": 0})
    assert rc == 0
    info = dom0.get(XEN_DOMCTL, va)["u"]["getvcpuinfo"]
    assert (info["online"], info["cpu_time"]) == (1, 777)


def test_physinfo_and_sched_id(dom0):
    rc, va = sysctl(dom0, XEN_SYSCTL_physinfo)
    assert rc == 0
    info = dom0.get(XEN_SYSCTL, va)["u"]["physinfo"]
    assert info["nr_cpus"] == 1 and info["cpu_khz"] == NOMINAL_CLOCK_HZ // 1000
    assert info["total_pages"] == dom0.hv.mm.nframes
    assert info["free_pages"] == dom0.hv.mm.free_pages
    assert info["capabilities"] == XEN_SYSCTL_PHYSCAP_pv
    rc, va = sysctl(dom0, XEN_SYSCTL_sched_id)
    name = dom0.hv.sched.name
    assert rc == (0 if name in ("credit", "credit2", "rtds", "null", "arinc653")
                  else -Errno.EOPNOTSUPP)


def test_getdomaininfolist(dom0, domu):
    buf = dom0.alloc(3 * XEN_DOMCTL_GETDOMAININFO.size)
    rc, va = sysctl(dom0, XEN_SYSCTL_getdomaininfolist,
                    getdomaininfolist={"first_domain": 0, "max_domains": 3, "buffer": buf})
    assert rc == 0
    assert dom0.get(XEN_SYSCTL, va)["u"]["getdomaininfolist"]["num_domains"] == 2
    first, second = (dom0.get(XEN_DOMCTL_GETDOMAININFO, buf + i * 72) for i in (0, 1))
    assert (first["domain"], second["domain"]) == (0, domu.dom.domid)
    rc, va = sysctl(dom0, XEN_SYSCTL_getdomaininfolist,
                    getdomaininfolist={"first_domain": 1, "max_domains": 3, "buffer": 0x1000})
    assert rc == -Errno.EFAULT



def test_an_exit_that_outlives_its_domain_is_dropped(dom0, domu):
    # Under --realtime a run can end after a destroy that waited for it; its hypercall
    # or trap must not touch memory that is gone (PTBR is 0, shared_info freed).
    hv, vcpu, scratch = domu.hv, domu.vcpu, domu.alloc(16)
    hv.destroy(domu.dom)
    memory = bytes(hv.memory.data)
    assert domu.hcall(Hypercall.xen_version, XENVER_extraversion, scratch) \
        == XENVER_extraversion                             # a0 as the guest left it
    cpu = (list(vcpu.cpu.regs), vcpu.cpu.pc, vcpu.cpu.ring)
    bounce_trap(hv, vcpu, Trap(Vector.PAGE_FAULT, vcpu.cpu.pc, 0, 0x1234))
    assert (list(vcpu.cpu.regs), vcpu.cpu.pc, vcpu.cpu.ring) == cpu
    assert bytes(hv.memory.data) == memory
    verify(hv.mm)
