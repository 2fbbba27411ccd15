"""GNTTABOP_* one by one: setup_table, query_size, versions, map/unmap, the service API,
copy, and their GNTST_* / errno results (grant_table.h)."""

import pytest

from paravisor.abi import (
    GNTTAB_GET_VERSION,
    GNTTAB_QUERY_SIZE,
    GNTTAB_SET_VERSION,
    Gntmap,
    Gntst,
    GnttabMisc,
    GNTTABOP_dump_table,
    GNTTABOP_get_version,
    GNTTABOP_query_size,
    GNTTABOP_set_version,
    Gtf,
    Hypercall,
)
from paravisor.abi.errno import Errno
from paravisor.grants import GrantError, map_grant
from paravisor.isa.table import PAGE_SHIFT, PTE_P, PTE_W, pte_frame
from paravisor.mm.frametable import PageType
from paravisor.mm.invariants import verify
from paravisor.mm.pv_mmu import pin_table
from paravisor.mm.reservation import decrease_reservation
from paravisor.testing.grant_harness import GrantWorld

SRC = GnttabMisc.GNTCOPY_source_gref
DST = GnttabMisc.GNTCOPY_dest_gref


@pytest.fixture
def world():
    return GrantWorld()


def test_setup_table_grows_to_the_limit_and_returns_shared_frames(world):
    a, _ = world.guests
    rc, status, frames = world.setup_table(a, 4)
    assert (rc, status) == (0, Gntst.GNTST_okay)
    assert len(set(frames)) == 4
    for mfn in frames:
        assert world.hv.mm.frames[mfn].shared_with[a.dom.domid] is True
    rc, status, _ = world.setup_table(a, 65)       # over the default max_grant_frames
    assert (rc, status) == (0, Gntst.GNTST_general_error)
    verify(world.hv.mm)


def test_setup_table_for_another_domain_needs_privilege(world):
    a, b = world.guests
    assert world.setup_table(a, 1, dom=b.dom.domid)[1] == Gntst.GNTST_bad_domain
    assert world.setup_table(world.dom0, 2, dom=b.dom.domid)[1] == Gntst.GNTST_okay


def test_query_size_reports_current_and_maximum(world):
    a, _ = world.guests
    world.setup_table(a, 3)
    op = a.put(GNTTAB_QUERY_SIZE, dom=0x7FF0)
    assert a.call(Hypercall.grant_table_op, GNTTABOP_query_size, op, 1) == 0
    out = a.get(GNTTAB_QUERY_SIZE, op)
    assert (out["nr_frames"], out["max_nr_frames"], out["status"]) == (3, 64, 0)


def test_only_version_one_exists_xsa_255(world):
    """XSA-255 freed v2 status frames on a switch back to v1; v2 never exists here."""
    a, _ = world.guests
    op = a.put(GNTTAB_SET_VERSION, version=2)
    assert a.call(Hypercall.grant_table_op, GNTTABOP_set_version, op, 1) == -Errno.ENOSYS
    op = a.put(GNTTAB_SET_VERSION, version=1)
    assert a.call(Hypercall.grant_table_op, GNTTABOP_set_version, op, 1) == 0
    op = a.put(GNTTAB_GET_VERSION, dom=0x7FF0)
    assert a.call(Hypercall.grant_table_op, GNTTABOP_get_version, op, 1) == 0
    assert a.get(GNTTAB_GET_VERSION, op)["version"] == 1
    assert a.call(Hypercall.grant_table_op, GNTTABOP_dump_table, op, 1) == -Errno.ENOSYS
    assert a.call(Hypercall.grant_table_op, 99, op, 1) == -Errno.ENOSYS


def test_a_bad_batch_pointer_is_efault(world):
    a, _ = world.guests
    assert a.call(Hypercall.grant_table_op, GNTTABOP_query_size, 0xFFFF_F000, 1) \
        == -Errno.EFAULT


def test_host_map_writable_then_unmap(world):
    a, b = world.guests
    frame = world.fresh_frame(a)
    ref = world.grant(a, b, frame)
    va = world.free_va(b)
    status, handle = world.map(b, a, ref, va)
    assert status == Gntst.GNTST_okay
    pte = world.l1_entry(b, va)
    assert pte & PTE_P and pte & PTE_W and pte_frame(pte) == frame
    assert world.flags(a, ref) & (Gtf.GTF_reading | Gtf.GTF_writing) \
        == Gtf.GTF_reading | Gtf.GTF_writing
    b.write(va, b"through the grant")
    assert world.frame_bytes(frame).startswith(b"through the grant")
    verify(world.hv.mm)
    assert world.unmap(b, va, handle) == Gntst.GNTST_okay
    assert not world.l1_entry(b, va) & PTE_P
    assert world.flags(a, ref) == Gtf.GTF_permit_access
    verify(world.hv.mm)


def test_readonly_map_is_never_writable(world):
    a, b = world.guests
    frame = world.fresh_frame(a)
    ref = world.grant(a, b, frame, readonly=True)
    va = world.free_va(b)
    assert world.map(b, a, ref, va)[0] == Gntst.GNTST_general_error   # asks writable
    assert not world.l1_entry(b, va) & PTE_P
    status, _ = world.map(b, a, ref, va, Gntmap.GNTMAP_host_map | Gntmap.GNTMAP_readonly)
    assert status == Gntst.GNTST_okay
    pte = world.l1_entry(b, va)
    assert pte & PTE_P and not pte & PTE_W
    assert world.flags(a, ref) & Gtf.GTF_writing == 0
    verify(world.hv.mm)


@pytest.mark.parametrize("case, expected", [
    ("wrong_domid", Gntst.GNTST_general_error),
    ("not_permitted", Gntst.GNTST_general_error),
    ("ref_out_of_range", Gntst.GNTST_bad_gntref),
    ("no_such_domain", Gntst.GNTST_bad_domain),
    ("frame_not_granters", Gntst.GNTST_general_error),
    ("no_map_flags", Gntst.GNTST_bad_gntref),
    ("contains_pte", Gntst.GNTST_general_error),
])
def test_map_refusals_change_nothing(world, case, expected):
    a, b = world.guests
    frame = world.fresh_frame(a)
    ref, granter, flags = 8, a.dom.domid, Gntmap.GNTMAP_host_map
    if case == "wrong_domid":
        world.grant(a, world.dom0, frame)
    else:
        world.grant(a, b, world.fresh_frame(b) if case == "frame_not_granters" else frame)
    if case == "not_permitted":
        world.end_access(a, ref)
    ref = 512 if case == "ref_out_of_range" else ref
    granter = 77 if case == "no_such_domain" else granter
    flags = {"no_map_flags": 0, "contains_pte": flags | Gntmap.GNTMAP_contains_pte}.get(
        case, flags)
    counts = [(p.count, p.type_count) for p in world.hv.mm.frames]
    va = world.free_va(b)
    assert world.map(b, granter, ref, va, flags)[0] == expected
    assert not world.l1_entry(b, va) & PTE_P
    assert [(p.count, p.type_count) for p in world.hv.mm.frames] == counts
    verify(world.hv.mm)


def test_a_table_frame_cannot_be_granted_writable(world):
    a, b = world.guests
    frame = world.fresh_frame(a)
    assert pin_table(world.hv.mm, a.dom.mem, frame, PageType.L1_TABLE) == 0
    ref = world.grant(a, b, frame)
    assert world.map(b, a, ref, world.free_va(b))[0] == Gntst.GNTST_general_error
    status, _ = world.map(b, a, ref, world.free_va(b),
                          Gntmap.GNTMAP_host_map | Gntmap.GNTMAP_readonly)
    assert status == Gntst.GNTST_okay               # reading a table is harmless
    verify(world.hv.mm)


def test_a_writably_mapped_frame_cannot_become_a_table(world):
    a, _ = world.guests
    frame = world.fresh_frame(a)
    ref = world.grant(a, world.dom0, frame)
    mapping = map_grant(world.hv, world.dom0.dom, a.dom.domid, ref)
    assert pin_table(world.hv.mm, a.dom.mem, frame, PageType.L1_TABLE) == -Errno.EINVAL
    mapping.unmap()
    assert pin_table(world.hv.mm, a.dom.mem, frame, PageType.L1_TABLE) == 0
    verify(world.hv.mm)


def test_service_mapping_reads_and_writes_and_holds_a_reference(world):
    a, _ = world.guests
    frame = world.fresh_frame(a)
    world.hv.memory.write(frame << PAGE_SHIFT, b"guest data")
    ref = world.grant(a, world.dom0, frame)
    mapping = map_grant(world.hv, world.dom0.dom, a.dom.domid, ref)
    assert mapping.read(0, 10) == b"guest data"
    mapping.write32(100, 0xCAFEF00D)
    assert world.hv.memory.read32((frame << PAGE_SHIFT) + 100) == 0xCAFEF00D
    assert decrease_reservation(world.hv.mm, a.dom.mem, [frame]) == 0   # -EBUSY: none done
    assert not world.end_access(a, ref)
    verify(world.hv.mm)
    mapping.unmap()
    mapping.unmap()                                   # idempotent, drops nothing twice
    with pytest.raises(GrantError):
        mapping.read(0, 1)
    assert world.end_access(a, ref)
    assert decrease_reservation(world.hv.mm, a.dom.mem, [frame]) == 1
    verify(world.hv.mm)


def test_service_readonly_mapping_refuses_writes_and_bounds(world):
    a, _ = world.guests
    ref = world.grant(a, world.dom0, world.fresh_frame(a), readonly=True)
    with pytest.raises(GrantError) as err:
        map_grant(world.hv, world.dom0.dom, a.dom.domid, ref)
    assert err.value.status == Gntst.GNTST_general_error
    mapping = map_grant(world.hv, world.dom0.dom, a.dom.domid, ref, readonly=True)
    with pytest.raises(GrantError) as err:
        mapping.write(0, b"x")
    assert err.value.status == Gntst.GNTST_permission_denied
    with pytest.raises(GrantError) as err:
        mapping.read(4090, 10)
    assert err.value.status == Gntst.GNTST_bad_copy_arg
    mapping.unmap()
    with pytest.raises(GrantError) as err:
        mapping.read(0, 1)
    assert err.value.status == Gntst.GNTST_bad_handle


def test_copy_from_and_to_a_grant_touches_exactly_the_range(world):
    a, b = world.guests
    src = world.fresh_frame(a)
    world.hv.memory.write(src << PAGE_SHIFT, bytes(range(256)) * 16)
    dst = world.fresh_frame(b)
    ref = world.grant(a, b, src, readonly=True)
    status = world.copy(b, {"ref": ref, "domid": a.dom.domid, "offset": 10},
                        {"gmfn": dst, "domid": 0x7FF0, "offset": 100}, 50, SRC)
    assert status == Gntst.GNTST_okay
    expected = bytes(100) + bytes(range(10, 60)) + bytes(4096 - 150)
    assert world.frame_bytes(dst) == expected
    assert world.flags(a, ref) == Gtf.GTF_permit_access | Gtf.GTF_readonly
    status = world.copy(b, {"gmfn": dst, "domid": 0x7FF0},
                        {"ref": ref, "domid": a.dom.domid}, 8, DST)
    assert status == Gntst.GNTST_general_error          # read-only grant
    verify(world.hv.mm)


@pytest.mark.parametrize("source, dest, length, flags, expected", [
    ({"ref": 8, "offset": 4000}, {"gmfn": None}, 200, SRC, Gntst.GNTST_bad_copy_arg),
    ({"ref": 8}, {"gmfn": None, "offset": 4095}, 2, SRC, Gntst.GNTST_bad_copy_arg),
    ({"ref": 9}, {"gmfn": None}, 4, SRC, Gntst.GNTST_general_error),
    ({"ref": 8}, {"gmfn": 0}, 4, SRC, Gntst.GNTST_bad_page),
    ({"ref": 8}, {"gmfn": None, "domid": 0}, 4, SRC, Gntst.GNTST_permission_denied),
    ({"ref": 8}, {"gmfn": None}, 4, SRC | 4, Gntst.GNTST_bad_copy_arg),
])
def test_copy_refusals(world, source, dest, length, flags, expected):
    a, b = world.guests
    ref = world.grant(a, b, world.fresh_frame(a))
    assert ref == 8
    dst = world.fresh_frame(b)
    before = world.frame_bytes(dst)
    source = {"domid": a.dom.domid, **source}
    dest = {"domid": 0x7FF0, **dest}
    dest["gmfn"] = dst if dest["gmfn"] is None else dest["gmfn"]
    assert world.copy(b, source, dest, length, flags) == expected
    assert world.frame_bytes(dst) == before
    assert world.flags(a, 8) == Gtf.GTF_permit_access
    verify(world.hv.mm)


def test_maptrack_limit_gives_no_space(world):
    a, _ = world.guests
    ref = world.grant(a, world.dom0, world.fresh_frame(a), readonly=True)
    world.hv.grants.table_of(world.dom0.dom).max_maptrack = 2
    first = map_grant(world.hv, world.dom0.dom, a.dom.domid, ref, readonly=True)
    map_grant(world.hv, world.dom0.dom, a.dom.domid, ref, readonly=True)
    with pytest.raises(GrantError) as err:
        map_grant(world.hv, world.dom0.dom, a.dom.domid, ref, readonly=True)
    assert err.value.status == Gntst.GNTST_no_space
    first.unmap()
    map_grant(world.hv, world.dom0.dom, a.dom.domid, ref, readonly=True).unmap()
    verify(world.hv.mm)


def test_a_batch_reports_a_status_per_op(world):
    from paravisor.abi import GNTTAB_MAP_GRANT_REF, GNTTABOP_map_grant_ref
    a, b = world.guests
    ref = world.grant(a, b, world.fresh_frame(a))
    va = world.free_va(b)
    ops = b.alloc(2 * GNTTAB_MAP_GRANT_REF.size)
    b.put(GNTTAB_MAP_GRANT_REF, ops, host_addr=va, flags=Gntmap.GNTMAP_host_map,
          ref=ref + 1, dom=a.dom.domid)
    b.put(GNTTAB_MAP_GRANT_REF, ops + GNTTAB_MAP_GRANT_REF.size, host_addr=va,
          flags=Gntmap.GNTMAP_host_map, ref=ref, dom=a.dom.domid)
    assert b.call(Hypercall.grant_table_op, GNTTABOP_map_grant_ref, ops, 2) == 0
    first = b.get(GNTTAB_MAP_GRANT_REF, ops)
    second = b.get(GNTTAB_MAP_GRANT_REF, ops + GNTTAB_MAP_GRANT_REF.size)
    assert first["status"] == Gntst.GNTST_general_error      # entry ref+1 is not granted
    assert second["status"] == Gntst.GNTST_okay
    assert world.unmap(b, va, second["handle"]) == Gntst.GNTST_okay
    assert b.call(Hypercall.grant_table_op, GNTTABOP_map_grant_ref, ops, 513) \
        == -Errno.EINVAL
    verify(world.hv.mm)
