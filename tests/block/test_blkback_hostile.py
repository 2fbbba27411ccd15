"""A malicious frontend: random ring contents, bogus grant refs, indices running ahead,
a request rewritten after the backend copied it.  blkback never raises, never writes
memory it was not granted, never leaks a mapping and never returns another domain's data."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paravisor.abi.consts import Blkif, XenbusState
from paravisor.abi.io import BLKIF_REQUEST, BLKIF_RESPONSE, SRING_HEADER
from paravisor.isa.table import PAGE_SIZE
from paravisor.ring import MASK
from paravisor.services.blkback import BLKIF_RING, SECTOR_SIZE
from paravisor.testing.blkfront import RING_REF, BlockBed, PyBlkfront, discard_request, rw_request

SECRET = b"\xa5" * PAGE_SIZE          # the bystander's data: never on the disk
DISK = bytes((i * 13 + 1) % 251 for i in range(256 * SECTOR_SIZE))
STATUSES = {int(Blkif.BLKIF_RSP_OKAY), int(Blkif.BLKIF_RSP_ERROR),
            int(Blkif.BLKIF_RSP_EOPNOTSUPP)}
REQ_PROD = SRING_HEADER.offset("req_prod")
RSP_PROD = SRING_HEADER.offset("rsp_prod")

_seg = st.tuples(st.sampled_from([8, 16, 17, 18, 19, 20, 1000, 2**32 - 1]),
                 st.integers(0, 9), st.integers(0, 9))
_structured = st.builds(
    lambda op, sector, segs, nr, rid: rw_request(op, sector, segs, rid, nr),
    st.sampled_from([0, 1, 2, 3, 4, 6, 7, 255]),
    st.one_of(st.integers(0, 260), st.integers(0, 2**64 - 1)),
    st.lists(_seg, max_size=11), st.one_of(st.none(), st.integers(0, 255)),
    st.integers(0, 2**64 - 1))
_discard = st.builds(discard_request, st.one_of(st.integers(0, 300), st.integers(0, 2**64 - 1)),
                     st.one_of(st.integers(0, 300), st.integers(0, 2**64 - 1)),
                     st.integers(0, 2**64 - 1))
_entry = st.one_of(_structured, _discard, st.binary(min_size=BLKIF_REQUEST.size,
                                                   max_size=BLKIF_REQUEST.size))
# A round: entries written into the ring, then req_prod moved by `ahead` beyond them.
_round = st.tuples(st.lists(_entry, max_size=6),
                   st.one_of(st.just(0), st.integers(-3, 40), st.integers(0, MASK)))


def _setup(tmp_path) -> tuple[BlockBed, PyBlkfront, int]:
    image = tmp_path / "disk.img"
    image.write_bytes(DISK)
    bed = BlockBed(str(image))
    # The bystander grants dom0 a secret page under the same refs the frontend uses.
    secret_mfn = bed.world.fresh_frame(bed.other)
    bed.hv.memory.write(secret_mfn * PAGE_SIZE, SECRET)
    for ref in (16, 17, 18, 19, 20):
        bed.world.grant(bed.other, bed.dom0, secret_mfn, ref=ref)
    front = bed.frontend()
    front.data_pages(2)
    front.data_pages(1, readonly=True)
    return bed, front, secret_mfn


def _may_change(bed: BlockBed, front: PyBlkfront) -> set[int]:
    """Frames blkback (or the hypervisor on its behalf) may write: the frontend's
    writable grants, its grant-table frames (GTF_reading/writing) and shared_info
    (event pending bits)."""
    frames = {front.ring_mfn, front.guest.dom.shared_info_mfn}
    frames |= {mfn for ref, mfn, _page in front.pages if ref in (16, 17)}
    frames |= set(bed.hv.grants.table_of(front.guest.dom).frames)
    return frames


def _changed_frames(before: bytes, after: bytes) -> set[int]:
    return {m for m in range(len(before) // PAGE_SIZE)
            if before[m * PAGE_SIZE:(m + 1) * PAGE_SIZE]
            != after[m * PAGE_SIZE:(m + 1) * PAGE_SIZE]}


def _play(bed: BlockBed, front: PyBlkfront, entries: list[bytes], ahead: int) -> None:
    sring = front.sring
    prod = sring.get(REQ_PROD)
    for i, raw in enumerate(entries):
        sring.page.write(BLKIF_RING.entry_offset(prod + i), raw)
    old_rsp = sring.get(RSP_PROD)
    sring.set(REQ_PROD, prod + len(entries) + ahead)
    bed.hv.events.send(front.guest.dom, front.port)
    bed.settle()                                      # raises if blkback raised
    if any(_reads_into_ring(raw) for raw in entries):
        return   # the frontend had the disk overwrite its own ring: its responses too
    new_rsp = sring.get(RSP_PROD)
    for index in range(old_rsp, old_rsp + ((new_rsp - old_rsp) & MASK)):
        rsp = BLKIF_RESPONSE.unpack(sring.page.read(BLKIF_RING.entry_offset(index),
                                                    BLKIF_RESPONSE.size))
        assert rsp["status"] in STATUSES


def _reads_into_ring(raw: bytes) -> bool:
    """Whether a request names the ring page's own grant as a buffer."""
    request = BLKIF_REQUEST.unpack(raw)
    segments = request["seg"][:min(request["nr_segments"], len(request["seg"]))]
    return any(seg["gref"] == RING_REF for seg in segments)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])
@given(rounds=st.lists(_round, min_size=1, max_size=4))
def test_random_ring_contents_never_hurt_the_backend(tmp_path, rounds):
    bed, front, secret_mfn = _setup(tmp_path)
    vbd = next(iter(bed.blkback.devices.values()))
    allowed = _may_change(bed, front)
    before = bytes(bed.hv.memory.data)
    for entries, ahead in rounds:
        _play(bed, front, entries, ahead)
        track = bed.hv.grants.maptrack_of(bed.dom0.dom.domid)
        assert len(track) == (1 if vbd.ring is not None else 0)
        if vbd.ring is None:    # a broken ring disconnects the device, never the daemon
            assert bed.backend("state") == str(int(XenbusState.XenbusStateClosing))
            break
    after = bytes(bed.hv.memory.data)
    assert _changed_frames(before, after) <= allowed
    assert bed.hv.memory.read(secret_mfn * PAGE_SIZE, PAGE_SIZE) == SECRET
    for mfn in allowed:
        assert SECRET[:SECTOR_SIZE] not in bed.hv.memory.read(mfn * PAGE_SIZE, PAGE_SIZE)
    assert SECRET[:SECTOR_SIZE] not in (tmp_path / "disk.img").read_bytes()


class _Racing:
    """The ring page as blkback sees it, with a frontend that rewrites each request
    right after the backend read it (the XSA-155 double-fetch attack)."""

    def __init__(self, page, rewrite) -> None:
        self.page, self.rewrite, self.entry_reads = page, rewrite, 0

    def read(self, offset: int, length: int) -> bytes:
        data = self.page.read(offset, length)
        if length == BLKIF_RING.entry_size:
            self.entry_reads += 1
            self.page.write(offset, self.rewrite)
        return data

    def write(self, offset: int, data: bytes) -> None:
        self.page.write(offset, data)


def test_a_request_changed_after_the_copy_is_served_as_copied(tmp_path):
    bed, front, _secret = _setup(tmp_path)
    vbd = next(iter(bed.blkback.devices.values()))
    ((ref, _mfn, page),) = front.data_pages(1)
    page.write(0, b"\x5a" * PAGE_SIZE)
    evil = rw_request(Blkif.BLKIF_OP_READ, 0, [(16, 0, 7)] * 11, req_id=2)
    racing = _Racing(vbd.ring.sring.page, evil)
    vbd.ring.sring.page = racing
    (rsp,) = front.submit(rw_request(Blkif.BLKIF_OP_WRITE, 40, [(ref, 0, 7)], req_id=1))
    assert racing.entry_reads == 1
    assert rsp == {"id": 1, "operation": Blkif.BLKIF_OP_WRITE, "status": 0}
    data = (tmp_path / "disk.img").read_bytes()
    assert data[40 * SECTOR_SIZE:48 * SECTOR_SIZE] == b"\x5a" * PAGE_SIZE
    assert front.pages[0][2].read(0, PAGE_SIZE) != DISK[:PAGE_SIZE]   # no READ was done
