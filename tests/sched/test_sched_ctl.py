"""Live control of weight and cap: the Python API (sched/ctl.py) and dom0's
XEN_DOMCTL_scheduler_op putinfo/getinfo; and hard affinity through the hypervisor."""

from __future__ import annotations

import pytest

from paravisor.abi import (
    XEN_DOMCTL,
    XEN_DOMCTL_INTERFACE_VERSION,
    XEN_SCHEDULER_CREDIT,
    XEN_SCHEDULER_CREDIT2,
    Hypercall,
    XEN_DOMCTL_SCHEDOP_getinfo,
    XEN_DOMCTL_SCHEDOP_putinfo,
    XEN_DOMCTL_scheduler_op,
)
from paravisor.abi.errno import Errno
from paravisor.sched import make_scheduler
from paravisor.sched.ctl import get_sched_credit, set_sched_credit
from paravisor.sched.interface import SchedParamError
from paravisor.testing.guests import api_guest
from paravisor.testing.host import Host


@pytest.fixture
def guests():
    host = Host(host_mib=8, scheduler=make_scheduler("credit", 2))
    return api_guest(host, name="dom0", privileged=True, domid=0), api_guest(host, name="domu")


def scheduler_op(caller, target, cmd, sched_id=XEN_SCHEDULER_CREDIT, weight=0, cap=0xFFFF):
    """Make dom0 (or `caller`) call the domctl; (rc, the credit fields read back)."""
    va = caller.put(XEN_DOMCTL, cmd=XEN_DOMCTL_scheduler_op,
                    interface_version=XEN_DOMCTL_INTERFACE_VERSION, domain=target.dom.domid,
                    u={"scheduler_op": {"sched_id": sched_id, "cmd": cmd,
                                        "u": {"credit": {"weight": weight, "cap": cap}}}})
    rc = caller.call(Hypercall.domctl, va)
    out = caller.get(XEN_DOMCTL, va)["u"]["scheduler_op"]["u"]["credit"]
    return rc, (out["weight"], out["cap"])


def test_python_api_sets_and_shows_weight_and_cap(guests):
    _, domu = guests
    hv = domu.hv
    assert (get_sched_credit(hv, domu.dom).weight, get_sched_credit(hv, domu.dom).cap) == (256, 0)
    assert set_sched_credit(hv, domu.dom, weight=512) == get_sched_credit(hv, domu.dom)
    params = set_sched_credit(hv, domu.dom, cap=50)
    assert (params.weight, params.cap) == (512, 50)
    with pytest.raises(SchedParamError):
        set_sched_credit(hv, domu.dom, weight=0)


def test_dom0_puts_and_gets_credit_parameters(guests):
    dom0, domu = guests
    assert scheduler_op(dom0, domu, XEN_DOMCTL_SCHEDOP_getinfo) == (0, (256, 0))
    assert scheduler_op(dom0, domu, XEN_DOMCTL_SCHEDOP_putinfo, weight=1000, cap=30)[0] == 0
    assert scheduler_op(dom0, domu, XEN_DOMCTL_SCHEDOP_getinfo) == (0, (1000, 30))
    # weight 0 and cap 0xFFFF leave each alone
    assert scheduler_op(dom0, domu, XEN_DOMCTL_SCHEDOP_putinfo, weight=0, cap=0xFFFF) == \
        (0, (1000, 30))
    assert get_sched_credit(domu.hv, domu.dom).weight == 1000


def test_bad_scheduler_ops_are_einval_or_eperm(guests):
    dom0, domu = guests
    assert scheduler_op(dom0, domu, XEN_DOMCTL_SCHEDOP_getinfo,
                        sched_id=XEN_SCHEDULER_CREDIT2)[0] == -Errno.EINVAL
    assert scheduler_op(dom0, domu, 7)[0] == -Errno.EINVAL
    assert scheduler_op(dom0, domu, XEN_DOMCTL_SCHEDOP_putinfo, cap=101)[0] == -Errno.EINVAL
    assert scheduler_op(domu, dom0, XEN_DOMCTL_SCHEDOP_getinfo)[0] == -Errno.EPERM
    assert get_sched_credit(domu.hv, domu.dom).cap == 0          # nothing changed


def test_round_robin_has_no_credit_parameters():
    host = Host(host_mib=8, scheduler=make_scheduler("rr", 1))
    dom0 = api_guest(host, name="dom0", privileged=True, domid=0)
    domu = api_guest(host, name="domu")
    assert scheduler_op(dom0, domu, XEN_DOMCTL_SCHEDOP_getinfo)[0] == -Errno.EINVAL
    with pytest.raises(SchedParamError):
        get_sched_credit(host.hv, domu.dom)


def test_affinity_must_name_existing_pcpus(guests):
    _, domu = guests
    hv, vcpu = domu.hv, domu.dom.vcpus[0]
    hv.set_vcpu_affinity(vcpu, {1})
    assert vcpu.cpu_hard_affinity == frozenset({1})
    for bad in (set(), {2}, {0, 5}):
        with pytest.raises(ValueError):
            hv.set_vcpu_affinity(vcpu, bad)
    hv.set_vcpu_affinity(vcpu, None)
    assert vcpu.cpu_hard_affinity is None
