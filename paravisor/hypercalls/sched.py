"""sched_op (29): yield, block, shutdown, poll, remote_shutdown (sched.h)."""

from __future__ import annotations

from paravisor.abi import (
    SCHED_POLL,
    SCHED_REMOTE_SHUTDOWN,
    SCHED_SHUTDOWN,
    SCHEDOP_block,
    SCHEDOP_poll,
    SCHEDOP_remote_shutdown,
    SCHEDOP_shutdown,
    SCHEDOP_shutdown_code,
    SCHEDOP_yield,
)
from paravisor.abi.errno import Errno
from paravisor.domain import ShutdownReason, VcpuState
from paravisor.domain.timers import guest_deadline
from paravisor.hypercalls.common import (
    HypercallError,
    copy_from,
    read_struct,
    require_privileged,
)

SCHED_POLL_MAX_PORTS = 128


def _reason(value: int) -> ShutdownReason:
    try:
        return ShutdownReason(value)
    except ValueError:
        raise HypercallError(Errno.EINVAL, f"no shutdown reason {value}") from None


def do_sched_op(hv, vcpu, cmd: int, arg: int, *_) -> int:
    if cmd == SCHEDOP_yield:
        hv.yield_vcpu(vcpu)
        return 0
    if cmd == SCHEDOP_block:
        hv.block(vcpu)
        return 0
    if cmd in (SCHEDOP_shutdown, SCHEDOP_shutdown_code):
        args = read_struct(hv, vcpu, SCHED_SHUTDOWN, arg)
        reason = _reason(args["reason"])
        if cmd == SCHEDOP_shutdown_code:
            vcpu.domain.pending_shutdown = reason
            return 0
        message = "the guest crashed itself (SCHEDOP_shutdown)" \
            if reason == ShutdownReason.CRASH else ""
        hv.shutdown(vcpu.domain, reason, code=args.get("code", 0), message=message)
        return 0
    if cmd == SCHEDOP_poll:
        return _poll(hv, vcpu, read_struct(hv, vcpu, SCHED_POLL, arg))
    if cmd == SCHEDOP_remote_shutdown:
        require_privileged(vcpu)
        args = read_struct(hv, vcpu, SCHED_REMOTE_SHUTDOWN, arg)
        target = hv.lookup(args["domain_id"])
        if target is None:
            raise HypercallError(Errno.ESRCH, f"no domain {args['domain_id']}")
        hv.shutdown(target, _reason(args["reason"]))
        return 0
    return -Errno.ENOSYS


def _poll(hv, vcpu, args: dict) -> int:
    """Block until one of the ports is pending or the (absolute) timeout passes; a
    timeout that has passed, or is negative as Xen's s_time_t, returns at once; 0 means
    none (with no ports either, the vCPU waits for nothing: the loop reports it)."""
    nr = args["nr_ports"]
    if nr > SCHED_POLL_MAX_PORTS:
        raise HypercallError(Errno.EINVAL, "too many ports to poll")
    raw = copy_from(hv, vcpu, args["ports"], 4 * nr)
    ports = tuple(int.from_bytes(raw[4 * i:4 * i + 4], "little") for i in range(nr))
    dom = vcpu.domain
    for port in ports:
        if not 0 < port < dom.evtchn.limit:
            raise HypercallError(Errno.EINVAL, f"port {port} out of range")
        if hv.events.is_pending(dom, port):
            return 0
    deadline = guest_deadline(hv.now, args["timeout"]) if args["timeout"] else 0
    if deadline and deadline <= hv.now:
        return 0
    vcpu.poll_ports, vcpu.poll_deadline = ports, deadline
    vcpu.state = VcpuState.BLOCKED
    hv.sched.sleep(vcpu, hv.now)
    return 0
