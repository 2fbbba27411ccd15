"""The grant-table XSA classes, and the lifetime rules: revocation, page-table edits of a
grant mapping, and the destruction of the granting or the mapping domain."""

import pytest

from paravisor.abi import Gntmap, Gntst, GnttabMisc, Gtf
from paravisor.abi.errno import Errno
from paravisor.grants import map_grant
from paravisor.isa.table import PAGE_SHIFT, PTE_A, PTE_D, PTE_P, PTE_W
from paravisor.mm.invariants import verify
from paravisor.mm.pagetable import read_table
from paravisor.mm.pv_mmu import update_va_mapping
from paravisor.mm.reservation import decrease_reservation
from paravisor.testing.grant_harness import GrantWorld

RO = Gntmap.GNTMAP_host_map | Gntmap.GNTMAP_readonly
READING, WRITING = Gtf.GTF_reading, Gtf.GTF_writing


@pytest.fixture
def world():
    return GrantWorld()


def counts(world):
    return [(p.count, p.type_count) for p in world.hv.mm.frames]


def table_entries(world, guest):
    """Every entry of the guest's tables, accessed/dirty bits aside (translating the
    hypercall's own argument pointer sets them, as the guest's access would)."""
    return {mfn: [pte & ~(PTE_A | PTE_D) for pte in read_table(world.hv.mm, mfn)]
            for mfn in guest.dom.mem.pages if world.hv.mm.frames[mfn].is_table}


def test_xsa_224_a_handle_is_unmapped_once(world):
    """XSA-224: a second unmap of the same mapping must not drop a reference again."""
    a, b = world.guests
    frame = world.fresh_frame(a)
    ref = world.grant(a, b, frame)
    service = map_grant(world.hv, world.dom0.dom, a.dom.domid,
                        world.grant(a, world.dom0, frame, ref=9))
    va = world.free_va(b)
    status, handle = world.map(b, a, ref, va)
    assert status == Gntst.GNTST_okay
    assert world.unmap(b, va, handle) == Gntst.GNTST_okay
    after_first = counts(world)
    assert world.unmap(b, va, handle) == Gntst.GNTST_bad_handle
    assert counts(world) == after_first
    assert world.hv.mm.frames[frame].count == 2          # allocation + the service map
    assert service.read(0, 4) == bytes(4)
    service.unmap()
    verify(world.hv.mm)


def test_xsa_224_no_device_maps_to_double_count(world):
    """The host+device double mapping of XSA-224 cannot be made: device_map is refused."""
    a, b = world.guests
    ref = world.grant(a, b, world.fresh_frame(a))
    flags = Gntmap.GNTMAP_host_map | Gntmap.GNTMAP_device_map
    before = counts(world)
    assert world.map(b, a, ref, world.free_va(b), flags)[0] == Gntst.GNTST_general_error
    assert counts(world) == before


def test_handles_are_not_reused(world):
    a, b = world.guests
    ref = world.grant(a, b, world.fresh_frame(a))
    va = world.free_va(b)
    _, first = world.map(b, a, ref, va)
    world.unmap(b, va, first)
    _, second = world.map(b, a, ref, va)
    assert second != first
    assert world.unmap(b, va, first) == Gntst.GNTST_bad_handle
    assert world.unmap(b, va + 4096, second) == Gntst.GNTST_general_error   # wrong addr
    assert world.unmap(b, va, second) == Gntst.GNTST_okay


@pytest.mark.parametrize("host_addr", [0x1004, 0x0000_0FFF, 0xFFFF_F000, 0x4000_0002])
def test_xsa_227_bogus_host_addr_is_rejected_without_touching_the_l1(world, host_addr):
    """XSA-227: a misaligned (or unmapped) host address never writes a page table."""
    a, b = world.guests
    frame = world.fresh_frame(a)
    ref = world.grant(a, b, frame)
    tables = table_entries(world, b)
    before = counts(world)
    assert world.map(b, a, ref, host_addr)[0] == Gntst.GNTST_bad_virt_addr
    assert counts(world) == before
    assert table_entries(world, b) == tables
    assert world.flags(a, ref) == Gtf.GTF_permit_access
    verify(world.hv.mm)


def test_xsa_236_cve_2017_12855_flags_clear_only_with_the_last_user(world):
    """GTF_writing goes with the last writable pin, GTF_reading with the last pin; a copy
    in between leaves both as the mappings need them."""
    a, b = world.guests
    frame = world.fresh_frame(a)
    ref = world.grant(a, b, frame)
    va_rw, va_ro = world.free_va(b), world.free_va(b)
    _, rw = world.map(b, a, ref, va_rw)
    _, ro = world.map(b, a, ref, va_ro, RO)
    assert world.flags(a, ref) & (READING | WRITING) == READING | WRITING
    dst = world.fresh_frame(b)
    status = world.copy(b, {"ref": ref, "domid": a.dom.domid},
                        {"gmfn": dst, "domid": 0x7FF0}, 16, GnttabMisc.GNTCOPY_source_gref)
    assert status == Gntst.GNTST_okay
    assert world.flags(a, ref) & (READING | WRITING) == READING | WRITING
    world.unmap(b, va_rw, rw)
    assert world.flags(a, ref) & (READING | WRITING) == READING
    assert not world.end_access(a, ref)                 # still read-mapped
    world.unmap(b, va_ro, ro)
    assert world.flags(a, ref) & (READING | WRITING) == 0
    assert world.end_access(a, ref)
    verify(world.hv.mm)


def test_a_guest_cannot_copy_a_grant_mapping_with_mmu_update(world):
    a, b = world.guests
    frame = world.fresh_frame(a)
    ref = world.grant(a, b, frame)
    va = world.free_va(b)
    world.map(b, a, ref, va)
    other = world.free_va(b)
    pte = (frame << PAGE_SHIFT) | PTE_P | PTE_W
    rc = update_va_mapping(world.hv.mm, b.dom.mem, b.vcpu.cpu, other, pte, 0)
    assert rc == -Errno.EINVAL
    # Changing only the accessed bit of the grant entry itself is fine (the whitelist).
    keep = world.l1_entry(b, va) ^ PTE_A
    assert update_va_mapping(world.hv.mm, b.dom.mem, b.vcpu.cpu, va, keep, 0) == 0
    verify(world.hv.mm)


def test_guest_clearing_its_grant_pte_then_unmapping_is_consistent(world):
    a, b = world.guests
    frame = world.fresh_frame(a)
    ref = world.grant(a, b, frame)
    va = world.free_va(b)
    _, handle = world.map(b, a, ref, va)
    assert update_va_mapping(world.hv.mm, b.dom.mem, b.vcpu.cpu, va, 0, 0) == 0
    verify(world.hv.mm)                                  # the grant still pins the frame
    assert world.unmap(b, va, handle) == Gntst.GNTST_okay
    assert world.hv.mm.frames[frame].count == 1
    verify(world.hv.mm)


def test_destroying_the_granter_keeps_mapped_frames_until_unmapped(world):
    a, b = world.guests
    frame = world.fresh_frame(a)
    world.hv.memory.write(frame << PAGE_SHIFT, b"still here")
    mapping = map_grant(world.hv, world.dom0.dom, a.dom.domid,
                        world.grant(a, world.dom0, frame))
    va = world.free_va(b)
    _, handle = world.map(b, a, world.grant(a, b, frame, ref=9), va, RO)
    domid = a.dom.domid
    world.hv.destroy(a.dom)
    verify(world.hv.mm)
    assert world.hv.mm.frames[frame].owner == domid
    assert domid in world.hv.mm.domains                # kept while a frame is referenced
    assert mapping.read(0, 10) == b"still here"
    mapping.unmap()
    assert world.unmap(b, va, handle) == Gntst.GNTST_okay
    assert world.hv.mm.is_free(frame)
    assert domid not in world.hv.mm.domains
    assert domid not in world.hv.grants.tables
    verify(world.hv.mm)


def test_destroying_the_mapper_releases_its_mappings_first(world):
    a, b = world.guests
    frame = world.fresh_frame(a)
    ref = world.grant(a, b, frame)
    world.map(b, a, ref, world.free_va(b))
    assert decrease_reservation(world.hv.mm, a.dom.mem, [frame]) == 0
    world.hv.destroy(b.dom)
    verify(world.hv.mm)
    assert world.flags(a, ref) == Gtf.GTF_permit_access
    assert world.end_access(a, ref)
    assert world.hv.mm.frames[frame].count == 1
    assert decrease_reservation(world.hv.mm, a.dom.mem, [frame]) == 1
    verify(world.hv.mm)


def test_a_foreign_entry_needs_a_live_grant_as_authority(world):
    from paravisor.mm.external import record_grant_map
    from paravisor.mm.pagetable import mod_l1_entry_grant
    a, b = world.guests
    frame = world.fresh_frame(a)
    table_mfn, index = divmod(b.l1_entry_maddr(world.free_va(b)), 4096)
    pte = (frame << PAGE_SHIFT) | PTE_P
    before = counts(world)
    assert mod_l1_entry_grant(world.hv.mm, table_mfn, index // 4, pte) == -Errno.EINVAL
    record_grant_map(world.hv.mm, b.dom.domid, frame, writable=False)   # a read-only grant
    assert mod_l1_entry_grant(world.hv.mm, table_mfn, index // 4, pte | PTE_W) \
        == -Errno.EINVAL
    assert counts(world) == before
