"""The network half of benchmarks/io.py: two guests on one bridge.

Throughput: benchmarks/kernels/netbench.c sends frames from one guest to the other
through netfront -> netback -> bridge -> netback -> netfront; the receiver prints the
virtual time of its first and last frame, and a console stream here notes the
wall-clock time those lines arrive.  Latency: the ping demo (guest_os/ping_demo.c),
round-trip times in virtual microseconds as the pinger prints them.
"""

from __future__ import annotations

import os
import re
import statistics

from io_block import ROOT, StampedStream, build_kernel

from paravisor.toolstack.launch import launch

NETBENCH = os.path.join(ROOT, "benchmarks", "kernels", "netbench.c")
PING = os.path.join(ROOT, "guest_os", "ping_demo.c")
MAC_A, MAC_B = "00:16:3e:00:00:0a", "00:16:3e:00:00:0b"
_STAMP = re.compile(r"netbench: (start|done) (\d+):(\d+) (\d+) (\d+)")
_RTT = re.compile(r"icmp_seq=\d+ ttl=\d+ time=(\d+) us")


def write_pair(directory: str, kernel: str, cmd_a: str, cmd_b: str) -> str:
    """A host config: dom0 and guests a, b on br0 running `kernel`; its path."""
    for name, mac, cmdline in (("a", MAC_A, cmd_a), ("b", MAC_B, cmd_b)):
        with open(os.path.join(directory, f"net-{name}.cfg"), "w") as f:
            f.write(f'name = "net-{name}"\nkernel = "{kernel}"\nmemory = 8\n'
                    f'cmdline = "{cmdline}"\nvif = ["mac={mac},bridge=br0"]\n')
    path = os.path.join(directory, "net-host.cfg")
    with open(path, "w") as f:
        f.write(f'name = "Domain-0"\nkernel = "{ROOT}/guest_os/dom0.s"\nmemory = 8\n'
                'guests = ["net-b.cfg", "net-a.cfg"]\n')
    return path


def _run(config: str) -> tuple[str, StampedStream]:
    out = StampedStream()
    status = launch(config, stream=out, colour=False)
    if status != 0:
        raise SystemExit(f"the network benchmark guests failed:\n{out.getvalue()}")
    return out.getvalue(), out


def throughput(directory: str, holdoff: bool, frames: int, size: int) -> dict:
    """Mbit/s of `frames` frames of `size` bytes, in virtual and in wall-clock time."""
    kernel = build_kernel(NETBENCH, directory, holdoff)
    text, out = _run(write_pair(directory, kernel, f"send {MAC_B} {frames} {size}",
                                f"recv {frames}"))
    stamps = {m[0]: m[1:] for m in _STAMP.findall(text)}
    start, done = stamps["start"], stamps["done"]
    virtual_ns = ((int(done[0]) << 32) + int(done[1])) - ((int(start[0]) << 32) +
                                                          int(start[1]))
    received = int(done[3])
    wall = out.stamps["done"] - out.stamps["start"]
    return {"frames_received": int(done[2]), "frames_sent": frames,
            "mbps_virtual": round(received * 8 / virtual_ns * 1000, 1),
            "mbps_wall": round(received * 8 / wall / 1e6, 2)}


def ping_rtts(directory: str, holdoff: bool, count: int) -> list[int]:
    """The round-trip times (virtual us) of `count` pings between the two guests."""
    kernel = build_kernel(PING, directory, holdoff)
    text, _ = _run(write_pair(directory, kernel, f"ip=10.0.0.1 ping=10.0.0.2 count={count}",
                              f"ip=10.0.0.2 count={count}"))
    rtts = [int(t) for t in _RTT.findall(text)]
    if len(rtts) != count:
        raise SystemExit(f"expected {count} ping replies:\n{text}")
    return rtts


def net_results(directory: str, holdoff: bool, frames: int = 2000, size: int = 1514,
                pings: int = 20) -> dict:
    result = throughput(directory, holdoff, frames, size)
    rtts = ping_rtts(directory, holdoff, pings)
    result["ping_rtt_us_p50"] = statistics.median(rtts)
    result["ping_rtt_us_max"] = max(rtts)
    return result
