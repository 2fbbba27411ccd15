"""vcpu_op (24) and set_timer_op (15): bringing vCPUs up and down, initialising one from
a vcpu_guest_context, runstate, and the periodic and single-shot timers."""

import pytest

from paravisor.abi import (
    VCPU_GUEST_CONTEXT,
    VCPU_RUNSTATE_INFO,
    VCPU_SET_PERIODIC_TIMER,
    VCPU_SET_SINGLESHOT_TIMER,
    Hypercall,
    RUNSTATE_offline,
    RUNSTATE_running,
    VCPU_SSHOTTMR_future,
    VCPUOP_down,
    VCPUOP_get_runstate_info,
    VCPUOP_initialise,
    VCPUOP_is_up,
    VCPUOP_register_vcpu_info,
    VCPUOP_set_periodic_timer,
    VCPUOP_set_singleshot_timer,
    VCPUOP_stop_periodic_timer,
    VCPUOP_stop_singleshot_timer,
    VCPUOP_up,
    VGCF_online,
    Virq,
)
from paravisor.abi.errno import Errno
from paravisor.domain import ShutdownReason, VcpuState
from paravisor.hypercalls.cost import copy_ns
from paravisor.hypercalls.vcpu_context import context_of
from paravisor.isa.table import CR
from paravisor.mm.invariants import verify
from paravisor.testing.guests import api_guest

VCPU = Hypercall.vcpu_op
MS = 1_000_000


@pytest.fixture
def smp(host, dom0):
    """A domU with two vCPUs: 0 running, 1 down and never initialised."""
    return api_guest(host, name="smp", max_vcpus=2)


def context_for(guest, pc, sp, a0, online=False):
    """A vcpu_guest_context sharing vCPU 0's page tables."""
    regs = [0] * 16
    regs[2], regs[3] = sp, a0
    return guest.put(VCPU_GUEST_CONTEXT, flags=VGCF_online if online else 0,
                     user_regs={"regs": regs, "pc": pc, "ring": 1},
                     ctrlreg=[0, guest.vcpu.cpu.cr[CR.PTBR]])


def test_initialise_then_up(smp):
    second = smp.dom.vcpus[1]
    assert smp.call(VCPU, VCPUOP_up, 1, 0) == -Errno.EINVAL          # not initialised
    ctxt = context_for(smp, pc=0x10000, sp=0x12340, a0=7)
    assert smp.call(VCPU, VCPUOP_initialise, 1, ctxt) == 0
    assert second.state == VcpuState.DOWN
    assert (second.cpu.pc, second.cpu.regs[2], second.cpu.regs[3]) == (0x10000, 0x12340, 7)
    assert smp.call(VCPU, VCPUOP_is_up, 1, 0) == 0
    assert smp.call(VCPU, VCPUOP_up, 1, 0) == 0
    assert smp.call(VCPU, VCPUOP_is_up, 1, 0) == 1
    assert smp.call(VCPU, VCPUOP_initialise, 1, ctxt) == -Errno.EEXIST
    verify(smp.hv.mm)


def test_initialise_refuses_a_bad_context_and_changes_nothing(smp, dom0):
    second = smp.dom.vcpus[1]
    bad_ring = smp.put(VCPU_GUEST_CONTEXT, user_regs={"ring": 2},
                       ctrlreg=[0, smp.vcpu.cpu.cr[CR.PTBR]])
    foreign = smp.put(VCPU_GUEST_CONTEXT, user_regs={"ring": 1},
                      ctrlreg=[0, dom0.vcpu.cpu.cr[CR.PTBR]])
    no_tables = smp.put(VCPU_GUEST_CONTEXT, user_regs={"ring": 1})
    for ctxt in (bad_ring, foreign, no_tables):
        assert smp.call(VCPU, VCPUOP_initialise, 1, ctxt) == -Errno.EINVAL
    assert smp.call(VCPU, VCPUOP_initialise, 1, 0x1000) == -Errno.EFAULT
    assert smp.dom.mem.guest_table[1] is None and second.cpu.cr[CR.PTBR] == 0
    verify(smp.hv.mm)


def test_a_context_round_trips(smp):
    smp.call(VCPU, VCPUOP_initialise, 1, context_for(smp, 0x10004, 0x5000, 9, online=True))
    second = smp.dom.vcpus[1]
    assert second.state == VcpuState.RUNNABLE
    ctx = context_of(second)
    assert ctx["user_regs"]["pc"] == 0x10004 and ctx["flags"] & VGCF_online


def test_down_and_last_vcpu_down_powers_off(smp):
    smp.call(VCPU, VCPUOP_initialise, 1, context_for(smp, 0x10000, 0, 0, online=True))
    assert smp.call(VCPU, VCPUOP_down, 0, 0) == 0
    assert smp.dom.vcpus[0].state == VcpuState.DOWN and not smp.dom.is_shutdown
    assert smp.call(VCPU, VCPUOP_down, 1, 0) == 0
    assert smp.dom.shutdown_reason == ShutdownReason.POWEROFF


def test_no_such_vcpu_is_enoent_and_unknown_op_enosys(smp):
    assert smp.call(VCPU, VCPUOP_is_up, 2, 0) == -Errno.ENOENT
    assert smp.call(VCPU, 0x55, 7, 0) == -Errno.ENOENT
    assert smp.call(VCPU, VCPUOP_register_vcpu_info, 0, 0) == -Errno.ENOSYS


def test_runstate_info(smp):
    smp.vcpu.cpu_time_ns = 12345
    info = smp.alloc(VCPU_RUNSTATE_INFO.size)
    assert smp.call(VCPU, VCPUOP_get_runstate_info, 0, info) == 0
    got = smp.get(VCPU_RUNSTATE_INFO, info)
    assert got["state"] == RUNSTATE_running and got["time"][RUNSTATE_running] == 12345
    assert smp.call(VCPU, VCPUOP_get_runstate_info, 1, info) == 0
    assert smp.get(VCPU_RUNSTATE_INFO, info)["state"] == RUNSTATE_offline
    assert smp.call(VCPU, VCPUOP_get_runstate_info, 0, 0x10000) == -Errno.EFAULT


def test_periodic_timer_limits(smp):
    too_fast = smp.put(VCPU_SET_PERIODIC_TIMER, period_ns=MS - 1)
    ok = smp.put(VCPU_SET_PERIODIC_TIMER, period_ns=MS)
    assert smp.call(VCPU, VCPUOP_set_periodic_timer, 0, too_fast) == -Errno.EINVAL
    smp.hv.now = 500
    assert smp.call(VCPU, VCPUOP_set_periodic_timer, 0, ok) == 0
    read_args = copy_ns(VCPU_SET_PERIODIC_TIMER.size)    # charged before "now" is read
    assert (smp.vcpu.periodic_period, smp.vcpu.periodic_next) == (MS, 500 + read_args + MS)
    assert smp.call(VCPU, VCPUOP_stop_periodic_timer, 0, 0) == 0
    assert smp.vcpu.periodic_next == 0


def bind_timer(guest):
    return guest.hv.events.bind_virq(guest.dom, Virq.VIRQ_TIMER, 0)


def test_singleshot_timer(smp):
    port = bind_timer(smp)
    smp.hv.now = 10 * MS
    future = smp.put(VCPU_SET_SINGLESHOT_TIMER, timeout_abs_ns=12 * MS)
    assert smp.call(VCPU, VCPUOP_set_singleshot_timer, 0, future) == 0
    assert smp.vcpu.singleshot_deadline == 12 * MS
    assert smp.call(VCPU, VCPUOP_stop_singleshot_timer, 0, 0) == 0
    assert smp.vcpu.singleshot_deadline == 0
    late = smp.put(VCPU_SET_SINGLESHOT_TIMER, timeout_abs_ns=MS, flags=VCPU_SSHOTTMR_future)
    assert smp.call(VCPU, VCPUOP_set_singleshot_timer, 0, late) == -Errno.ETIME
    assert not smp.hv.events.is_pending(smp.dom, port)
    past = smp.put(VCPU_SET_SINGLESHOT_TIMER, timeout_abs_ns=MS)
    assert smp.call(VCPU, VCPUOP_set_singleshot_timer, 0, past) == 0
    assert smp.hv.events.is_pending(smp.dom, port)           # fired at once
    assert smp.call(VCPU, VCPUOP_set_singleshot_timer, 1, future) == -Errno.EINVAL


def test_set_timer_op_takes_low_word_first(smp):
    bind_timer(smp)
    deadline = (3 << 32) | 0x10
    assert smp.hcall(Hypercall.set_timer_op, deadline & 0xFFFF_FFFF, deadline >> 32) == 0
    assert smp.vcpu.singleshot_deadline == deadline
    assert smp.hcall(Hypercall.set_timer_op, 0, 0) == 0
    assert smp.vcpu.singleshot_deadline == 0
