"""The XenStore wire protocol (io/xs_wire.h, docs/misc/xenstore.txt): framing and
request parsing.

Every message, either way, is a 16-byte xsd_sockmsg header {type, req_id, tx_id, len}
followed by `len` payload bytes, len <= XENSTORE_PAYLOAD_MAX (4096).  A client that
announces more is killed (xenstored does the same): `MessageReader` raises
ProtocolError.  Everything else a client may get wrong (unknown type, missing NULs,
bad paths) is answered with an XS_ERROR reply carrying the errno's *name*.

Payload strings are NUL-terminated; we decode them as Latin-1 so arbitrary token bytes
round-trip unchanged (paths are checked against their ASCII alphabet later).
"""

from __future__ import annotations

from dataclasses import dataclass

from paravisor.abi import XSD_SOCKMSG, XenstoreMisc, XsType
from paravisor.services.xenstore.tree import XenStoreError

HEADER_SIZE = XSD_SOCKMSG.size
PAYLOAD_MAX = int(XenstoreMisc.XENSTORE_PAYLOAD_MAX)
OK = b"OK\0"


class ProtocolError(Exception):
    """The byte stream cannot be trusted any more: drop the connection."""


@dataclass(frozen=True)
class Message:
    type: int
    req_id: int
    tx_id: int
    payload: bytes

    def encode(self) -> bytes:
        return XSD_SOCKMSG.pack(type=self.type, req_id=self.req_id, tx_id=self.tx_id,
                                len=len(self.payload)) + self.payload


class MessageReader:
    """Reassembles whole messages from the bytes a client sends, in any split."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def next_message(self) -> Message | None:
        """The next complete message, or None until more bytes arrive."""
        if len(self.buffer) < HEADER_SIZE:
            return None
        header = XSD_SOCKMSG.unpack(bytes(self.buffer[:HEADER_SIZE]))
        if header["len"] > PAYLOAD_MAX:
            raise ProtocolError(f"message of {header['len']} bytes (limit {PAYLOAD_MAX})")
        end = HEADER_SIZE + header["len"]
        if len(self.buffer) < end:
            return None
        payload = bytes(self.buffer[HEADER_SIZE:end])
        del self.buffer[:end]
        return Message(header["type"], header["req_id"], header["tx_id"], payload)


# --- requests ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """A parsed request: `args` are its strings, `value` WRITE's binary value."""
    op: XsType
    req_id: int
    tx_id: int
    args: tuple[str, ...] = ()
    value: bytes = b""


# op -> (fewest strings, most strings); None: any number.  WRITE is special (binary).
_SHAPES: dict[XsType, tuple[int, int | None]] = {
    XsType.XS_READ: (1, 1), XsType.XS_DIRECTORY: (1, 1), XsType.XS_GET_PERMS: (1, 1),
    XsType.XS_MKDIR: (1, 1), XsType.XS_RM: (1, 1), XsType.XS_GET_DOMAIN_PATH: (1, 1),
    XsType.XS_RELEASE: (1, 1), XsType.XS_IS_DOMAIN_INTRODUCED: (1, 1),
    XsType.XS_TRANSACTION_END: (1, 1), XsType.XS_SET_PERMS: (2, None),
    XsType.XS_WATCH: (2, 3), XsType.XS_UNWATCH: (2, 3), XsType.XS_INTRODUCE: (3, 4),
    XsType.XS_TRANSACTION_START: (0, 1), XsType.XS_RESET_WATCHES: (0, 1),
}
SUPPORTED = frozenset(_SHAPES) | {XsType.XS_WRITE}


def strings(payload: bytes) -> list[str]:
    """The NUL-terminated strings of a payload; EINVAL if the last is unterminated."""
    if not payload:
        return []
    if not payload.endswith(b"\0"):
        raise XenStoreError("EINVAL", "payload string is not NUL-terminated")
    return [part.decode("latin-1") for part in payload[:-1].split(b"\0")]


def parse_request(msg: Message) -> Request:
    """Check a client message against its type's payload syntax.  Raises XenStoreError
    (ENOSYS for a type we do not serve, EINVAL for a malformed payload)."""
    if msg.type not in SUPPORTED:
        raise XenStoreError("ENOSYS", f"message type {msg.type}")
    op = XsType(msg.type)
    if op == XsType.XS_WRITE:
        end = msg.payload.find(b"\0")
        if end < 0:
            raise XenStoreError("EINVAL", "WRITE needs <path>|<value>")
        path = msg.payload[:end].decode("latin-1")
        return Request(op, msg.req_id, msg.tx_id, (path,), msg.payload[end + 1:])
    args = strings(msg.payload)
    fewest, most = _SHAPES[op]
    if len(args) < fewest or (most is not None and len(args) > most):
        raise XenStoreError("EINVAL", f"{op.name} takes {fewest}..{most} strings")
    return Request(op, msg.req_id, msg.tx_id, tuple(args))


def parse_domid(text: str) -> int:
    """A decimal domid 0..65535 (EINVAL otherwise)."""
    if not text.isascii() or not text.isdigit() or int(text) > 0xFFFF:
        raise XenStoreError("EINVAL", f"bad domid {text[:16]!r}")
    return int(text)


def parse_int(text: str) -> int:
    """A signed decimal number, as INTRODUCE's mfn and port are written."""
    body = text[1:] if text.startswith("-") else text
    if not body.isascii() or not body.isdigit() or len(body) > 10:
        raise XenStoreError("EINVAL", f"bad number {text[:16]!r}")
    return int(text)


# --- replies -------------------------------------------------------------------------------

def pack_strings(items: list[str] | tuple[str, ...]) -> bytes:
    return b"".join(item.encode("latin-1") + b"\0" for item in items)


def reply(req: Request, payload: bytes) -> Message:
    """The success reply to `req`; E2BIG instead if the payload would be too long."""
    if len(payload) > PAYLOAD_MAX:
        return error_reply(req.req_id, req.tx_id, "E2BIG")
    return Message(int(req.op), req.req_id, req.tx_id, payload)


def error_reply(req_id: int, tx_id: int, errno: str) -> Message:
    return Message(int(XsType.XS_ERROR), req_id, tx_id, errno.encode() + b"\0")


def watch_event(path: str, token: str) -> Message:
    """An unsolicited WATCH_EVENT (req_id and tx_id 0)."""
    return Message(int(XsType.XS_WATCH_EVENT), 0, 0, pack_strings((path, token)))
