"""memory_op (12): reservations (increase, populate_physmap, decrease), the reservation
queries and maximum_ram_page, through dispatch with the arguments in guest memory."""

from paravisor.abi import (
    DOMID_SELF,
    MEMOP_EXTENT_SHIFT,
    XEN_MEMORY_RESERVATION,
    Hypercall,
    XENMEM_current_reservation,
    XENMEM_decrease_reservation,
    XENMEM_exchange,
    XENMEM_increase_reservation,
    XENMEM_maximum_ram_page,
    XENMEM_maximum_reservation,
    XENMEM_populate_physmap,
)
from paravisor.abi.errno import Errno
from paravisor.mm.invariants import verify
from paravisor.testing.guests import mm_state

MEM = Hypercall.memory_op
TEXT_VA = 0x10000        # read-only kernel code


def reservation(guest, cmd, entries, domid=DOMID_SELF, order=0, nr=None):
    array = guest.put_words(entries) if entries is not None else 0
    count = len(entries) if nr is None else nr
    arg = guest.put(XEN_MEMORY_RESERVATION, extent_start=array, nr_extents=count,
                    extent_order=order, domid=domid)
    return guest.call(MEM, cmd, arg), array


def domid_arg(guest, domid):
    va = guest.alloc(2)
    guest.write(va, domid.to_bytes(2, "little"))
    return va


def test_increase_reservation_writes_the_new_mfns(domu):
    mem = domu.dom.mem
    mem.max_pages = mem.tot_pages + 3
    before = mem.tot_pages
    done, array = reservation(domu, XENMEM_increase_reservation, [0, 0, 0])
    assert done == 3
    mfns = domu.words(array, 3)
    assert all(domu.hv.mm.frames[m].owner == domu.dom.domid for m in mfns)
    assert mem.tot_pages == before + 3
    verify(domu.hv.mm)


def test_increase_reservation_stops_at_max_pages(domu):
    mem = domu.dom.mem
    mem.max_pages = mem.tot_pages + 1
    done, array = reservation(domu, XENMEM_increase_reservation, [7, 7])
    assert done == 1
    assert domu.words(array, 2)[1] == 7          # the extent not done is left alone


def test_increase_reservation_without_an_array(domu):
    domu.dom.mem.max_pages += 2
    done, _ = reservation(domu, XENMEM_increase_reservation, None, nr=2)
    assert done == 2


def test_populate_physmap_sets_the_m2p_to_the_guest_pfn(domu):
    domu.dom.mem.max_pages += 2
    done, array = reservation(domu, XENMEM_populate_physmap, [0x500, 0x501])
    assert done == 2
    mfns = domu.words(array, 2)
    assert [domu.hv.mm.m2p[m] for m in mfns] == [0x500, 0x501]


def test_decrease_reservation_frees_unused_frames_and_stops_at_a_busy_one(domu):
    mem = domu.dom.mem
    mem.max_pages += 2
    _, array = reservation(domu, XENMEM_increase_reservation, [0, 0])
    fresh = domu.words(array, 2)
    in_use = mem.guest_table[0]                    # the L2 the vCPU runs on
    done, _ = reservation(domu, XENMEM_decrease_reservation, [fresh[0], in_use, fresh[1]])
    assert done == 1
    assert domu.hv.mm.is_free(fresh[0]) and not domu.hv.mm.is_free(fresh[1])
    verify(domu.hv.mm)


def test_unsupported_extent_order_does_nothing(domu):
    domu.dom.mem.max_pages += 4
    array = domu.put_words([0])
    arg = domu.put(XEN_MEMORY_RESERVATION, extent_start=array, nr_extents=1,
                   extent_order=1, domid=DOMID_SELF)
    before = mm_state(domu.hv.mm)
    assert domu.call(MEM, XENMEM_increase_reservation, arg) == 0
    assert mm_state(domu.hv.mm) == before


def test_domu_cannot_name_another_domain(domu, dom0):
    dom0.dom.mem.max_pages += 1
    arg = domu.put(XEN_MEMORY_RESERVATION, nr_extents=1, domid=dom0.dom.domid)
    query = domid_arg(domu, 0)
    before = mm_state(domu.hv.mm)
    assert domu.call(MEM, XENMEM_increase_reservation, arg) == -Errno.EPERM
    assert domu.call(MEM, XENMEM_current_reservation, query) == -Errno.EPERM
    assert mm_state(domu.hv.mm) == before


def test_dom0_grows_a_domu_and_a_missing_domain_is_esrch(dom0, domu):
    domu.dom.mem.max_pages += 1
    done, array = reservation(dom0, XENMEM_increase_reservation, [0], domid=domu.dom.domid)
    assert done == 1
    assert domu.hv.mm.frames[dom0.words(array, 1)[0]].owner == domu.dom.domid
    done, _ = reservation(dom0, XENMEM_increase_reservation, [0], domid=77)
    assert done == -Errno.ESRCH


def test_bad_pointers_are_efault_and_change_nothing(domu):
    domu.dom.mem.max_pages += 4
    read_only = domu.put(XEN_MEMORY_RESERVATION, extent_start=TEXT_VA, nr_extents=2,
                         domid=DOMID_SELF)
    unmapped = domu.put(XEN_MEMORY_RESERVATION, extent_start=0x1000, nr_extents=1,
                        domid=DOMID_SELF)
    before = mm_state(domu.hv.mm)
    assert domu.call(MEM, XENMEM_increase_reservation, 0) == -Errno.EFAULT
    for cmd in (XENMEM_increase_reservation, XENMEM_populate_physmap):
        assert domu.call(MEM, cmd, read_only) == -Errno.EFAULT   # array not writable
    assert domu.call(MEM, XENMEM_decrease_reservation, unmapped) == -Errno.EFAULT
    assert domu.call(MEM, XENMEM_current_reservation, 0x1000) == -Errno.EFAULT
    assert mm_state(domu.hv.mm) == before


def test_reservation_queries(domu):
    mem = domu.dom.mem
    arg = domid_arg(domu, DOMID_SELF)
    assert domu.call(MEM, XENMEM_current_reservation, arg) == mem.tot_pages
    assert domu.call(MEM, XENMEM_maximum_reservation, arg) == mem.max_pages
    assert domu.call(MEM, XENMEM_maximum_ram_page, 0) == domu.hv.mm.nframes - 1


def test_unknown_and_unimplemented_commands_are_enosys(domu):
    assert domu.call(MEM, XENMEM_exchange, 0) == -Errno.ENOSYS
    # Only the reservation ops take a start extent (a continuation) in cmd's high bits.
    arg = domid_arg(domu, DOMID_SELF)
    assert domu.call(MEM, (1 << MEMOP_EXTENT_SHIFT) | XENMEM_current_reservation, arg) \
        == -Errno.ENOSYS
