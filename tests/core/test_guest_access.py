"""copy_{to,from}_guest act with the guest kernel's own rights (no confused deputy)."""

import pytest

from paravisor.abi import START_INFO
from paravisor.domain.guest_access import GuestMemoryError, copy_from_guest, copy_to_guest
from paravisor.isa.table import PAGE_SIZE


def test_reads_and_writes_go_through_the_guest_page_tables(host):
    dom = host.guest()
    cpu = dom.vcpus[0].cpu
    si = dom.start_info_va
    magic = copy_from_guest(host.hv.memory, cpu, si + START_INFO.offset("magic"), 9)
    assert magic == b"paravisor"
    stack_top = cpu.regs[2]
    copy_to_guest(host.hv.memory, cpu, stack_top - 8, b"\x01\x02\x03\x04\x05\x06\x07\x08")
    assert copy_from_guest(host.hv.memory, cpu, stack_top - 8, 8) == bytes(range(1, 9))


def test_a_copy_across_a_page_boundary_is_split_correctly(host):
    dom = host.guest()
    cpu = dom.vcpus[0].cpu
    va = dom.start_info_va + PAGE_SIZE - 3      # start_info page into the console page
    copy_to_guest(host.hv.memory, cpu, va, b"abcdef")
    assert copy_from_guest(host.hv.memory, cpu, va, 6) == b"abcdef"


def test_writing_a_read_only_page_table_on_the_guests_behalf_is_refused(host):
    dom = host.guest()
    cpu = dom.vcpus[0].cpu
    pt_base = START_INFO.unpack(copy_from_guest(host.hv.memory, cpu, dom.start_info_va,
                                                START_INFO.size))["pt_base"]
    before = copy_from_guest(host.hv.memory, cpu, pt_base, 16)
    with pytest.raises(GuestMemoryError):
        copy_to_guest(host.hv.memory, cpu, pt_base, b"\xff" * 16)
    assert copy_from_guest(host.hv.memory, cpu, pt_base, 16) == before


def test_unmapped_and_wrapping_addresses_fault(host):
    dom = host.guest()
    cpu = dom.vcpus[0].cpu
    with pytest.raises(GuestMemoryError):
        copy_from_guest(host.hv.memory, cpu, 0, 4)          # page 0 is never mapped
    with pytest.raises(GuestMemoryError):
        copy_from_guest(host.hv.memory, cpu, 0xFFFF_FFFE, 4)  # would wrap past 4 GiB


def test_a_failed_multi_page_write_changes_nothing(host):
    dom = host.guest()
    cpu = dom.vcpus[0].cpu
    stack_top = cpu.regs[2]   # the page above the stack is the read-only page table
    before = copy_from_guest(host.hv.memory, cpu, stack_top - 4, 4)
    with pytest.raises(GuestMemoryError):
        copy_to_guest(host.hv.memory, cpu, stack_top - 4, b"\xee" * 8)
    assert copy_from_guest(host.hv.memory, cpu, stack_top - 4, 4) == before
