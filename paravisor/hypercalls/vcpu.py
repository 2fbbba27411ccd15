"""vcpu_op (24) and set_timer_op (15): a domain's vCPUs and their timers (vcpu.h).

vcpu_op(cmd, vcpuid, arg) acts on vCPU `vcpuid` of the caller's own domain; an id with
no vCPU is -ENOENT (checked before the command, as Xen does).

- VCPUOP_initialise: load a vcpu_guest_context (vcpu_context.py) into a vCPU that is
  not initialised yet (-EEXIST if it is); it stays down unless the context says
  VGCF_online, so the usual sequence is initialise, then up.
- VCPUOP_up (-EINVAL if not initialised), VCPUOP_down, VCPUOP_is_up (1 or 0).  Taking
  the last online vCPU down powers the domain off, as Xen does.
- VCPUOP_get_runstate_info: the state (running for the caller itself and the vCPU
  on the pCPU, runnable, blocked, or offline for a down vCPU or a paused or shut-down
  domain) and time[RUNSTATE_running], the virtual ns it ran.  paravisor does not yet
  account the time spent in the other states: those entries and state_entry_time
  are 0 (the hypervisor would have to stamp every state change).
- VCPUOP_set_periodic_timer {period_ns}: at least 1 ms and at most Xen's
  STIME_DELTA_MAX, else -EINVAL; the first tick is one period from now.
  VCPUOP_stop_periodic_timer.
- VCPUOP_set_singleshot_timer {timeout_abs_ns, flags} and stop_singleshot_timer: on
  the calling vCPU only (-EINVAL for another, as Xen).  With VCPU_SSHOTTMR_future a
  deadline already passed is -ETIME; without it the timer fires at once.  A timeout
  with bit 63 set is negative as Xen's s_time_t, so it has passed: it fires at once
  (also with VCPU_SSHOTTMR_future, which Xen checks on the raw u64).
- Everything else (register_runstate_memory_area, register_vcpu_info, send_nmi, ...)
  is -ENOSYS.

set_timer_op(lo, hi): the calling vCPU's single-shot timer, an absolute deadline in ns
in two registers, low word first; 0 cancels it; a deadline already passed fires at once;
a negative one, or one 2^50 ns or more ahead, fires in 100 ms (Xen's do_set_timer_op).
Timers live on the Vcpu (singleshot_deadline, periodic_period/periodic_next) and the
hypervisor loop fires them with VIRQ_TIMER; "at once" means VIRQ_TIMER is raised here.
Every deadline is made by paravisor.domain.timers, so none is ever armed past STIME_MAX.
"""

from __future__ import annotations

from paravisor.abi import (
    VCPU_GUEST_CONTEXT,
    VCPU_RUNSTATE_INFO,
    VCPU_SET_PERIODIC_TIMER,
    VCPU_SET_SINGLESHOT_TIMER,
    RUNSTATE_blocked,
    RUNSTATE_offline,
    RUNSTATE_runnable,
    RUNSTATE_running,
    VCPU_SSHOTTMR_future,
    VCPUOP_down,
    VCPUOP_get_runstate_info,
    VCPUOP_initialise,
    VCPUOP_is_up,
    VCPUOP_set_periodic_timer,
    VCPUOP_set_singleshot_timer,
    VCPUOP_stop_periodic_timer,
    VCPUOP_stop_singleshot_timer,
    VCPUOP_up,
    Virq,
)
from paravisor.abi.errno import Errno
from paravisor.domain import ShutdownReason, VcpuState
from paravisor.domain.timers import (
    STIME_DELTA_MAX,
    guest_deadline,
    next_periodic_tick,
    timer_op_deadline,
)
from paravisor.hypercalls.common import read_struct, write_struct
from paravisor.hypercalls.vcpu_context import apply_context, is_initialised, parse_context

NS_PER_MS = 1_000_000
MIN_PERIOD_NS = 1 * NS_PER_MS          # Xen: MILLISECS(1)
_WORD_SHIFT = 32


def do_vcpu_op(hv, vcpu, cmd: int, vcpuid: int, arg: int, *_) -> int:
    dom = vcpu.domain
    if vcpuid >= len(dom.vcpus):
        return -Errno.ENOENT
    target = dom.vcpus[vcpuid]
    handler = _OPS.get(cmd)
    if handler is None:
        return -Errno.ENOSYS
    return handler(hv, vcpu, target, arg)


def _initialise(hv, caller, target, arg: int) -> int:
    if is_initialised(target):
        return -Errno.EEXIST
    context = parse_context(read_struct(hv, caller, VCPU_GUEST_CONTEXT, arg))
    apply_context(hv, target, context)
    return 0


def _up(hv, caller, target, arg: int) -> int:
    if not is_initialised(target):
        return -Errno.EINVAL
    hv.vcpu_up(target)
    return 0


def _down(hv, caller, target, arg: int) -> int:
    others_online = any(v is not target and v.state != VcpuState.DOWN
                        for v in target.domain.vcpus)
    if not others_online:
        hv.shutdown(target.domain, ShutdownReason.POWEROFF)
        return 0
    hv.vcpu_down(target)
    return 0


def _is_up(hv, caller, target, arg: int) -> int:
    return int(target.state != VcpuState.DOWN)


def runstate(hv, caller, target) -> int:
    """The RUNSTATE_* of `target` as seen by `caller` (which is running right now)."""
    if target is caller or target is hv.current:
        return RUNSTATE_running
    if target.runnable:
        return RUNSTATE_runnable
    if target.state == VcpuState.BLOCKED and target.domain.can_run:
        return RUNSTATE_blocked
    return RUNSTATE_offline


def _get_runstate_info(hv, caller, target, arg: int) -> int:
    times = [0, 0, 0, 0]
    times[RUNSTATE_running] = target.cpu_time_ns
    write_struct(hv, caller, VCPU_RUNSTATE_INFO, arg, state=runstate(hv, caller, target),
                 state_entry_time=0, time=times)
    return 0


def _set_periodic_timer(hv, caller, target, arg: int) -> int:
    period = read_struct(hv, caller, VCPU_SET_PERIODIC_TIMER, arg)["period_ns"]
    if not MIN_PERIOD_NS <= period <= STIME_DELTA_MAX:
        return -Errno.EINVAL
    target.periodic_period = period
    target.periodic_next = next_periodic_tick(hv.now, hv.now, period)
    return 0


def _stop_periodic_timer(hv, caller, target, arg: int) -> int:
    target.periodic_period = target.periodic_next = 0
    return 0


def _set_singleshot_timer(hv, caller, target, arg: int) -> int:
    if target is not caller:
        return -Errno.EINVAL
    timer = read_struct(hv, caller, VCPU_SET_SINGLESHOT_TIMER, arg)
    timeout = timer["timeout_abs_ns"]
    if timer["flags"] & VCPU_SSHOTTMR_future and timeout < hv.now:
        return -Errno.ETIME
    arm_singleshot(hv, target, guest_deadline(hv.now, timeout))
    return 0


def _stop_singleshot_timer(hv, caller, target, arg: int) -> int:
    if target is not caller:
        return -Errno.EINVAL
    target.singleshot_deadline = 0
    return 0


def arm_singleshot(hv, vcpu, deadline: int) -> None:
    """Set `vcpu`'s single-shot timer to `deadline` (made by paravisor.domain.timers); a
    deadline not in the future fires now."""
    if deadline <= hv.now:
        vcpu.singleshot_deadline = 0
        hv.events.send_virq(vcpu.domain, Virq.VIRQ_TIMER, vcpu.vcpu_id)
    else:
        vcpu.singleshot_deadline = deadline


def do_set_timer_op(hv, vcpu, timeout_lo: int, timeout_hi: int, *_) -> int:
    timeout = (timeout_hi << _WORD_SHIFT) | timeout_lo
    if timeout == 0:
        vcpu.singleshot_deadline = 0
    else:
        arm_singleshot(hv, vcpu, timer_op_deadline(hv.now, timeout))
    return 0


_OPS = {
    VCPUOP_initialise: _initialise,
    VCPUOP_up: _up,
    VCPUOP_down: _down,
    VCPUOP_is_up: _is_up,
    VCPUOP_get_runstate_info: _get_runstate_info,
    VCPUOP_set_periodic_timer: _set_periodic_timer,
    VCPUOP_stop_periodic_timer: _stop_periodic_timer,
    VCPUOP_set_singleshot_timer: _set_singleshot_timer,
    VCPUOP_stop_singleshot_timer: _stop_singleshot_timer,
}
