"""Tiny guest kernels, XTF style: each makes the hypercalls of one family with `hcall`
(through the runtime's wrappers) and reports "<name>: SUCCESS" or the number of the
check that failed on its console, then powers off."""

import pytest

from paravisor.testing.guests import load_guest
from paravisor.testing.host import Host

PROLOGUE = """
        .include "runtime.s"
        .include "xtf.s"
        .text
        .global kmain
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
"""

EPILOGUE = """
        li    s0, 0
fail:   mv    a0, s0
        la    a1, name
        call  xtf_report
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret
        .rodata
name:   .asciz "{name}"
        .data
        .balign 8
buf:    .space 256
"""

# check(n, expected): fail with check number n unless a0 == expected (uses t1)
CHECK = """
        li    s0, {n}
        li    t1, {expected}
        bne   a0, t1, fail
"""

KERNELS = {
    "version": """
        li    a0, XENVER_version
        li    a1, 0
        call  HYPERVISOR_xen_version
        {check1}
        li    a0, XENVER_pagesize
        li    a1, 0
        call  HYPERVISOR_xen_version
        {check2}
        li    a0, XENVER_extraversion
        li    a1, 8                     # page 0 is never mapped
        call  HYPERVISOR_xen_version
        {check3}
""",
    "memory": """
        li    a0, XENMEM_maximum_reservation
        la    a1, buf
        li    t1, DOMID_SELF
        sh    t1, 0(a1)
        call  HYPERVISOR_memory_op
        {check1}
        la    a1, buf                    # a reservation for another domain: -EPERM
        sw    zero, XEN_MEMORY_RESERVATION_EXTENT_START(a1)
        li    t1, 1
        sw    t1, XEN_MEMORY_RESERVATION_NR_EXTENTS(a1)
        sw    zero, XEN_MEMORY_RESERVATION_EXTENT_ORDER(a1)
        sw    zero, XEN_MEMORY_RESERVATION_MEM_FLAGS(a1)
        sh    zero, XEN_MEMORY_RESERVATION_DOMID(a1)
        li    a0, XENMEM_increase_reservation
        call  HYPERVISOR_memory_op
        {check2}
        li    a0, 99
        li    a1, 0
        call  HYPERVISOR_memory_op
        {check3}
""",
    "mmuext": """
        la    a0, buf
        li    t1, MMUEXT_TLB_FLUSH_LOCAL
        sw    t1, MMUEXT_OP_CMD(a0)
        li    a1, 1
        la    a2, buf + 64               # success_count
        li    a3, DOMID_SELF
        call  HYPERVISOR_mmuext_op
        {check1}
        la    t1, buf + 64
        lw    a0, 0(t1)
        {check2}
        li    a0, 8
        li    a1, 1
        li    a2, 0
        li    a3, DOMID_SELF
        call  HYPERVISOR_mmuext_op
        {check3}
""",
    "multicall": """
        la    t1, buf                    # two xen_version calls in one batch
        li    t2, __HYPERVISOR_xen_version
        sw    t2, MULTICALL_ENTRY_OP(t1)
        li    t2, XENVER_pagesize
        sw    t2, MULTICALL_ENTRY_ARGS(t1)
        li    t2, __HYPERVISOR_iret      # refused inside a batch
        sw    t2, MULTICALL_ENTRY_SIZE + MULTICALL_ENTRY_OP(t1)
        li    t0, __HYPERVISOR_multicall
        la    a0, buf
        li    a1, 2
        hcall
        {check1}
        la    t1, buf
        lw    a0, MULTICALL_ENTRY_RESULT(t1)
        {check2}
        la    t1, buf                    # (the check used t1)
        lw    a0, MULTICALL_ENTRY_SIZE + MULTICALL_ENTRY_RESULT(t1)
        {check3}
""",
    "vcpu": """
        li    a0, VCPUOP_is_up
        li    a1, 0
        li    a2, 0
        call  HYPERVISOR_vcpu_op
        {check1}
        li    a0, VCPUOP_is_up
        li    a1, 5
        li    a2, 0
        call  HYPERVISOR_vcpu_op
        {check2}
        li    a0, 0                      # set_timer_op(0, 0) cancels
        li    a1, 0
        call  HYPERVISOR_set_timer_op
        {check3}
""",
    "ctl_eperm": """
        la    a0, buf
        call  HYPERVISOR_domctl
        {check1}
        la    a0, buf
        call  HYPERVISOR_sysctl
        {check2}
        li    a0, 0
        {check3}
""",
}

EXPECTED = {
    "version": ["(4 << 16) | 20", "PAGE_SIZE", "-EFAULT"],
    "memory": [None, "-EPERM", "-ENOSYS"],
    "mmuext": ["0", "1", "-EFAULT"],
    "multicall": ["0", "PAGE_SIZE", "-EINVAL"],
    "vcpu": ["1", "-ENOENT", "0"],
    "ctl_eperm": ["-EPERM", "-EPERM", "0"],
}


def kernel(name: str, max_pages: int) -> str:
    values = [str(max_pages) if e is None else e for e in EXPECTED[name]]
    checks = {f"check{i + 1}": CHECK.format(n=i + 1, expected=v) for i, v in enumerate(values)}
    return PROLOGUE + KERNELS[name].format(**checks) + EPILOGUE.format(name=name)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_guest_kernel(name):
    host = Host(host_mib=8)
    memory_mib = 1
    guest = load_guest(host, kernel(name, memory_mib * 256), name=name, memory_mib=memory_mib)
    host.hv.unpause(guest.dom)
    host.hv.run(max_ns=50_000_000, until=lambda: guest.dom.is_shutdown)
    lines = host.output(guest.dom)
    assert f"{name}: SUCCESS" in lines, "\n".join(lines)
    assert guest.dom.shutdown_code == 0
