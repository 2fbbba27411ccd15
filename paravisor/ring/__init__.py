"""The generic shared ring of io/ring.h, written once (docs/design.md, 'Conventions' 5).

A ring page is the 64-byte SRING_HEADER {req_prod, req_event, rsp_prod, rsp_event, ...}
followed by `size` entries (a power of two), each the union of a request and a
response.  Indices are free-running u32 counters; an entry's slot is index % size.

Who writes what: the frontend writes requests, req_prod and rsp_event; the backend
writes responses, rsp_prod and req_event.  Each side also keeps private indices
(frontend: req_prod_pvt, rsp_cons; backend: rsp_prod_pvt, req_cons), so it can fill
or drain several entries and publish them at once.

Notification hold-off: a side publishes new entries with push_*(), which says whether
the other side asked to be woken (`(new - event) < (new - old)`, mod 2**32); a side
that found no work re-arms its event index with final_check_for_*() and looks once more
before it sleeps, which closes the lost-wake-up race.

Backends must treat the ring as hostile: `copy_request` reads an entry exactly once
(RING_COPY_REQUEST, XSA-155) and `unconsumed_requests` raises RingError when req_prod
runs more than a ring ahead of the responses (RING_REQUEST_PROD_OVERFLOW).  Block and
network drivers only supply their request/response Structs (abi/io.py).

Ownership: each end's private state belongs to that end; only the header and entries
are shared, and each shared index has one writer.  In the deterministic mode the two
ends never run at the same time.  Under --realtime they can: a guest frontend runs on
its pCPU's thread while a backend (a dom0 service, with the hypervisor lock held) works
on the same ring.  The order of the shared accesses below is Xen's (entries before the
index that publishes them), but Xen's barriers (wmb/mb) have no counterpart here, and
the JIT lowers the guest's `fence` to nothing: the order reaches the other thread only
as far as the host CPU keeps it (x86-64 keeps stores in order; a weaker host need not).
See docs/design.md, section 8.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from paravisor.abi.io import SRING_HEADER, ring_size
from paravisor.abi.types import Struct
from paravisor.isa.table import PAGE_SIZE

MASK = 0xFFFF_FFFF
_REQ_PROD = SRING_HEADER.offset("req_prod")
_REQ_EVENT = SRING_HEADER.offset("req_event")
_RSP_PROD = SRING_HEADER.offset("rsp_prod")
_RSP_EVENT = SRING_HEADER.offset("rsp_event")


class RingError(Exception):
    """The other end broke the ring protocol; the caller should disconnect it."""


class RingPage(Protocol):
    """What a ring needs of its page: a ForeignPage, a grant mapping or a BytesPage."""

    def read(self, offset: int, length: int) -> bytes: ...

    def write(self, offset: int, data: bytes) -> None: ...


class BytesPage:
    """A ring page in host memory (tests, host-side loopback rings)."""

    def __init__(self, size: int = PAGE_SIZE) -> None:
        self.data = bytearray(size)

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > len(self.data):
            raise IndexError("access outside the page")
        return bytes(self.data[offset:offset + length])

    def write(self, offset: int, data: bytes) -> None:
        if offset < 0 or offset + len(data) > len(self.data):
            raise IndexError("access outside the page")
        self.data[offset:offset + len(data)] = data


@dataclass(frozen=True)
class RingLayout:
    """A ring type (DEFINE_RING_TYPES): its request and response layouts."""
    request: Struct
    response: Struct
    page_size: int = PAGE_SIZE
    size: int = field(init=False)
    entry_size: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", ring_size(self.request, self.response,
                                                   self.page_size))
        object.__setattr__(self, "entry_size", max(self.request.size, self.response.size))

    def entry_offset(self, index: int) -> int:
        return SRING_HEADER.size + (index & (self.size - 1)) * self.entry_size


class SharedRing:
    """The shared part: header indices and entries, in `page`."""

    def __init__(self, page: RingPage, layout: RingLayout) -> None:
        self.page, self.layout = page, layout

    def init(self) -> None:
        """SHARED_RING_INIT: producers at 0, both event indices at 1."""
        self.page.write(0, SRING_HEADER.pack(req_event=1, rsp_event=1))

    def get(self, offset: int) -> int:
        return int.from_bytes(self.page.read(offset, 4), "little")

    def set(self, offset: int, value: int) -> None:
        self.page.write(offset, (value & MASK).to_bytes(4, "little"))

    def read_entry(self, index: int, struct: Struct) -> dict[str, Any]:
        """One read of the entry's bytes, then decoding: a private copy."""
        data = self.page.read(self.layout.entry_offset(index), self.layout.entry_size)
        return struct.unpack(data)

    def write_entry(self, index: int, struct: Struct, value: dict[str, Any]) -> None:
        self.page.write(self.layout.entry_offset(index), struct.pack(**value))


# Notification hold-off on (Xen's behaviour).  benchmarks/io.py turns it off to measure
# what it saves: every push then notifies.  Guests choose at build time: ring.h
# notifies on every push when RING_NOTIFY_ALWAYS is defined.
NOTIFY_HOLDOFF = True


def _notify(new: int, old: int, event: int) -> bool:
    """Whether publishing old..new passed the other side's event index."""
    if not NOTIFY_HOLDOFF:
        return new != old
    return ((new - event) & MASK) < ((new - old) & MASK)


class FrontRing:
    """The frontend's end: puts requests, takes responses."""

    def __init__(self, sring: SharedRing, *, attach: bool = False) -> None:
        """FRONT_RING_INIT (fresh ring, indices 0) or FRONT_RING_ATTACH (take the
        indices the shared header holds)."""
        self.sring = sring
        self.size = sring.layout.size
        self.req_prod_pvt = sring.get(_REQ_PROD) if attach else 0
        self.rsp_cons = sring.get(_RSP_PROD) if attach else 0

    def free_requests(self) -> int:
        return self.size - ((self.req_prod_pvt - self.rsp_cons) & MASK)

    def full(self) -> bool:
        return self.free_requests() == 0

    def put_request(self, request: dict[str, Any]) -> None:
        """Fill the next request slot (not yet visible: push_requests publishes it)."""
        if self.full():
            raise RingError("request ring is full")
        self.sring.write_entry(self.req_prod_pvt, self.sring.layout.request, request)
        self.req_prod_pvt = (self.req_prod_pvt + 1) & MASK

    def push_requests(self) -> bool:
        """RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publish; True if the backend must be
        notified."""
        old = self.sring.get(_REQ_PROD)
        new = self.req_prod_pvt
        self.sring.set(_REQ_PROD, new)
        return _notify(new, old, self.sring.get(_REQ_EVENT))

    def unconsumed_responses(self) -> int:
        """Responses published and not yet taken; RingError if the backend published
        more responses than there are requests outstanding."""
        avail = (self.sring.get(_RSP_PROD) - self.rsp_cons) & MASK
        if avail > (self.req_prod_pvt - self.rsp_cons) & MASK:
            raise RingError("rsp_prod is ahead of the requests made")
        return avail

    def get_response(self) -> dict[str, Any]:
        if not self.unconsumed_responses():
            raise RingError("no response to take")
        response = self.sring.read_entry(self.rsp_cons, self.sring.layout.response)
        self.rsp_cons = (self.rsp_cons + 1) & MASK
        return response

    def final_check_for_responses(self) -> bool:
        """RING_FINAL_CHECK_FOR_RESPONSES: True if there is work; otherwise ask to be
        notified of the next response and look once more."""
        if self.unconsumed_responses():
            return True
        self.sring.set(_RSP_EVENT, self.rsp_cons + 1)
        return self.unconsumed_responses() > 0


class BackRing:
    """The backend's end: takes requests (copied once), puts responses."""

    def __init__(self, sring: SharedRing, *, attach: bool = False) -> None:
        """BACK_RING_INIT (indices 0) or BACK_RING_ATTACH (from the shared header)."""
        self.sring = sring
        self.size = sring.layout.size
        self.rsp_prod_pvt = sring.get(_RSP_PROD) if attach else 0
        self.req_cons = sring.get(_REQ_PROD) if attach else 0

    def unconsumed_requests(self) -> int:
        """RING_HAS_UNCONSUMED_REQUESTS, bounded by the free response slots.  Raises
        RingError when req_prod is more than a ring ahead of our responses
        (RING_REQUEST_PROD_OVERFLOW): the frontend is broken or hostile."""
        prod = self.sring.get(_REQ_PROD)
        if (prod - self.rsp_prod_pvt) & MASK > self.size:
            raise RingError(f"req_prod {prod:#x} overflows the ring "
                            f"(responses at {self.rsp_prod_pvt:#x})")
        requests = (prod - self.req_cons) & MASK
        if requests > self.size:
            raise RingError(f"req_prod {prod:#x} went back behind req_cons "
                            f"{self.req_cons:#x}")
        room = self.size - ((self.req_cons - self.rsp_prod_pvt) & MASK)
        return min(requests, room)

    def request_cons_overflow(self, cons: int) -> bool:
        """RING_REQUEST_CONS_OVERFLOW: consuming at `cons` would overrun the responses."""
        return ((cons - self.rsp_prod_pvt) & MASK) >= self.size

    def copy_request(self) -> dict[str, Any]:
        """RING_COPY_REQUEST: the next request, read from the ring exactly once."""
        if not self.unconsumed_requests() or self.request_cons_overflow(self.req_cons):
            raise RingError("no request to take")
        request = self.sring.read_entry(self.req_cons, self.sring.layout.request)
        self.req_cons = (self.req_cons + 1) & MASK
        return request

    def put_response(self, response: dict[str, Any]) -> None:
        """Fill the next response slot (push_responses publishes it).  A response
        answers a request already taken, so there can be no more than those."""
        if self.rsp_prod_pvt == self.req_cons:
            raise RingError("a response without a request")
        self.sring.write_entry(self.rsp_prod_pvt, self.sring.layout.response, response)
        self.rsp_prod_pvt = (self.rsp_prod_pvt + 1) & MASK

    def push_responses(self) -> bool:
        """RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publish; True if the frontend must be
        notified."""
        old = self.sring.get(_RSP_PROD)
        new = self.rsp_prod_pvt
        self.sring.set(_RSP_PROD, new)
        return _notify(new, old, self.sring.get(_RSP_EVENT))

    def final_check_for_requests(self) -> bool:
        """RING_FINAL_CHECK_FOR_REQUESTS: True if there is work; otherwise ask to be
        notified of the next request and look once more."""
        if self.unconsumed_requests():
            return True
        self.sring.set(_REQ_EVENT, self.req_cons + 1)
        return self.unconsumed_requests() > 0
