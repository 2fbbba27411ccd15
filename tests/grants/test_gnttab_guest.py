"""A tiny guest kernel sets up its grant table as Mini-OS does (GNTTABOP_setup_table, then
map the returned frame with update_va_mapping), writes a message into one of its pages and
grants that page to dom0; dom0's service API then reads the message through the grant."""

import pytest

from paravisor.abi import Gtf
from paravisor.grants import GrantError, map_grant
from paravisor.mm.invariants import verify
from paravisor.testing.guests import api_guest, load_guest
from paravisor.testing.host import Host

GRANT_REF = 8
MESSAGE = b"granted!"

KERNEL = f"""
        .include "runtime.s"
        .text
        .global kmain
kmain:
        addi  sp, sp, -8
        sw    ra, 4(sp)
        la    a1, setup                  # setup_table(DOMID_SELF, 1 frame, flist)
        li    t1, DOMID_SELF
        sh    t1, GNTTAB_SETUP_TABLE_DOM(a1)
        li    t1, 1
        sw    t1, GNTTAB_SETUP_TABLE_NR_FRAMES(a1)
        la    t1, flist
        sw    t1, GNTTAB_SETUP_TABLE_FRAME_LIST(a1)
        li    t0, __HYPERVISOR_grant_table_op
        li    a0, GNTTABOP_setup_table
        li    a2, 1
        hcall
        li    s0, 1
        bnez  a0, out
        la    a1, setup
        lh    t1, GNTTAB_SETUP_TABLE_STATUS(a1)
        li    s0, 2
        bnez  t1, out
        la    t1, flist                  # map the table frame at gnttab_page
        lw    a1, 0(t1)
        slli  a1, a1, PAGE_SHIFT
        ori   a1, a1, PTE_P | PTE_W
        la    a0, gnttab_page
        li    a2, UVMF_INVLPG | UVMF_LOCAL
        call  HYPERVISOR_update_va_mapping
        li    s0, 3
        bnez  a0, out
        la    t2, shared_page            # the message
        li    t1, {int.from_bytes(MESSAGE[:4], "little")}
        sw    t1, 0(t2)
        li    t1, {int.from_bytes(MESSAGE[4:], "little")}
        sw    t1, 4(t2)
        la    a0, shared_page
        call  virt_to_mfn
        la    t2, gnttab_page + {GRANT_REF} * GRANT_ENTRY_V1_SIZE
        sw    a0, GRANT_ENTRY_V1_FRAME(t2)
        sh    zero, GRANT_ENTRY_V1_DOMID(t2)
        li    t1, GTF_permit_access | GTF_readonly   # flags last: the entry goes live
        sh    t1, GRANT_ENTRY_V1_FLAGS(t2)
        li    s0, 0
out:    mv    a0, s0
        lw    ra, 4(sp)
        addi  sp, sp, 8
        ret
        .data
        .balign 8
setup:  .space GNTTAB_SETUP_TABLE_SIZE
flist:  .space 4
        .bss
        .balign 4096
gnttab_page:
        .space 4096
shared_page:
        .space 4096
"""


def test_guest_grants_a_page_and_dom0_reads_it():
    host = Host(host_mib=8)
    dom0 = api_guest(host, privileged=True, domid=0)
    guest = load_guest(host, KERNEL, name="granter", memory_mib=1)
    host.hv.unpause(guest.dom)
    host.hv.run(max_ns=50_000_000, until=lambda: guest.dom.is_shutdown)
    assert guest.dom.shutdown_code == 0, host.output(guest.dom)
    mapping = map_grant(host.hv, dom0.dom, guest.dom.domid, GRANT_REF, readonly=True)
    assert mapping.read(0, len(MESSAGE)) == MESSAGE
    with pytest.raises(GrantError):                                   # asks for writable
        map_grant(host.hv, dom0.dom, guest.dom.domid, GRANT_REF)
    table = guest.symbols["gnttab_page"]
    flags = int.from_bytes(guest.read(table + 8 * GRANT_REF, 2), "little")
    assert flags == Gtf.GTF_permit_access | Gtf.GTF_readonly | Gtf.GTF_reading
    verify(host.hv.mm)
    mapping.unmap()
    verify(host.hv.mm)
