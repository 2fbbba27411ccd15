"""The two-guest ping demo (guest_os/ping_demo.c over netfront, netback's bridge and
the guest_os/net/ stack) end to end through `launch`: exit status, the console lines
with round-trip times, determinism across runs and engines, and the pcap it wrote
(read by a tiny reader here, and by tshark when it is installed)."""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import subprocess

import pytest

from paravisor.toolstack.launch import launch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNEL = os.path.join(REPO, "guest_os", "ping_demo.c")
DOM0 = os.path.join(REPO, "guest_os", "dom0.s")
MAC_A, MAC_B = "00:16:3e:00:00:01", "00:16:3e:00:00:02"
COUNT = 4


def write_host(folder: str, guests: dict[str, tuple[str, str]]) -> str:
    """A host config in `folder` with one ping_demo guest per name -> (cmdline, vif)."""
    for name, (cmdline, vif) in guests.items():
        with open(os.path.join(folder, f"{name}.cfg"), "w") as f:
            f.write(f'name = "{name}"\nkernel = "{KERNEL}"\nmemory = 8\n'
                    f'cmdline = "{cmdline}"\nvif = ["{vif}"]\n')
    host = os.path.join(folder, "host.cfg")
    with open(host, "w") as f:
        listed = ", ".join(f'"{name}.cfg"' for name in guests)
        f.write(f'name = "Domain-0"\nkernel = "{DOM0}"\nmemory = 8\nguests = [{listed}]\n')
    return host


def run_demo(folder: str, engine: str) -> tuple[int, str]:
    """ping-b (responder) and ping-a (pinger, vif pcap ping.pcap) on br0."""
    host = write_host(folder, {
        "ping-b": (f"ip=10.0.0.2 count={COUNT}", f"mac={MAC_B},bridge=br0"),
        "ping-a": (f"ip=10.0.0.1 ping=10.0.0.2 count={COUNT}",
                   f"mac={MAC_A},bridge=br0,pcap=ping.pcap"),
    })
    stream = io.StringIO()
    status = launch(host, engine=engine, stream=stream, colour=False)
    return status, stream.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[int, str, str]]:
    """Two interpreter runs and one JIT run: name -> (status, console, pcap path)."""
    out = {}
    for name, engine in (("interp", "interp"), ("interp2", "interp"), ("jit", "jit")):
        folder = str(tmp_path_factory.mktemp(name))
        status, console = run_demo(folder, engine)
        out[name] = (status, console, os.path.join(folder, "ping.pcap"))
    return out


def guest_lines(console: str, name: str) -> list[str]:
    prefix = re.compile(rf"^{re.escape(name)}\s*\| ")
    return [prefix.sub("", line) for line in console.splitlines() if prefix.match(line)]


def test_demo_exits_0_with_a_reply_per_echo(runs):
    status, console, _ = runs["interp"]
    assert status == 0, console
    pinger = guest_lines(console, "ping-a")
    replies = [re.fullmatch(r"64 bytes from 10\.0\.0\.2: icmp_seq=(\d+) ttl=64 time=(\d+) us",
                            line) for line in pinger]
    replies = [m for m in replies if m]
    assert [int(m[1]) for m in replies] == list(range(1, COUNT + 1))
    rtts = [int(m[2]) for m in replies]
    assert all(0 < rtt < 1_000_000 for rtt in rtts)
    assert "ARP: 10.0.0.2 is at 00:16:3e:00:00:02" in pinger
    assert f"{COUNT} packets transmitted, {COUNT} received, 0% packet loss" in pinger
    assert (f"rtt min/avg/max = {min(rtts)}/{sum(rtts) // COUNT}/{max(rtts)} us" in pinger)
    responder = guest_lines(console, "ping-b")
    assert [line for line in responder if line.startswith("echo reply")] == [
        f"echo reply to 10.0.0.1 icmp_seq={seq}" for seq in range(1, COUNT + 1)]


def test_demo_is_deterministic_across_runs_and_engines(runs):
    interp, again, jit = (runs[name][1] for name in ("interp", "interp2", "jit"))
    assert runs["jit"][0] == 0
    assert interp == again
    assert interp == jit


def read_pcap(path: str) -> list[tuple[int, bytes]]:
    """A classic pcap file: [(timestamp in us, frame)]; checks the global header."""
    with open(path, "rb") as f:
        data = f.read()
    magic, major, minor, _, _, snaplen, linktype = struct.unpack_from("<IHHiIII", data)
    assert (magic, major, minor, linktype) == (0xA1B2C3D4, 2, 4, 1)
    records, offset = [], 24
    while offset < len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, offset)
        assert incl == orig <= snaplen
        records.append((sec * 1_000_000 + usec, data[offset + 16:offset + 16 + incl]))
        offset += 16 + incl
    assert offset == len(data)
    return records


def classify(frame: bytes) -> tuple:
    """('arp', op, sender ip, target ip) or ('icmp', type, id, seq, src ip, payload)."""
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    if ethertype == 0x0806:
        op, spa, tpa = struct.unpack_from("!H", frame, 20)[0], frame[28:32], frame[38:42]
        return ("arp", op, ".".join(map(str, spa)), ".".join(map(str, tpa)))
    assert ethertype == 0x0800 and frame[14 + 9] == 1
    total = struct.unpack_from("!H", frame, 16)[0]
    icmp = frame[34:14 + total]
    kind, _, _, ident, seq = struct.unpack_from("!BBHHH", icmp)
    return ("icmp", kind, ident, seq, ".".join(map(str, frame[26:30])), icmp[8:])


def test_pcap_holds_arp_and_echo_pairs(runs):
    records = read_pcap(runs["interp"][2])
    times = [t for t, _ in records]
    assert times == sorted(times)
    packets = [classify(frame) for _, frame in records]
    assert packets[:2] == [("arp", 1, "10.0.0.1", "10.0.0.2"), ("arp", 2, "10.0.0.2", "10.0.0.1")]
    assert records[0][1][:6] == b"\xff" * 6
    echoes = packets[2:]
    assert len(echoes) == 2 * COUNT
    for seq in range(1, COUNT + 1):
        request, reply = echoes[2 * seq - 2], echoes[2 * seq - 1]
        assert request[:2] == ("icmp", 8) and request[3:5] == (seq, "10.0.0.1")
        assert reply[:2] == ("icmp", 0) and reply[3:5] == (seq, "10.0.0.2")
        assert request[2] == reply[2] and request[5] == reply[5] and len(reply[5]) == 56


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_reads_the_pcap(runs):
    done = subprocess.run(["tshark", "-r", runs["interp"][2]], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Echo (ping) request") == COUNT
    assert done.stdout.count("Echo (ping) reply") == COUNT
    assert "Who has 10.0.0.2? Tell 10.0.0.1" in done.stdout


def test_pinger_alone_fails_after_arp(tmp_path):
    host = write_host(str(tmp_path), {
        "ping-a": ("ip=10.0.0.1 ping=10.0.0.2 count=1", f"mac={MAC_A},bridge=br0")})
    stream = io.StringIO()
    assert launch(host, engine="interp", stream=stream, colour=False) != 0
    lines = guest_lines(stream.getvalue(), "ping-a")
    assert "ping-demo: no ARP reply from 10.0.0.2" in lines


def test_bad_command_line_is_reported(tmp_path):
    host = write_host(str(tmp_path), {"ping-a": ("ip=10.0.0.300", f"mac={MAC_A},bridge=br0")})
    stream = io.StringIO()
    assert launch(host, engine="interp", stream=stream, colour=False) != 0
    assert "ping-demo: bad command-line word 'ip=10.0.0.300'" in guest_lines(
        stream.getvalue(), "ping-a")
