"""blkback driven by a Python frontend: the XenbusState handshake, then read, write,
flush, discard and multi-segment requests against a raw image file on the host."""

import os

import pytest

from paravisor.abi.consts import Blkif, XenbusState
from paravisor.isa.table import PAGE_SIZE
from paravisor.services.blkback import SECTOR_SIZE
from paravisor.testing.blkfront import BlockBed, rw_request

OKAY, ERROR, EOPNOTSUPP = (int(Blkif.BLKIF_RSP_OKAY), int(Blkif.BLKIF_RSP_ERROR),
                           int(Blkif.BLKIF_RSP_EOPNOTSUPP))
DISK_BYTES = 1 << 20
CONNECTED = str(int(XenbusState.XenbusStateConnected))


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(bytes(DISK_BYTES))
    return path


def _pattern(n: int, seed: int = 1) -> bytes:
    return bytes((i * 7 + seed + i // 251) & 0xFF for i in range(n))


def _dom0_mappings(bed: BlockBed) -> int:
    return len(bed.hv.grants.maptrack_of(bed.dom0.dom.domid))


def test_handshake_reaches_connected_on_both_sides(image):
    bed = BlockBed(str(image))
    assert bed.backend("state") == str(int(XenbusState.XenbusStateInitWait))
    assert bed.backend("sectors") == str(DISK_BYTES // SECTOR_SIZE)
    assert bed.backend("sector-size") == "512"
    assert bed.backend("feature-flush-cache") == "1"
    assert bed.backend("feature-discard") == "1"
    assert bed.backend("info") == "0"
    front = bed.frontend()
    assert bed.backend("state") == CONNECTED
    assert front.xs.read_str(f"{front.path}/state") == CONNECTED
    assert _dom0_mappings(bed) == 1          # only the ring stays mapped


def test_write_flush_read_back_and_the_image_file_holds_it(image, monkeypatch):
    bed = BlockBed(str(image))
    front = bed.frontend()
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    data = _pattern(2 * PAGE_SIZE)
    assert front.write(16, data) == OKAY
    assert front.rw(Blkif.BLKIF_OP_FLUSH_DISKCACHE, 0, []) == OKAY
    assert synced, "an acknowledged flush must have called fsync"
    status, back = front.read(16, len(data))
    assert status == OKAY and back == data
    raw = image.read_bytes()
    assert raw[16 * SECTOR_SIZE:16 * SECTOR_SIZE + len(data)] == data
    assert raw[:16 * SECTOR_SIZE] == bytes(16 * SECTOR_SIZE)
    assert _dom0_mappings(bed) == 1          # segment mappings were released


def test_multi_segment_requests_use_partial_pages_in_order(image):
    bed = BlockBed(str(image))
    front = bed.frontend()
    pages = front.data_pages(11)
    segs, expect = [], b""
    for i, (ref, _mfn, page) in enumerate(pages):
        first, last = i % 8, min(7, i % 8 + 1 + i % 3)
        chunk = _pattern((last - first + 1) * SECTOR_SIZE, seed=i)
        page.write(first * SECTOR_SIZE, chunk)
        segs.append((ref, first, last))
        expect += chunk
    assert front.rw(Blkif.BLKIF_OP_WRITE, 100, segs) == OKAY
    raw = image.read_bytes()
    assert raw[100 * SECTOR_SIZE:100 * SECTOR_SIZE + len(expect)] == expect
    status, back = front.read(100, len(expect))
    assert status == OKAY and back == expect


def test_discard_zeroes_the_range_only(image):
    bed = BlockBed(str(image))
    front = bed.frontend()
    assert front.write(0, _pattern(PAGE_SIZE)) == OKAY
    assert front.discard(2, 3) == OKAY
    raw = image.read_bytes()
    assert raw[2 * SECTOR_SIZE:5 * SECTOR_SIZE] == bytes(3 * SECTOR_SIZE)
    assert raw[:2 * SECTOR_SIZE] == _pattern(PAGE_SIZE)[:2 * SECTOR_SIZE]
    assert raw[5 * SECTOR_SIZE:PAGE_SIZE] == _pattern(PAGE_SIZE)[5 * SECTOR_SIZE:]
    assert front.discard(DISK_BYTES // SECTOR_SIZE - 1, 2) == ERROR


def test_a_read_only_disk_refuses_writes_and_discards_but_reads(image):
    image.write_bytes(_pattern(DISK_BYTES))
    bed = BlockBed(str(image), readonly=True)
    assert bed.backend("info") == "4"
    front = bed.frontend()
    assert front.write(0, bytes(PAGE_SIZE)) == ERROR
    assert front.discard(0, 8) == ERROR
    assert image.read_bytes() == _pattern(DISK_BYTES)
    status, back = front.read(0, PAGE_SIZE)
    assert status == OKAY and back == _pattern(DISK_BYTES)[:PAGE_SIZE]


def test_grant_direction_readonly_grant_serves_writes_not_reads(image):
    bed = BlockBed(str(image))
    front = bed.frontend()
    ((ref, _mfn, page),) = front.data_pages(1, readonly=True)
    page.write(0, _pattern(PAGE_SIZE))
    assert front.rw(Blkif.BLKIF_OP_WRITE, 0, [(ref, 0, 7)]) == OKAY
    assert front.rw(Blkif.BLKIF_OP_READ, 0, [(ref, 0, 7)]) == ERROR


@pytest.mark.parametrize("op,sector,segs,nr,expect", [
    (Blkif.BLKIF_OP_WRITE_BARRIER, 0, [], None, EOPNOTSUPP),
    (Blkif.BLKIF_OP_INDIRECT, 0, [], None, EOPNOTSUPP),
    (200, 0, [], None, EOPNOTSUPP),
    (Blkif.BLKIF_OP_READ, 0, [], None, ERROR),                        # no segment
    (Blkif.BLKIF_OP_READ, 0, [(16, 0, 7)], 12, ERROR),                # > 11 segments
    (Blkif.BLKIF_OP_READ, 0, [(16, 5, 4)], None, ERROR),              # last < first
    (Blkif.BLKIF_OP_READ, 0, [(16, 0, 8)], None, ERROR),              # beyond the page
    (Blkif.BLKIF_OP_READ, DISK_BYTES // SECTOR_SIZE - 7, [(16, 0, 7)], None, ERROR),
    (Blkif.BLKIF_OP_READ, 2**64 - 1, [(16, 0, 0)], None, ERROR),
    (Blkif.BLKIF_OP_READ, 0, [(999, 0, 7)], None, ERROR),             # not granted
])
def test_bad_requests_get_error_responses(image, op, sector, segs, nr, expect):
    bed = BlockBed(str(image))
    front = bed.frontend()
    front.data_pages(1)                                                # ref 16
    (rsp,) = front.submit(rw_request(op, sector, segs, req_id=0xABCD, nr_segments=nr))
    assert rsp == {"id": 0xABCD, "operation": op, "status": expect}
    assert _dom0_mappings(bed) == 1
    assert front.write(0, _pattern(PAGE_SIZE)) == OKAY                 # still serving


def test_notify_hold_off_batches_and_rearms(image):
    bed = BlockBed(str(image))
    front = bed.frontend()
    ((ref, _mfn, _page),) = front.data_pages(1)
    raws = [rw_request(Blkif.BLKIF_OP_READ, i, [(ref, 0, 0)], req_id=i) for i in range(5)]
    rsps = front.submit(*raws)
    assert [r["id"] for r in rsps] == list(range(5))
    assert bed.hv.events.is_pending(front.guest.dom, front.port)
    # The backend re-armed req_event: the next request asks for a notification again.
    front.ring.put_request({"raw": raws[0]})
    assert front.ring.push_requests()


def test_closing_handshake_and_domain_death_release_everything(image):
    bed = BlockBed(str(image))
    front = bed.frontend()
    front.set_state(XenbusState.XenbusStateClosing)
    assert bed.backend("state") == str(int(XenbusState.XenbusStateClosing))
    assert _dom0_mappings(bed) == 0
    front.set_state(XenbusState.XenbusStateClosed)
    assert bed.backend("state") == str(int(XenbusState.XenbusStateClosed))
    bed.hv.destroy(front.guest.dom)
    bed.settle()
    assert not bed.blkback.devices
    assert not bed.xenstore.dom0_handle.exists(f"/local/domain/0/backend/vbd/{front.domid}")


def test_a_dying_connected_domain_gets_its_ring_unmapped(image):
    bed = BlockBed(str(image))
    front = bed.frontend()
    vbd = next(iter(bed.blkback.devices.values()))
    bed.hv.destroy(front.guest.dom)
    bed.settle()
    assert vbd.ring_page is None and vbd.port is None and vbd.image is None
    assert _dom0_mappings(bed) == 0
