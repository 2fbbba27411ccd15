"""pcap files: a vif's capture holds its traffic both ways, a bridge's capture every
frame it forwarded; the files parse (header, record lengths, bytes) and tshark reads
them when it is installed."""

import shutil
import struct
import subprocess

import pytest

from paravisor.services.netback.bridge import BridgeSetting
from paravisor.testing.netfront import BROADCAST, NetBed, ether_frame


def _parse(data: bytes) -> list[bytes]:
    """A tiny independent pcap reader: checks the global header, returns frames."""
    magic, major, minor, _zone, _sig, snaplen, linktype = struct.unpack("<IHHiIII", data[:24])
    assert (magic, major, minor, snaplen, linktype) == (0xA1B2C3D4, 2, 4, 65535, 1)
    frames, pos = [], 24
    while pos < len(data):
        _sec, usec, incl, orig = struct.unpack("<IIII", data[pos:pos + 16])
        assert usec < 1_000_000 and incl == orig
        frames.append(data[pos + 16:pos + 16 + incl])
        assert len(frames[-1]) == incl
        pos += 16 + incl
    return frames


def _traffic(tmp_path):
    bed = NetBed(nr_guests=2, bridges=(BridgeSetting("br0", pcap=str(tmp_path / "br0.pcap")),))
    a = bed.vif(bed.guests[0], bridge="br0", pcap=str(tmp_path / "a.pcap"))
    b = bed.vif(bed.guests[1], bridge="br0")
    for front in (a, b):
        front.post_rx(4)
    out = ether_frame(BROADCAST, a.mac, b"ping" * 30)
    back = ether_frame(a.mac, b.mac, b"pong" * 30)
    a.send(out)
    bed.hv.now += 1_500_000                            # 1.5 ms of virtual time later
    b.send(back)
    assert b.receive() == [out] and a.receive() == [back]
    return out, back


def test_vif_and_bridge_captures_hold_the_frames_sent(tmp_path):
    out, back = _traffic(tmp_path)
    # Readable while netback still runs: every record is flushed.
    assert _parse((tmp_path / "a.pcap").read_bytes()) == [out, back]
    assert _parse((tmp_path / "br0.pcap").read_bytes()) == [out, back]
    data = (tmp_path / "br0.pcap").read_bytes()
    second = 24 + 16 + len(out)
    assert struct.unpack("<II", data[second:second + 8]) == (0, 1500)    # virtual time


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_reads_the_capture(tmp_path):
    _traffic(tmp_path)
    result = subprocess.run(["tshark", "-r", str(tmp_path / "a.pcap")], capture_output=True,
                            text=True, timeout=60, env={"PATH": "/usr/bin:/bin",
                                                        "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 2
