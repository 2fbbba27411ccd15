"""A classic libpcap capture file writer (the format tcpdump, tshark and Wireshark read).

File: a 24-byte global header {magic 0xa1b2c3d4, version 2.4, thiszone 0, sigfigs 0,
snaplen 65535, network LINKTYPE_ETHERNET (1)}, then per frame a 16-byte record header
{ts_sec, ts_usec, incl_len, orig_len} and incl_len bytes of the frame.  We write
little-endian; readers learn the byte order from the magic.

Timestamps are virtual time (ns since the hypervisor booted, truncated to microseconds),
so a capture of a deterministic run is the same file every time.  Each record is flushed
as it is written: the file is readable while the host runs and complete up to the last
frame after a crash.
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Callable

PCAP_MAGIC = 0xA1B2C3D4
PCAP_VERSION = (2, 4)
PCAP_SNAPLEN = 65535
LINKTYPE_ETHERNET = 1
GLOBAL_HEADER = struct.Struct("<IHHiIII")
RECORD_HEADER = struct.Struct("<IIII")


class PcapWriter:
    """Appends frames to a new capture file at `path` (truncated if it exists).

    `clock` gives the virtual time in ns for each record.  Opening errors are OSError
    for the caller to report; the open never waits: a FIFO with no reader yet is such
    an error (ENXIO), one with a reader (`wireshark -k -i FIFO`) is written to.  After
    `close()` further frames are ignored.
    """

    def __init__(self, path: str, clock: Callable[[], int]) -> None:
        self.path, self.clock = path, clock
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK
                         | os.O_CLOEXEC, 0o666)
        except OSError as err:
            if err.errno == errno.ENXIO:
                raise OSError(err.errno, "a FIFO with no reader (start the reader "
                                         "first)", path) from None
            raise
        os.set_blocking(fd, True)
        self.file = open(fd, "wb")     # noqa: SIM115 -- lives as long as the writer
        self.records = 0
        self.file.write(GLOBAL_HEADER.pack(PCAP_MAGIC, *PCAP_VERSION, 0, 0, PCAP_SNAPLEN,
                                           LINKTYPE_ETHERNET))
        self.file.flush()

    def write(self, frame: bytes) -> None:
        """Record one frame at the current virtual time (cut to the snaplen)."""
        if self.file.closed:
            return
        now_us = max(self.clock(), 0) // 1000
        sec, usec = divmod(now_us, 1_000_000)
        data = frame[:PCAP_SNAPLEN]
        self.file.write(RECORD_HEADER.pack(sec & 0xFFFF_FFFF, usec, len(data), len(frame)))
        self.file.write(data)
        self.file.flush()
        self.records += 1

    def close(self) -> None:
        self.file.close()


def read_pcap(data: bytes) -> list[tuple[int, bytes, int]]:
    """Parse a capture we wrote: [(timestamp in us, frame bytes, orig_len)].  ValueError
    if the header or a record is malformed (used by tests and tools, not by netback)."""
    if len(data) < GLOBAL_HEADER.size:
        raise ValueError("shorter than a pcap header")
    magic, major, minor, _zone, _sigfigs, snaplen, linktype = GLOBAL_HEADER.unpack_from(data)
    if magic != PCAP_MAGIC or (major, minor) != PCAP_VERSION or linktype != LINKTYPE_ETHERNET:
        raise ValueError("not a little-endian pcap 2.4 ethernet capture")
    out, pos = [], GLOBAL_HEADER.size
    while pos < len(data):
        if pos + RECORD_HEADER.size > len(data):
            raise ValueError(f"truncated record header at byte {pos}")
        sec, usec, incl, orig = RECORD_HEADER.unpack_from(data, pos)
        pos += RECORD_HEADER.size
        if incl > snaplen or incl > orig or pos + incl > len(data):
            raise ValueError(f"bad record lengths at byte {pos}")
        out.append((sec * 1_000_000 + usec, data[pos:pos + incl], orig))
        pos += incl
    return out
