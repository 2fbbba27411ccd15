"""event_channel_op (32): the EVTCHNOP_* sub-operations over paravisor.evtchn.

Each copies its argument structure out of the guest once, acts, and writes the OUT
fields back (event_channel.h).  The FIFO ABI (init_control, expand_array, set_priority)
is not implemented: -ENOSYS, so a guest falls back to the 2-level ABI as Linux does.
"""

from __future__ import annotations

from paravisor.abi import (
    EVTCHN_ALLOC_UNBOUND,
    EVTCHN_BIND_INTERDOMAIN,
    EVTCHN_BIND_IPI,
    EVTCHN_BIND_VCPU,
    EVTCHN_BIND_VIRQ,
    EVTCHN_CLOSE,
    EVTCHN_SEND,
    EVTCHN_STATUS,
    EVTCHN_UNMASK,
    EVTCHNOP_alloc_unbound,
    EVTCHNOP_bind_interdomain,
    EVTCHNOP_bind_ipi,
    EVTCHNOP_bind_vcpu,
    EVTCHNOP_bind_virq,
    EVTCHNOP_close,
    EVTCHNOP_send,
    EVTCHNOP_status,
    EVTCHNOP_unmask,
    EVTCHNSTAT_interdomain,
    EVTCHNSTAT_unbound,
    EVTCHNSTAT_virq,
)
from paravisor.abi.errno import Errno
from paravisor.evtchn import EventError
from paravisor.hypercalls.common import HypercallError, read_struct, write_field


def do_event_channel_op(hv, vcpu, cmd: int, arg: int, *_) -> int:
    handler = _OPS.get(cmd)
    if handler is None:
        return -Errno.ENOSYS
    try:
        return handler(hv, vcpu, arg)
    except EventError as err:
        raise HypercallError(err.errno, str(err)) from None


def _alloc_unbound(hv, vcpu, arg: int) -> int:
    a = read_struct(hv, vcpu, EVTCHN_ALLOC_UNBOUND, arg)
    port = hv.events.alloc_unbound(vcpu.domain, a["dom"], a["remote_dom"])
    write_field(hv, vcpu, EVTCHN_ALLOC_UNBOUND, arg, "port", port)
    return 0


def _bind_interdomain(hv, vcpu, arg: int) -> int:
    a = read_struct(hv, vcpu, EVTCHN_BIND_INTERDOMAIN, arg)
    port = hv.events.bind_interdomain(vcpu.domain, a["remote_dom"], a["remote_port"])
    write_field(hv, vcpu, EVTCHN_BIND_INTERDOMAIN, arg, "local_port", port)
    return 0


def _bind_virq(hv, vcpu, arg: int) -> int:
    a = read_struct(hv, vcpu, EVTCHN_BIND_VIRQ, arg)
    port = hv.events.bind_virq(vcpu.domain, a["virq"], a["vcpu"])
    write_field(hv, vcpu, EVTCHN_BIND_VIRQ, arg, "port", port)
    return 0


def _bind_ipi(hv, vcpu, arg: int) -> int:
    a = read_struct(hv, vcpu, EVTCHN_BIND_IPI, arg)
    port = hv.events.bind_ipi(vcpu.domain, a["vcpu"])
    write_field(hv, vcpu, EVTCHN_BIND_IPI, arg, "port", port)
    return 0


def _bind_vcpu(hv, vcpu, arg: int) -> int:
    a = read_struct(hv, vcpu, EVTCHN_BIND_VCPU, arg)
    hv.events.bind_vcpu(vcpu.domain, a["port"], a["vcpu"])
    return 0


def _close(hv, vcpu, arg: int) -> int:
    hv.events.close(vcpu.domain, read_struct(hv, vcpu, EVTCHN_CLOSE, arg)["port"])
    return 0


def _send(hv, vcpu, arg: int) -> int:
    hv.events.send(vcpu.domain, read_struct(hv, vcpu, EVTCHN_SEND, arg)["port"])
    return 0


def _unmask(hv, vcpu, arg: int) -> int:
    hv.events.unmask(vcpu.domain, read_struct(hv, vcpu, EVTCHN_UNMASK, arg)["port"])
    return 0


def _status(hv, vcpu, arg: int) -> int:
    a = read_struct(hv, vcpu, EVTCHN_STATUS, arg)
    st = hv.events.status(vcpu.domain, a["dom"], a["port"])
    if st["status"] == EVTCHNSTAT_unbound:
        u = {"unbound": {"dom": st["remote_domid"]}}
    elif st["status"] == EVTCHNSTAT_interdomain:
        u = {"interdomain": {"dom": st["remote_domid"], "port": st["remote_port"]}}
    elif st["status"] == EVTCHNSTAT_virq:
        u = {"virq": st["virq"]}
    else:
        u = {}
    out = dict(a, status=st["status"], vcpu=st["vcpu"], u=u)
    write_field(hv, vcpu, EVTCHN_STATUS, arg, "status", out["status"])
    write_field(hv, vcpu, EVTCHN_STATUS, arg, "vcpu", out["vcpu"])
    write_field(hv, vcpu, EVTCHN_STATUS, arg, "u", u)
    return 0


_OPS = {
    EVTCHNOP_alloc_unbound: _alloc_unbound,
    EVTCHNOP_bind_interdomain: _bind_interdomain,
    EVTCHNOP_bind_virq: _bind_virq,
    EVTCHNOP_bind_ipi: _bind_ipi,
    EVTCHNOP_bind_vcpu: _bind_vcpu,
    EVTCHNOP_close: _close,
    EVTCHNOP_send: _send,
    EVTCHNOP_status: _status,
    EVTCHNOP_unmask: _unmask,
}
