"""Two hosts' bridges joined by UDP uplinks on loopback: a frame crosses both ways."""

import socket
import time

from paravisor.services.netback.bridge import BridgeSetting, Switch


class _Recorder:
    def __init__(self, name):
        self.name, self.got = name, []

    def deliver(self, frame):
        self.got.append(frame)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _poll_until(switch: Switch, port: _Recorder) -> None:
    deadline = time.monotonic() + 5
    while not port.got and time.monotonic() < deadline:
        switch.poll()
        time.sleep(0.001)


def test_frames_cross_an_uplink_both_ways():
    p1, p2 = _free_port(), _free_port()
    logs: list[str] = []
    one = Switch(lambda: 0, (BridgeSetting("br0", uplink=("127.0.0.1", p2, p1)),), logs.append)
    two = Switch(lambda: 0, (BridgeSetting("br0", uplink=("127.0.0.1", p1, p2)),), logs.append)
    try:
        a, b = _Recorder("a"), _Recorder("b")
        one.bridge("br0").attach(a)
        two.bridge("br0").attach(b)
        assert logs == []
        frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"over udp"
        one.bridge("br0").forward(a, frame)
        _poll_until(two, b)
        assert b.got == [frame]
        reply = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x88\xb5ok"
        two.bridge("br0").forward(b, reply)
        _poll_until(one, a)
        assert a.got == [reply]
    finally:
        one.close()
        two.close()
