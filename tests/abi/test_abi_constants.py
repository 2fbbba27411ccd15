"""Constants against the values in Xen's public headers (xen/include/public/), and the
virtual-time helpers."""

import pytest

from paravisor import abi
from paravisor.abi import Hypercall
from paravisor.abi.errno import Errno


def test_hypercall_numbers_cover_xen_0_to_42_and_the_arch_range():
    assert sorted(int(h) for h in Hypercall) == [*range(0, 11), *range(12, 43),
                                                  *range(48, 56)]


@pytest.mark.parametrize("name, number", [
    ("set_trap_table", 0), ("mmu_update", 1), ("set_callbacks", 4), ("memory_op", 12),
    ("multicall", 13), ("update_va_mapping", 14), ("set_timer_op", 15),
    ("xen_version", 17), ("console_io", 18), ("grant_table_op", 20), ("iret", 23),
    ("vcpu_op", 24), ("mmuext_op", 26), ("sched_op", 29), ("callback_op", 30),
    ("event_channel_op", 32), ("sysctl", 35), ("domctl", 36), ("hypfs_op", 42),
    ("arch_0", 48), ("arch_7", 55),
])
def test_hypercall_numbers_are_xens(name, number):
    assert Hypercall[name] == number


def test_sub_operations_are_xens():
    assert [abi.SCHEDOP_yield, abi.SCHEDOP_block, abi.SCHEDOP_shutdown, abi.SCHEDOP_poll,
            abi.SCHEDOP_remote_shutdown, abi.SCHEDOP_shutdown_code, abi.SCHEDOP_watchdog,
            abi.SCHEDOP_pin_override] == list(range(8))
    assert [abi.SHUTDOWN_poweroff, abi.SHUTDOWN_reboot, abi.SHUTDOWN_suspend,
            abi.SHUTDOWN_crash, abi.SHUTDOWN_watchdog] == list(range(5))
    assert (abi.VCPUOP_set_periodic_timer, abi.VCPUOP_stop_singleshot_timer) == (6, 9)
    assert (abi.XENMEM_populate_physmap, abi.XENMEM_maximum_reservation) == (6, 4)
    assert (abi.MMU_NORMAL_PT_UPDATE, abi.MMU_MACHPHYS_UPDATE) == (0, 1)
    assert (abi.MMUEXT_NEW_BASEPTR, abi.MMUEXT_INVLPG_ALL, abi.MMUEXT_SET_LDT) == (5, 11, 13)
    assert (abi.UVMF_INVLPG, abi.UVMF_ALL, abi.UVMF_LOCAL) == (2, 4, 0)
    assert (abi.CONSOLEIO_write, abi.CONSOLEIO_read) == (0, 1)
    assert (abi.CALLBACKTYPE_event, abi.CALLBACKTYPE_failsafe) == (0, 1)


def test_event_channel_numbers_are_xens():
    assert [abi.EVTCHNOP_bind_interdomain, abi.EVTCHNOP_bind_virq, abi.EVTCHNOP_bind_pirq,
            abi.EVTCHNOP_close, abi.EVTCHNOP_send, abi.EVTCHNOP_status,
            abi.EVTCHNOP_alloc_unbound, abi.EVTCHNOP_bind_ipi, abi.EVTCHNOP_bind_vcpu,
            abi.EVTCHNOP_unmask, abi.EVTCHNOP_reset] == list(range(11))
    assert [abi.EVTCHNSTAT_closed, abi.EVTCHNSTAT_unbound, abi.EVTCHNSTAT_interdomain,
            abi.EVTCHNSTAT_pirq, abi.EVTCHNSTAT_virq, abi.EVTCHNSTAT_ipi] == list(range(6))
    assert (abi.VIRQ_TIMER, abi.VIRQ_DEBUG, abi.VIRQ_CONSOLE, abi.VIRQ_DOM_EXC) == (0, 1, 2, 3)
    assert (abi.VIRQ_ARCH_0, abi.VIRQ_ARCH_7, abi.NR_VIRQS) == (16, 23, 24)


def test_grant_table_numbers_are_xens():
    assert (abi.GNTTABOP_map_grant_ref, abi.GNTTABOP_setup_table, abi.GNTTABOP_copy,
            abi.GNTTABOP_query_size, abi.GNTTABOP_cache_flush) == (0, 2, 5, 6, 12)
    assert (abi.GNTST_okay, abi.GNTST_general_error, abi.GNTST_permission_denied,
            abi.GNTST_bad_copy_arg, abi.GNTST_eagain, abi.GNTST_no_space) == (
                0, -1, -8, -10, -12, -13)
    assert (abi.GTF_permit_access, abi.GTF_accept_transfer, abi.GTF_transitive) == (1, 2, 3)
    assert (abi.GTF_readonly, abi.GTF_reading, abi.GTF_writing, abi.GTF_sub_page) == (
        4, 8, 16, 256)
    assert (abi.GNTMAP_device_map, abi.GNTMAP_host_map, abi.GNTMAP_readonly,
            abi.GNTMAP_application_map, abi.GNTMAP_contains_pte) == (1, 2, 4, 8, 16)


def test_domain_ids_flags_and_control_numbers_are_xens():
    assert (abi.DOMID_SELF, abi.DOMID_IO, abi.DOMID_XEN, abi.DOMID_INVALID) == (
        0x7FF0, 0x7FF1, 0x7FF2, 0x7FF4)
    assert (abi.SIF_PRIVILEGED, abi.SIF_INITDOMAIN) == (1, 2)
    assert (abi.XEN_DOMCTL_createdomain, abi.XEN_DOMCTL_getdomaininfo,
            abi.XEN_DOMCTL_max_mem, abi.XEN_DOMCTL_setvcpucontext,
            abi.XEN_DOMCTL_max_vcpus, abi.XEN_DOMCTL_scheduler_op) == (1, 5, 11, 12, 15, 16)
    assert (abi.XEN_DOMCTL_SCHEDOP_putinfo, abi.XEN_DOMCTL_SCHEDOP_getinfo) == (0, 1)
    assert (abi.XEN_SYSCTL_physinfo, abi.XEN_SYSCTL_sched_id,
            abi.XEN_SYSCTL_getdomaininfolist) == (3, 4, 6)
    assert abi.XEN_SCHEDULER_CREDIT == 5
    assert (abi.XEN_DOMINF_shutdownshift, abi.XEN_DOMINF_shutdownmask) == (16, 255)
    assert (abi.XEN_ELFNOTE_ENTRY, abi.XEN_ELFNOTE_HYPERCALL_PAGE,
            abi.XEN_ELFNOTE_GUEST_OS) == (1, 2, 6)


def test_io_numbers_are_xens():
    assert [int(s) for s in abi.XenbusState] == list(range(9))
    assert (abi.XS_DIRECTORY, abi.XS_READ, abi.XS_WATCH, abi.XS_TRANSACTION_END,
            abi.XS_WRITE, abi.XS_WATCH_EVENT, abi.XS_ERROR) == (1, 2, 4, 7, 11, 15, 16)
    assert (abi.XENSTORE_PAYLOAD_MAX, abi.XENSTORE_ABS_PATH_MAX) == (4096, 3072)
    assert (abi.BLKIF_OP_READ, abi.BLKIF_OP_WRITE, abi.BLKIF_OP_FLUSH_DISKCACHE,
            abi.BLKIF_OP_DISCARD, abi.BLKIF_OP_INDIRECT) == (0, 1, 3, 5, 6)
    assert abi.BLKIF_MAX_SEGMENTS_PER_REQUEST == 11
    assert (abi.BLKIF_RSP_OKAY, abi.BLKIF_RSP_ERROR, abi.BLKIF_RSP_EOPNOTSUPP) == (0, -1, -2)
    assert (abi.XENCONS_IN_SIZE, abi.XENCONS_OUT_SIZE) == (1024, 2048)
    assert abi.XEN_NETIF_MAX_TX_SIZE == 0xFFFF
    assert all(name in Errno.__members__ for name in abi.XSD_ERRORS)


def test_every_exported_constant_name_has_one_value():
    seen = {}
    for group, prefix in abi.CONSTANT_GROUPS:
        for name, member in group.__members__.items():
            full = prefix + name
            assert seen.setdefault(full, int(member)) == int(member), full
            if group is not Hypercall:
                assert getattr(abi, name) == member


def test_errno_is_reexported_not_duplicated():
    assert abi.Errno is Errno
    assert (abi.EFAULT, abi.ENOSYS) == (14, 38)


def test_virtual_time_is_ten_ns_per_instruction():
    assert abi.NOMINAL_CLOCK_HZ == 100_000_000
    assert abi.instructions_to_ns(3) == 30
    assert abi.ns_to_instructions(30) == 3
    assert abi.ns_to_instructions(31) == 4          # a timer never fires early
    assert abi.ns_to_instructions(0) == 0


def test_machine_constants_come_from_the_isa_table():
    machine = abi.SCALAR_CONSTANTS["machine (from the PV32 ISA table)"]
    assert machine["PAGE_SIZE"] == abi.table.PAGE_SIZE == 4096
    assert machine["PTE_P"] == abi.table.PTE_P
    assert machine["TRAP_VEC_PAGE_FAULT"] == abi.table.Vector.PAGE_FAULT == 14
    assert abi.BOUNCE_VECTOR_EVENT >= abi.NR_TRAP_VECTORS
