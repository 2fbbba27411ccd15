"""Shared-memory layouts of the split drivers, the console and the XenStore ring.

A split-driver ring page (io/ring.h) is a 64-byte header of free-running indices
followed by as many entries as fit, rounded down to a power of two; an entry is the
union of the request and the response.  The indices are RING_IDX (u32) and wrap.
Who writes each index: req_prod and rsp_event the frontend, rsp_prod and req_event the
backend.

Our request/response layouts align u64 to 8, so they equal Xen's x86-64 layouts
(blkif_request 112 bytes, blkif_response 16); Xen's i386 layouts are smaller (108, 12)
because i386 aligns u64 to 4.
"""

from paravisor.abi.consts import Blkif, Console, XenstoreMisc
from paravisor.abi.types import CHAR, I16, U8, U16, U32, U64, Array, Struct
from paravisor.isa.table import PAGE_SIZE

SRING_HEADER = Struct("sring_header", [
    ("req_prod", U32),               # frontend: requests published
    ("req_event", U32),              # backend: notify me when req_prod passes this
    ("rsp_prod", U32),               # backend: responses published
    ("rsp_event", U32),              # frontend: notify me when rsp_prod passes this
    ("pvt", Array(U8, 4)),           # private to the driver pair
    ("pad", Array(U8, 44)),
], size=64, doc="header of every shared ring page (io/ring.h)")


def ring_size(request: Struct, response: Struct, page_size: int = PAGE_SIZE) -> int:
    """Entries in a one-page ring of request/response: the largest power of two that
    fits after the header (Xen's __CONST_RING_SIZE)."""
    entry = max(request.size, response.size)
    fit = (page_size - SRING_HEADER.size) // entry
    if fit < 1:
        raise ValueError(f"{request.name} does not fit in a ring page")
    return 1 << (fit.bit_length() - 1)


BLKIF_REQUEST_SEGMENT = Struct("blkif_request_segment", [
    ("gref", U32),                   # grant of the I/O buffer frame
    ("first_sect", U8),              # first and last 512-byte sector in that frame
    ("last_sect", U8),
], size=8)
BLKIF_REQUEST = Struct("blkif_request", [
    ("operation", U8),               # BLKIF_OP_*
    ("nr_segments", U8),
    ("handle", U16),                 # blkif_vdev_t
    ("id", U64),                     # echoed in the response
    ("sector_number", U64),          # in 512-byte sectors
    ("seg", Array(BLKIF_REQUEST_SEGMENT, Blkif.BLKIF_MAX_SEGMENTS_PER_REQUEST)),
], size=112, doc="a read/write/flush request on the block ring (frontend writes)")
BLKIF_REQUEST_DISCARD = Struct("blkif_request_discard", [
    ("operation", U8), ("flag", U8), ("handle", U16),
    ("id", U64), ("sector_number", U64), ("nr_sectors", U64),
], size=32, doc="a BLKIF_OP_DISCARD request (frontend writes)")
BLKIF_RESPONSE = Struct("blkif_response", [
    ("id", U64),
    ("operation", U8),
    ("status", I16),                 # BLKIF_RSP_*
], size=16, doc="a response on the block ring (backend writes)")

NETIF_TX_REQUEST = Struct("netif_tx_request", [
    ("gref", U32), ("offset", U16), ("flags", U16), ("id", U16), ("size", U16),
], size=12, doc="a packet (or fragment) to send (frontend writes)")
NETIF_TX_RESPONSE = Struct("netif_tx_response", [("id", U16), ("status", I16)], size=4)
NETIF_RX_REQUEST = Struct("netif_rx_request", [
    ("id", U16), ("pad", U16), ("gref", U32),
], size=8, doc="a buffer offered for a received packet (frontend writes)")
NETIF_RX_RESPONSE = Struct("netif_rx_response", [
    ("id", U16), ("offset", U16), ("flags", U16), ("status", I16),
], size=8, doc="a received packet: status > 0 is its length (backend writes)")

BLKIF_RING_SIZE = ring_size(BLKIF_REQUEST, BLKIF_RESPONSE)
NET_TX_RING_SIZE = ring_size(NETIF_TX_REQUEST, NETIF_TX_RESPONSE)
NET_RX_RING_SIZE = ring_size(NETIF_RX_REQUEST, NETIF_RX_RESPONSE)

XENCONS_INTERFACE = Struct("xencons_interface", [
    ("in", Array(CHAR, Console.XENCONS_IN_SIZE)),     # console daemon -> guest
    ("out", Array(CHAR, Console.XENCONS_OUT_SIZE)),   # guest -> console daemon
    ("in_cons", U32), ("in_prod", U32),
    ("out_cons", U32), ("out_prod", U32),
    ("connection", U8),              # XENCONSOLE_*
], doc="the PV console page (io/console.h)")

XSD_SOCKMSG = Struct("xsd_sockmsg", [
    ("type", U32),                   # XS_*
    ("req_id", U32),                 # echoed in the reply
    ("tx_id", U32),                  # transaction, 0 for none
    ("len", U32),                    # payload bytes that follow
], size=16, doc="header of every XenStore message (io/xs_wire.h)")
XENSTORE_DOMAIN_INTERFACE = Struct("xenstore_domain_interface", [
    ("req", Array(CHAR, XenstoreMisc.XENSTORE_RING_SIZE)),   # guest -> xenstored
    ("rsp", Array(CHAR, XenstoreMisc.XENSTORE_RING_SIZE)),   # replies and watch events
    ("req_cons", U32), ("req_prod", U32),
    ("rsp_cons", U32), ("rsp_prod", U32),
    ("server_features", U32),
    ("connection", U32),
    ("error", U32),
    ("evtchn_port", U32),
], size=2080, doc="the XenStore ring page (io/xs_wire.h)")

for _page in (XENCONS_INTERFACE, XENSTORE_DOMAIN_INTERFACE):
    if _page.size > PAGE_SIZE:
        raise ImportError(f"{_page.name} must fit in one page")
