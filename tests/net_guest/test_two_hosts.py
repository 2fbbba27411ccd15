"""Two paravisor hosts joined by UDP uplinks on loopback: a guest on one pings a guest on
the other.  Each host's dom0.cfg puts br0's uplink towards the other host's port; while
its guests wait, a host with an uplink lets virtual time pass at the wall clock's pace,
so the other host has time to answer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from paravisor.toolchain.cc import build_program

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOM0 = os.path.join(REPO, "guest_os", "dom0.s")
PING = os.path.join(REPO, "guest_os", "ping_demo.c")


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _host(folder: str, name: str, kernel: str, cmdline: str, mac: str, peer: int,
          local: int) -> str:
    """dom0.cfg of a host with one ping_demo guest on br0, br0 uplinked to `peer`."""
    with open(os.path.join(folder, f"{name}.cfg"), "w") as f:
        f.write(f'name = "{name}"\nkernel = "{kernel}"\nmemory = 8\n'
                f'cmdline = "{cmdline}"\nvif = ["mac={mac},bridge=br0"]\n')
    path = os.path.join(folder, f"host-{name}.cfg")
    with open(path, "w") as f:
        f.write(f'name = "Domain-0"\nkernel = "{DOM0}"\nmemory = 8\n'
                f'guests = ["{name}.cfg"]\n'
                f'bridges = ["br0,uplink=127.0.0.1:{peer}@{local}"]\n')
    return path


def _launch(config: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-P", "-m", "paravisor.cli", "launch", config,
                             "--colour", "never", "--max-seconds", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_guest_pings_a_guest_on_another_host_through_the_uplinks(tmp_path):
    kernel = tmp_path / "ping.elf"              # built once: both hosts boot at once
    kernel.write_bytes(build_program([PING]))
    port_a, port_b = _free_udp_port(), _free_udp_port()
    host_b = _host(str(tmp_path), "pong", str(kernel), "ip=10.0.0.2 count=3",
                   "00:16:3e:00:00:02", peer=port_a, local=port_b)
    host_a = _host(str(tmp_path), "ping", str(kernel), "ip=10.0.0.1 ping=10.0.0.2 count=3",
                   "00:16:3e:00:00:01", peer=port_b, local=port_a)
    responder = _launch(host_b)
    seen = []
    for line in responder.stdout:                # until the responder's guest is up
        seen.append(line)
        if line.startswith("pong "):
            break
    pinger = _launch(host_a)
    out_a, _ = pinger.communicate(timeout=120)
    rest, _ = responder.communicate(timeout=120)
    out_b = "".join(seen) + rest
    assert pinger.returncode == 0, out_a + "\n---\n" + out_b
    assert responder.returncode == 0, out_b
    assert "3 packets transmitted, 3 received, 0% packet loss" in out_a
    assert "echo reply to 10.0.0.1 icmp_seq=3" in out_b
