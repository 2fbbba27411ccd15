"""multicall (13): results written per entry, failures do not stop the batch, iret and
nested multicall refused, a stopping call turns the rest into a continuation."""

from paravisor.abi import (
    MULTICALL_ENTRY,
    SCHED_SHUTDOWN,
    Hypercall,
    SCHEDOP_block,
    SCHEDOP_shutdown,
    SHUTDOWN_poweroff,
    XENVER_pagesize,
    XENVER_version,
)
from paravisor.abi.errno import Errno
from paravisor.hypercalls.common import KEEP
from paravisor.isa.table import HYPERCALL_ARG_REGS, HYPERCALL_NR_REG

MC = Hypercall.multicall
VERSION = (4 << 16) | 20


def batch(guest, calls):
    """A multicall_entry array with `result` preset to a marker; its va."""
    va = guest.alloc(MULTICALL_ENTRY.size * len(calls))
    for i, (op, *args) in enumerate(calls):
        guest.put(MULTICALL_ENTRY, va + i * MULTICALL_ENTRY.size, op=op, result=0xEEEE,
                  args=list(args))
    return va


def results(guest, va, count):
    return [guest.get(MULTICALL_ENTRY, va + i * MULTICALL_ENTRY.size)["result"]
            for i in range(count)]


def s32(word):
    return word - (1 << 32) if word >> 31 else word


def test_each_result_is_written_and_failures_do_not_stop(domu):
    va = batch(domu, [(Hypercall.xen_version, XENVER_version),
                      (Hypercall.xen_version, XENVER_pagesize, 5),
                      (99,),
                      (Hypercall.xen_version, XENVER_pagesize)])
    assert domu.hcall(MC, va, 4) == 0
    assert [s32(r) for r in results(domu, va, 4)] == [VERSION, -Errno.EINVAL,
                                                      -Errno.ENOSYS, 4096]


def test_iret_and_nested_multicall_are_refused(domu):
    inner = batch(domu, [(Hypercall.xen_version, XENVER_version)])
    va = batch(domu, [(Hypercall.iret,), (MC, inner, 1), (Hypercall.xen_version, 0)])
    pc = domu.vcpu.cpu.pc
    assert domu.call(MC, va, 3) == 0
    assert [s32(r) for r in results(domu, va, 3)] == [-Errno.EINVAL, -Errno.EINVAL, VERSION]
    assert results(domu, inner, 1) == [0xEEEE]                 # never ran
    assert domu.vcpu.cpu.pc == pc                              # iret did not run either


def test_bad_array_is_efault(domu):
    assert domu.call(MC, 0x1000, 1) == -Errno.EFAULT
    assert domu.call(MC, 0xFFFF_FFF0, 1) == -Errno.EFAULT       # runs past 4 GiB
    assert domu.call(MC, 0x10000, 1) == -Errno.EFAULT           # result not writable
    assert domu.call(MC, 0, 0) == 0
    assert domu.call(MC, 0, 1 << 30) == -Errno.EINVAL


def test_a_blocking_call_continues_the_rest_later(domu):
    va = batch(domu, [(Hypercall.sched_op, SCHEDOP_block),
                      (Hypercall.xen_version, XENVER_version)])
    cpu = domu.vcpu.cpu
    cpu.pc = 0x10008                                           # just after an hcall
    assert domu.call(MC, va, 2) is KEEP
    assert results(domu, va, 2) == [0, 0xEEEE]
    assert cpu.pc == 0x10004
    assert cpu.regs[HYPERCALL_NR_REG] == MC
    assert (cpu.regs[HYPERCALL_ARG_REGS[0]], cpu.regs[HYPERCALL_ARG_REGS[1]]) == (
        va + MULTICALL_ENTRY.size, 1)


def test_shutdown_drops_the_rest(domu):
    reason = domu.put(SCHED_SHUTDOWN, reason=SHUTDOWN_poweroff)
    va = batch(domu, [(Hypercall.sched_op, SCHEDOP_shutdown, reason),
                      (Hypercall.xen_version, XENVER_version)])
    assert domu.call(MC, va, 2) == 0
    assert domu.dom.is_shutdown
    assert results(domu, va, 2) == [0, 0xEEEE]
