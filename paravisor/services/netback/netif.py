"""The netif protocol as netback reads it: constants, ring layouts, tx slot decoding and
the assembly of a tx packet from its chain of slots (io/netif.h).

A guest transmits a packet as a chain of tx ring slots:

    fragment 1   netif_tx_request  flags = NETTXF_*, size = the whole packet's size
    [extra 1..N] netif_extra_info  (if fragment 1 has NETTXF_extra_info; each further
                                    extra if the previous has XEN_NETIF_EXTRA_FLAG_MORE)
    fragment 2.. netif_tx_request  (while the previous fragment has NETTXF_more_data),
                                    size = that fragment's size

Every slot is copied out of the ring exactly once (BackRing.copy_request, XSA-155) into
a frozen TxSlot; a `TxChain` gathers the copies of one packet (possibly across several
events, since a frontend may publish a packet in pieces) and says when it is complete
and whether it is valid.  Nothing here touches guest memory: the backend fetches the
bytes of a valid chain's fragments afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paravisor.abi.consts import Netif
from paravisor.abi.io import (
    NETIF_RX_REQUEST,
    NETIF_RX_RESPONSE,
    NETIF_TX_REQUEST,
    NETIF_TX_RESPONSE,
)
from paravisor.abi.types import U8, Array, Struct
from paravisor.isa.table import PAGE_SIZE
from paravisor.ring import RingLayout

NETTXF_MORE_DATA = int(Netif.NETTXF_more_data)
NETTXF_EXTRA_INFO = int(Netif.NETTXF_extra_info)
NETRXF_MORE_DATA = int(Netif.NETRXF_more_data)
XEN_NETIF_EXTRA_FLAG_MORE = 1 << 0
XEN_NETIF_EXTRA_TYPE_MAX = 4           # types 1..3: GSO, MCAST_ADD, MCAST_DEL
NR_SLOTS_MIN = int(Netif.XEN_NETIF_NR_SLOTS_MIN)
MAX_TX_SIZE = int(Netif.XEN_NETIF_MAX_TX_SIZE)
ETH_HLEN = 14                          # destination, source, ethertype
RSP_OKAY = int(Netif.NETIF_RSP_OKAY)
RSP_ERROR = int(Netif.NETIF_RSP_ERROR)
RSP_DROPPED = int(Netif.NETIF_RSP_DROPPED)
RSP_NULL = int(Netif.NETIF_RSP_NULL)

# A tx slot as raw bytes: a request or an extra-info descriptor, decided after the copy.
_RAW_TX = Struct("netif_tx_raw", [("raw", Array(U8, NETIF_TX_REQUEST.size))],
                 size=NETIF_TX_REQUEST.size)
NETIF_TX_RING = RingLayout(_RAW_TX, NETIF_TX_RESPONSE)
NETIF_RX_RING = RingLayout(NETIF_RX_REQUEST, NETIF_RX_RESPONSE)


@dataclass(frozen=True)
class TxSlot:
    """One tx ring slot as the backend copied it.  An `extra` slot is a netif_extra_info
    descriptor: only its `extra_type` and `flags` (XEN_NETIF_EXTRA_FLAG_*) are kept."""
    extra: bool
    id: int = 0
    gref: int = 0
    offset: int = 0
    flags: int = 0
    size: int = 0
    extra_type: int = 0


def decode_tx_slot(raw: bytes, extra: bool) -> TxSlot:
    """Decode the private copy of a tx slot, as a request or (`extra`) an extra-info."""
    if extra:
        return TxSlot(extra=True, flags=raw[1], extra_type=raw[0])
    r = NETIF_TX_REQUEST.unpack(raw)
    return TxSlot(False, r["id"], r["gref"], r["offset"], r["flags"], r["size"])


@dataclass(frozen=True)
class Fragment:
    """A piece of a packet: `length` bytes at `offset` in the page granted as `gref`."""
    gref: int
    offset: int
    length: int


@dataclass
class TxChain:
    """The slots of one packet, gathered as they are copied.

    A chain longer than XEN_NETIF_NR_SLOTS_MIN data slots (or as many extras) becomes
    `overlong`: the caller then answers the slots it holds with NETIF_RSP_ERROR at once
    and `drain`s them, and keeps answering further slots of the chain the same way until
    it ends; so a chain that never ends cannot fill the ring with unanswered requests.
    """
    slots: list[TxSlot] = field(default_factory=list)
    want_extra: bool = False
    want_data: bool = True
    overlong: bool = False
    data_seen: int = 0
    extras_seen: int = 0

    @property
    def complete(self) -> bool:
        return not self.want_extra and not self.want_data

    def add(self, raw: bytes) -> None:
        """Take the private copy of the packet's next slot."""
        slot = decode_tx_slot(raw, self.want_extra)
        self.slots.append(slot)
        if slot.extra:
            self.extras_seen += 1
            self.want_extra = bool(slot.flags & XEN_NETIF_EXTRA_FLAG_MORE)
        else:
            self.data_seen += 1
            self.want_extra = self.data_seen == 1 and bool(slot.flags & NETTXF_EXTRA_INFO)
            self.want_data = bool(slot.flags & NETTXF_MORE_DATA)
        if self.data_seen > NR_SLOTS_MIN or self.extras_seen > NR_SLOTS_MIN:
            self.overlong = True

    def drain(self) -> list[TxSlot]:
        """Hand over the slots held so far (to be answered now) and forget them."""
        slots, self.slots = self.slots, []
        return slots

    def fragments(self) -> list[Fragment]:
        """The packet's fragments; ValueError says why the chain is not a valid packet
        (the caller answers it with NETIF_RSP_ERROR)."""
        if self.overlong:
            raise ValueError(f"more than {NR_SLOTS_MIN} slots in one packet")
        data = [s for s in self.slots if not s.extra]
        for s in self.slots:
            if s.extra and not 0 < s.extra_type < XEN_NETIF_EXTRA_TYPE_MAX:
                raise ValueError(f"extra info of unknown type {s.extra_type}")
        total = data[0].size
        if not ETH_HLEN <= total <= MAX_TX_SIZE:
            raise ValueError(f"packet size {total} (must be {ETH_HLEN}..{MAX_TX_SIZE})")
        first_len = total - sum(s.size for s in data[1:])
        if first_len < 0:
            raise ValueError(f"fragments hold more than the packet size {total}")
        out = []
        for slot, length in zip(data, [first_len] + [s.size for s in data[1:]], strict=True):
            if slot.offset + length > PAGE_SIZE:
                raise ValueError(f"fragment at offset {slot.offset} of {length} bytes "
                                 f"leaves its page")
            out.append(Fragment(slot.gref, slot.offset, length))
        return out



def tx_responses(slots: list[TxSlot], status: int) -> list[dict[str, int]]:
    """One response per slot, in order: `status` for requests, NETIF_RSP_NULL for
    extra-info slots (as Linux's netback answers them)."""
    return [{"id": s.id, "status": RSP_NULL if s.extra else status} for s in slots]


def mac_bytes(text: str) -> bytes:
    """"00:16:3e:..." -> 6 bytes; ValueError if it is not a MAC address."""
    parts = text.strip().split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise ValueError(f"'{text}' is not a MAC address")
    return bytes(int(p, 16) for p in parts)


def mac_text(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)
