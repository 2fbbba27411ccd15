"""blkback: the block split driver's backend, a dom0 service serving raw image files.

Per virtual disk the toolstack writes a backend directory
/local/domain/0/backend/vbd/<domid>/<devid>/ (params, mode, frontend, state, ...) and the
guest's frontend directory.  The service watches backend/vbd; for each new device it
opens the image (never creating it), publishes the disk's geometry and features and goes
to InitWait; when the frontend says Initialised it maps the ring page (map_grant), binds
the event channel as a service port and goes Connected.

Every request is copied out of the shared ring exactly once (XSA-155), decoded into an
immutable BlkRequest and validated (operation, segment count and bounds, sector range,
read-only disk) before any I/O; then each segment's granted page is mapped, copied to or
from the image, and unmapped.  Whatever the frontend puts in the ring, the answer is a
response (BLKIF_RSP_ERROR / BLKIF_RSP_EOPNOTSUPP), never an exception; a ring whose
indices are impossible gets the device disconnected (state Closing).
"""

from __future__ import annotations

import ctypes
import functools
import os
import stat
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paravisor.abi.consts import Blkif, XenbusState
from paravisor.abi.io import BLKIF_REQUEST, BLKIF_REQUEST_DISCARD, BLKIF_RESPONSE
from paravisor.abi.types import U8, Array, Struct
from paravisor.grants.mapping import GrantError, GrantMapping, map_grant
from paravisor.inputfiles import file_kind
from paravisor.isa.table import PAGE_SIZE
from paravisor.ring import BackRing, RingError, RingLayout, SharedRing
from paravisor.services.backend import BackendDevice, BackendService, read_int
from paravisor.services.xenstore.tree import XenStoreError

if TYPE_CHECKING:
    from paravisor.services.xenstore.client import XsHandle

SECTOR_SIZE = int(Blkif.BLKIF_SECTOR_SIZE)
SECTORS_PER_PAGE = PAGE_SIZE // SECTOR_SIZE
MAX_SEGMENTS = int(Blkif.BLKIF_MAX_SEGMENTS_PER_REQUEST)
VDISK_READONLY = 0x4            # io/blkif.h "info" bit
BACKEND_ROOT = "/local/domain/0/backend/vbd"

# The ring entry as raw bytes: read once, then decoded as a read/write or discard request.
_RAW_REQUEST = Struct("blkif_request_raw", [("raw", Array(U8, BLKIF_REQUEST.size))],
                      size=BLKIF_REQUEST.size)
BLKIF_RING = RingLayout(_RAW_REQUEST, BLKIF_RESPONSE)
_OP = Blkif


DISCARD_CHUNK = 1 << 20
_FALLOC_FL_KEEP_SIZE, _FALLOC_FL_PUNCH_HOLE = 0x01, 0x02     # linux/falloc.h


def _punch_hole(fd: int, offset: int, length: int) -> bool:
    """Deallocate a byte range of a file, keeping its size (Linux only); False when the
    host or its filesystem cannot, and the caller writes zeros instead."""
    fallocate = _fallocate()
    return fallocate is not None and fallocate(
        fd, _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE, offset, length) == 0


@functools.lru_cache(maxsize=1)
def _fallocate():
    """libc's fallocate(2), or None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fallocate = ctypes.CDLL(None, use_errno=True).fallocate
    except (OSError, AttributeError):
        return None
    fallocate.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
    return fallocate


def backend_path(domid: int, devid: int) -> str:
    return f"{BACKEND_ROOT}/{domid}/{devid}"


def frontend_path(domid: int, devid: int) -> str:
    return f"/local/domain/{domid}/device/vbd/{devid}"


# --- requests -------------------------------------------------------------------------------

class BadRequest(Exception):
    """The request cannot be served; `status` is the BLKIF_RSP_* to answer with."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


@dataclass(frozen=True)
class Segment:
    gref: int
    first_sect: int
    last_sect: int

    @property
    def nr_sectors(self) -> int:
        return self.last_sect - self.first_sect + 1


@dataclass(frozen=True)
class BlkRequest:
    """A request as the backend copied it: nothing here can change after the copy."""
    operation: int
    id: int
    handle: int
    sector_number: int
    nr_sectors: int
    segments: tuple[Segment, ...] = ()
    writes_disk: bool = False


def decode_request(raw: bytes) -> BlkRequest:
    """Decode the private copy of a ring entry (no validation beyond the layout)."""
    op = raw[0]
    if op == _OP.BLKIF_OP_DISCARD:
        d = BLKIF_REQUEST_DISCARD.unpack(raw[:BLKIF_REQUEST_DISCARD.size])
        return BlkRequest(op, d["id"], d["handle"], d["sector_number"], d["nr_sectors"],
                          writes_disk=True)
    r = BLKIF_REQUEST.unpack(raw)
    count = min(r["nr_segments"], MAX_SEGMENTS)     # the count itself is checked later
    segs = tuple(Segment(s["gref"], s["first_sect"], s["last_sect"])
                 for s in r["seg"][:count])
    writes = op in (_OP.BLKIF_OP_WRITE, _OP.BLKIF_OP_FLUSH_DISKCACHE)
    if r["nr_segments"] > MAX_SEGMENTS:
        segs = segs + (Segment(0, 1, 0),)            # an impossible segment: rejected
    return BlkRequest(op, r["id"], r["handle"], r["sector_number"],
                      sum(s.nr_sectors for s in segs), segs, writes)


def validate_request(req: BlkRequest, disk_sectors: int, readonly: bool) -> None:
    """Raise BadRequest unless `req` may be served on a disk of `disk_sectors` sectors."""
    op = req.operation
    if op not in (_OP.BLKIF_OP_READ, _OP.BLKIF_OP_WRITE, _OP.BLKIF_OP_FLUSH_DISKCACHE,
                  _OP.BLKIF_OP_DISCARD):
        raise BadRequest(_OP.BLKIF_RSP_EOPNOTSUPP, f"operation {op} is not supported")
    if op in (_OP.BLKIF_OP_READ, _OP.BLKIF_OP_WRITE):
        if not 1 <= len(req.segments) <= MAX_SEGMENTS:
            raise BadRequest(_OP.BLKIF_RSP_ERROR, "nr_segments must be 1..11")
    for seg in req.segments:
        if not seg.first_sect <= seg.last_sect < SECTORS_PER_PAGE:
            raise BadRequest(_OP.BLKIF_RSP_ERROR,
                             f"segment sectors {seg.first_sect}..{seg.last_sect} invalid")
    if req.writes_disk and readonly and (req.nr_sectors or op == _OP.BLKIF_OP_DISCARD):
        raise BadRequest(_OP.BLKIF_RSP_ERROR, "the disk is read-only")
    if req.sector_number + req.nr_sectors > disk_sectors:
        raise BadRequest(_OP.BLKIF_RSP_ERROR, "sector range beyond the end of the disk")


# --- the image file -------------------------------------------------------------------------

class DiskImage:
    """A raw image file, or a block device, opened for the backend (never created: a
    missing file is an error for the toolstack to report).  Anything else (a FIFO, a
    character device such as /dev/zero, a directory) is a ValueError: the open does not
    block and nothing is read from it."""

    def __init__(self, path: str, readonly: bool) -> None:
        self.path, self.readonly = path, readonly
        flags = os.O_RDONLY if readonly else os.O_RDWR
        self.fd = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC)
        st = os.fstat(self.fd)
        mode = st.st_mode
        if stat.S_ISREG(mode):
            size = st.st_size
        elif stat.S_ISBLK(mode):
            size = os.lseek(self.fd, 0, os.SEEK_END)    # st_size is 0 for a device
        else:
            os.close(self.fd)
            self.fd = -1
            raise ValueError(f"{path} is {file_kind(mode)}, not an image file or a "
                             f"block device")
        os.set_blocking(self.fd, True)
        self.sectors = size // SECTOR_SIZE

    def read(self, sector: int, count: int) -> bytes:
        data = os.pread(self.fd, count * SECTOR_SIZE, sector * SECTOR_SIZE)
        return data.ljust(count * SECTOR_SIZE, b"\0")

    def write(self, sector: int, data: bytes) -> None:
        offset = sector * SECTOR_SIZE
        while data:     # pwrite may write less than asked
            done = os.pwrite(self.fd, data, offset)
            data, offset = data[done:], offset + done

    def discard(self, sector: int, count: int) -> None:
        """Give the range back: punch a hole where the host can (Linux fallocate), so a
        sparse image stays sparse; else write zeros, a megabyte at a time (a guest may
        discard its whole disk).  Either way the range reads back as zeros."""
        offset, length = sector * SECTOR_SIZE, count * SECTOR_SIZE
        if _punch_hole(self.fd, offset, length):
            return
        zeros = bytes(min(length, DISCARD_CHUNK))
        for start in range(offset, offset + length, DISCARD_CHUNK):
            size = min(DISCARD_CHUNK, offset + length - start)
            os.pwrite(self.fd, zeros[:size], start)

    def flush(self) -> None:
        os.fsync(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


# --- one virtual block device ---------------------------------------------------------------

class Vbd(BackendDevice):
    """The backend of one disk of one domain, from InitWait to Closed."""

    def __init__(self, service: Blkback, domid: int, devid: int) -> None:
        super().__init__(service, domid, devid)
        self.image: DiskImage | None = None
        self.ring_page: GrantMapping | None = None
        self.ring: BackRing | None = None

    # xenbus state machine ---------------------------------------------------------------

    def start(self) -> None:
        """Open the image, publish geometry and features, go to InitWait."""
        try:
            params = self.xs.read_str(f"{self.path}/params")
            readonly = self.xs.read_str(f"{self.path}/mode") == "r"
            self.frontend = self.xs.read_str(f"{self.path}/frontend")
            self.image = DiskImage(params, readonly)
        except (XenStoreError, OSError, ValueError) as err:
            self.fail(f"cannot open the disk: {err}")
            return
        self.wait_for_frontend((
            ("sectors", self.image.sectors), ("info", VDISK_READONLY if readonly else 0),
            ("sector-size", SECTOR_SIZE), ("feature-flush-cache", 1),
            ("feature-discard", 1), ("discard-granularity", SECTOR_SIZE)))

    def connected(self) -> bool:
        return self.ring is not None

    def connect(self) -> None:
        """Map the ring named by ring-ref, bind event-channel, go Connected."""
        ring_ref = read_int(self.xs, f"{self.frontend}/ring-ref")
        evtchn = read_int(self.xs, f"{self.frontend}/event-channel")
        pages = self.attach([ring_ref], evtchn, "the ring")
        if pages is None:
            return
        self.ring_page = pages[0]
        self.ring = BackRing(SharedRing(self.ring_page, BLKIF_RING))
        self.set_state(XenbusState.XenbusStateConnected)

    def disconnect(self) -> None:
        """Unmap the ring, close the port (idempotent)."""
        self.close_port()
        if self.ring_page is not None:
            self.ring_page.unmap()
            self.ring_page = None
        self.ring = None

    def release(self) -> None:
        """Close the image."""
        if self.image is not None:
            self.image.close()
            self.image = None

    # the ring ---------------------------------------------------------------------------

    def on_event(self, _port: int) -> None:
        """Serve every request on the ring, then re-arm (final check) and notify."""
        try:
            while self.ring is not None:
                while self.ring is not None and self.ring.unconsumed_requests():
                    raw = self.ring.copy_request()["raw"]
                    self.ring.put_response(self.serve(bytes(raw)))
                if self.ring is None:
                    return
                if self.ring.push_responses():
                    self.notify()
                if not self.ring.final_check_for_requests():
                    return
        except (RingError, GrantError) as err:
            self.broken(err)

    def serve(self, raw: bytes) -> dict:
        """The response to one request (its private copy `raw`)."""
        req = decode_request(raw)
        try:
            assert self.image is not None
            validate_request(req, self.image.sectors, self.image.readonly)
            self.do_io(req)
            status = _OP.BLKIF_RSP_OKAY
        except BadRequest as bad:
            status = bad.status
        except (GrantError, OSError) as err:
            self.log(f"request {req.id:#x}: {err}")
            status = _OP.BLKIF_RSP_ERROR
        return {"id": req.id, "operation": req.operation, "status": int(status)}

    def do_io(self, req: BlkRequest) -> None:
        image = self.image
        assert image is not None
        if req.operation == _OP.BLKIF_OP_DISCARD:
            image.discard(req.sector_number, req.nr_sectors)
            return
        pages = self.map_segments(req)
        try:
            if req.operation == _OP.BLKIF_OP_READ:
                data = image.read(req.sector_number, req.nr_sectors)
                for seg, page in zip(req.segments, pages, strict=True):
                    n = seg.nr_sectors * SECTOR_SIZE
                    page.write(seg.first_sect * SECTOR_SIZE, data[:n])
                    data = data[n:]
            else:
                data = b"".join(page.read(seg.first_sect * SECTOR_SIZE,
                                          seg.nr_sectors * SECTOR_SIZE)
                                for seg, page in zip(req.segments, pages, strict=True))
                image.write(req.sector_number, data)
        finally:
            for page in pages:
                page.unmap()
        if req.operation == _OP.BLKIF_OP_FLUSH_DISKCACHE:
            image.flush()       # before the response: an acknowledged flush is on disk

    def map_segments(self, req: BlkRequest) -> list[GrantMapping]:
        """Map every segment's grant (writable only when reading from disk); all or none."""
        pages: list[GrantMapping] = []
        readonly = req.operation != _OP.BLKIF_OP_READ
        try:
            for seg in req.segments:
                pages.append(map_grant(self.hv, self.service.dom0, self.domid, seg.gref,
                                       readonly=readonly))
        except GrantError:
            for page in pages:
                page.unmap()
            raise
        return pages


# --- the service ------------------------------------------------------------------------------

class Blkback(BackendService[Vbd]):
    """The block backend daemon: one Vbd per device directory under backend/vbd."""

    ROOT, NAME, DEVICE = BACKEND_ROOT, "blkback", Vbd


def write_vbd_nodes(xs: XsHandle, domid: int, devid: int, target: str, vdev: str,
                    readonly: bool) -> None:
    """The toolstack's part (libxl's device_disk_add): backend and frontend directories
    with their permissions; the backend's state is written last, as a transaction, so
    the backend sees a complete directory."""
    back, front = backend_path(domid, devid), frontend_path(domid, devid)
    while True:
        tx = xs.transaction_start()
        xs.write(front, b"", tx)
        xs.set_perms(front, [f"n{domid}", "r0"], tx)
        for key, value in (("backend", back), ("backend-id", 0), ("virtual-device", devid),
                           ("device-type", "disk"), ("vdev", vdev),
                           ("state", int(XenbusState.XenbusStateInitialising))):
            xs.write(f"{front}/{key}", value, tx)
        xs.write(back, b"", tx)
        xs.set_perms(back, ["n0", f"r{domid}"], tx)
        for key, value in (("frontend", front), ("frontend-id", domid), ("params", target),
                           ("mode", "r" if readonly else "w"), ("type", "file"),
                           ("dev", vdev), ("online", 1),
                           ("state", int(XenbusState.XenbusStateInitialising))):
            xs.write(f"{back}/{key}", value, tx)
        if xs.transaction_end(tx):
            return
