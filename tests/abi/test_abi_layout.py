"""Structure layouts: natural alignment, no overlap, the sizes Xen fixes, member paths,
and the guest-memory helpers."""

import pytest

from paravisor import abi
from paravisor.abi.headers import aggregates
from paravisor.abi.types import (
    CHAR,
    I16,
    U8,
    U16,
    U32,
    U64,
    AbiError,
    Array,
    Struct,
    Union,
)

ALL = aggregates()


@pytest.mark.parametrize("typ", ALL, ids=lambda t: t.name)
def test_members_are_naturally_aligned_and_do_not_overlap(typ):
    if isinstance(typ, Union):
        assert all(v.size <= typ.size for v in typ.variants.values())
        assert typ.size % typ.align == 0
        return
    end = 0
    for member in typ.members:
        assert member.offset % member.type.align == 0, member.name
        assert member.offset >= end, f"{member.name} overlaps the member before it"
        end = member.offset + member.type.size
    assert end <= typ.size
    assert typ.size % typ.align == 0
    assert typ.size - end < typ.align, "tail padding is only what alignment needs"


def test_sizes_fixed_by_xen_or_by_our_documented_layout():
    assert abi.VCPU_INFO.size == 64
    assert abi.VCPU_TIME_INFO.size == 32
    assert abi.GRANT_ENTRY_V1.size == 8
    assert abi.SRING_HEADER.size == 64
    assert abi.START_INFO.size == 1112          # Xen x86_32's start_info
    assert abi.MULTICALL_ENTRY.size == 32
    assert abi.TRAP_INFO.size == 8
    assert abi.MMU_UPDATE.size == 8
    assert abi.BLKIF_REQUEST.size == 112        # Xen x86_64's; i386's is 108
    assert abi.BLKIF_RESPONSE.size == 16
    assert abi.XSD_SOCKMSG.size == 16
    assert abi.XEN_DOMCTL.size == 16 + 128
    for page in (abi.SHARED_INFO, abi.XENCONS_INTERFACE, abi.XENSTORE_DOMAIN_INTERFACE):
        assert page.size <= abi.table.PAGE_SIZE


def test_vcpu_info_layout_matches_xen():
    assert abi.VCPU_INFO.offset("evtchn_upcall_pending") == 0
    assert abi.VCPU_INFO.offset("evtchn_upcall_mask") == 1
    assert abi.VCPU_INFO.offset("evtchn_pending_sel") == 4
    assert abi.VCPU_INFO.offset("arch.cr2") == 8
    assert abi.VCPU_INFO.offset("time.version") == 32
    assert abi.VCPU_INFO.offset("time.system_time") == 48


def test_shared_info_layout():
    si = abi.SHARED_INFO
    assert si.offset("vcpu_info.3.evtchn_upcall_mask") == 3 * 64 + 1
    assert si.offset("vcpu_info[31].time.system_time") == 31 * 64 + 48
    assert si.offset("evtchn_pending") == 32 * 64
    assert si.offset("evtchn_mask") == 32 * 64 + 128
    assert si.offset("wc_version") == 32 * 64 + 256
    assert abi.EVTCHN_2L_NR_CHANNELS == 1024 == 32 * si.type_of("evtchn_pending").count


def test_start_info_layout_matches_xen_x86_32():
    s = abi.START_INFO
    assert [s.offset(f) for f in ("nr_pages", "shared_info", "flags", "store_mfn",
                                  "store_evtchn")] == [32, 36, 40, 44, 48]
    assert s.offset("console.domU.mfn") == 52
    assert s.offset("console.domU.evtchn") == 56
    assert s.offset("pt_base") == 60
    assert s.offset("cmd_line") == 80
    assert s.offset("nr_p2m_frames") == 1108


def test_ring_sizes_are_the_largest_power_of_two_that_fits():
    assert abi.BLKIF_RING_SIZE == 32           # (4096 - 64) // 112 = 36 -> 32
    assert abi.NET_TX_RING_SIZE == 256         # (4096 - 64) // 12 = 336 -> 256
    assert abi.NET_RX_RING_SIZE == 256
    tiny = Struct("tiny", [("x", U8)])
    assert abi.ring_size(tiny, tiny, page_size=64 + 5) == 4
    with pytest.raises(ValueError):
        abi.ring_size(abi.BLKIF_REQUEST, abi.BLKIF_RESPONSE, page_size=100)


def test_layout_engine_pads_like_c():
    s = Struct("t", [("a", U8), ("b", U32), ("c", U16), ("d", U64), ("e", U8)])
    assert [m.offset for m in s.members] == [0, 4, 8, 16, 24]
    assert s.size == 32 and s.align == 8
    assert s.gaps() == [(1, 3), (10, 6), (25, 7)]


def test_declared_size_mismatch_is_an_error():
    with pytest.raises(AbiError, match="is 8 bytes; it must be 9"):
        Struct("bad", [("a", U32), ("b", U8)], size=9)
    with pytest.raises(AbiError, match="twice"):
        Struct("dup", [("a", U32), ("a", U8)])


@pytest.mark.parametrize("path", ["nope", "vcpu_info.32", "vcpu_info.x", "wc_sec.low",
                                  "vcpu_info.0.time.nope"])
def test_bad_member_paths_are_rejected(path):
    with pytest.raises(AbiError):
        abi.SHARED_INFO.offset(path)


def test_pack_rejects_unknown_members_and_out_of_range_values():
    with pytest.raises(AbiError, match="no member"):
        abi.EVTCHN_SEND.pack(prot=1)
    with pytest.raises(AbiError, match="does not fit"):
        abi.EVTCHN_ALLOC_UNBOUND.pack(dom=1 << 16)
    with pytest.raises(AbiError, match="does not fit"):
        abi.GNTTAB_MAP_GRANT_REF.pack(status=40000)
    with pytest.raises(AbiError, match="needs an int"):
        abi.EVTCHN_SEND.pack(port="3")
    with pytest.raises(AbiError, match="do not fit"):
        abi.START_INFO.pack(magic="x" * 33)
    with pytest.raises(AbiError):
        abi.START_INFO.unpack(bytes(10))


def test_unsigned_members_store_negative_values_in_twos_complement():
    data = abi.MULTICALL_ENTRY.pack(op=1, result=-abi.Errno.EINVAL)
    assert abi.MULTICALL_ENTRY.unpack(data)["result"] == (1 << 32) - 22


def test_text_and_byte_arrays_are_zero_padded():
    data = abi.START_INFO.pack(magic=abi.START_INFO_MAGIC, cmd_line=b"console=hvc0")
    fields = abi.START_INFO.unpack(data)
    assert len(fields["magic"]) == 32
    assert abi.cstring(fields["magic"]) == b"paravisor-3.0-pv32"
    assert abi.cstring(fields["cmd_line"]) == b"console=hvc0"
    assert abi.cstring(b"abc") == b"abc"


def test_unions_overlay_their_variants():
    u = Union("u", [("word", U32), ("pair", Struct("p", [("lo", U16), ("hi", U16)]))])
    assert u.size == 4
    data = u.encode({"word": 0x12345678})
    assert u.decode(data) == {"word": 0x12345678, "pair": {"lo": 0x5678, "hi": 0x1234}}
    with pytest.raises(AbiError):
        u.encode({"word": 1, "pair": {}})
    with pytest.raises(AbiError):
        u.encode({"nope": 1})
    status = abi.EVTCHN_STATUS.pack(status=abi.EVTCHNSTAT_interdomain,
                                    u={"interdomain": {"dom": 7, "port": 9}})
    assert abi.EVTCHN_STATUS.unpack(status)["u"]["interdomain"] == {"dom": 7, "port": 9}


class FakeGuest:
    """A flat guest address space of `size` bytes that faults like a handler would."""

    def __init__(self, size: int) -> None:
        self.data = bytearray(size)

    def read(self, addr: int, length: int) -> bytes:
        if addr < 0 or addr + length > len(self.data):
            raise LookupError(f"fault at {addr:#x}")
        return bytes(self.data[addr:addr + length])

    def write(self, addr: int, data: bytes) -> None:
        if addr < 0 or addr + len(data) > len(self.data):
            raise LookupError(f"fault at {addr:#x}")
        self.data[addr:addr + len(data)] = data


def test_read_and_write_go_through_the_callables_at_the_member_address():
    guest = FakeGuest(0x3000)
    base = 0x1000
    abi.SHARED_INFO.write(guest.write, base, "vcpu_info.2.evtchn_upcall_mask", 1)
    assert guest.data[base + 2 * 64 + 1] == 1
    assert abi.SHARED_INFO.read(guest.read, base, "vcpu_info.2.evtchn_upcall_mask") == 1
    abi.SHARED_INFO.write(guest.write, base, "vcpu_info.0.time.system_time", 10 ** 12)
    assert abi.VCPU_TIME_INFO.read(guest.read, base + 32, "system_time") == 10 ** 12
    abi.SCHED_POLL.write(guest.write, 0x2000, None, {"ports": 0x4000, "nr_ports": 2})
    assert abi.SCHED_POLL.read(guest.read, 0x2000) == {"ports": 0x4000, "nr_ports": 2,
                                                       "timeout": 0}


def test_read_past_the_guest_space_raises_the_readers_fault():
    guest = FakeGuest(0x1000)
    with pytest.raises(LookupError):
        abi.START_INFO.read(guest.read, 0xC00)   # 0xC00 + 1112 > 0x1000
    # The address is handed over unwrapped, so a reader can tell it passed 4 GiB.
    seen = []
    abi.EVTCHN_SEND.read(lambda addr, n: seen.append(addr) or bytes(n), 0xFFFF_FFFE, "port")
    assert seen == [0xFFFF_FFFE]
    with pytest.raises(AbiError, match="returned"):
        abi.EVTCHN_SEND.read(lambda addr, n: b"", 0)


def test_array_values_must_have_the_right_shape():
    arr = Array(U32, 2)
    assert arr.decode(arr.encode([1])) == [1, 0]
    with pytest.raises(AbiError):
        arr.encode([1, 2, 3])
    with pytest.raises(AbiError):
        arr.encode(b"\x01")
    with pytest.raises(AbiError):
        Array(CHAR, 4).encode(5)
    with pytest.raises(AbiError):
        Array(I16, 0)
