"""The guest network stack (guest_os/net/) run on PV32, against packets built and
parsed in Python with struct: Ethernet, ARP, IPv4, ICMP echo, the Internet checksum,
and the answers net_input gives."""

from __future__ import annotations

import random
import struct

import pytest

from paravisor.testing.cc import run_c

MAC_A = bytes.fromhex("00163e000001")
MAC_B = bytes.fromhex("00163e000002")
IP_A, IP_B, IP_C = 0x0A000001, 0x0A000002, 0x0A000003
BROADCAST = b"\xff" * 6

# A capture `send` for the stack: each frame is printed as one hex line.
PRELUDE = r"""
#include <netstack.h>
#include <stdio.h>
#include <string.h>

static long capture(void *ctx, const uint8_t *frame, size_t len)
{
    size_t i;

    printf("%s ", (const char *)ctx);
    for (i = 0; i < len; i++)
        printf("%02x", frame[i]);
    printf("\n");
    return 0;
}

static void hex(const char *tag, const uint8_t *p, size_t len)
{
    capture((void *)tag, p, len);
}
"""


def checksum(data: bytes) -> int:
    """RFC 1071, the reference for the C inet_checksum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def eth(dst: bytes, src: bytes, ethertype: int, payload: bytes) -> bytes:
    frame = dst + src + struct.pack("!H", ethertype) + payload
    return frame.ljust(60, b"\0")


def arp(op: int, sha: bytes, spa: int, tha: bytes, tpa: int) -> bytes:
    return struct.pack("!HHBBH6sI6sI", 1, 0x0800, 6, 4, op, sha, spa, tha, tpa)


def ipv4(src: int, dst: int, payload: bytes, ident: int, ttl: int = 64) -> bytes:
    header = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(payload), ident, 0x4000, ttl, 1,
                         0, src, dst)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def icmp_echo(kind: int, ident: int, seq: int, data: bytes) -> bytes:
    message = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + data
    return message[:2] + struct.pack("!H", checksum(message)) + message[4:]


def c_array(name: str, data: bytes) -> str:
    body = ", ".join(str(b) for b in data) or "0"
    return f"static const uint8_t {name}[] = {{{body}}};\n"


def run(body: str, arrays: str = "") -> list[str]:
    """Run `body` as main's statements after PRELUDE; the console lines."""
    status, out = run_c(PRELUDE + arrays + "int main(void)\n{\n" + body + "\n}\n")
    assert status == 0, out
    return out.splitlines()


def tagged(lines: list[str], tag: str) -> list[str]:
    return [line.split(" ", 1)[1] for line in lines if line.startswith(tag + " ")]


def test_built_packets_equal_python_struct():
    lines = run(r"""
    struct netstack ns;
    uint8_t buf[128];
    const uint8_t data[5] = {1, 2, 3, 4, 5};
    size_t n;

    net_init(&ns, (const uint8_t *)"\x00\x16\x3e\x00\x00\x01", 0x0a000001, capture, "tx");
    net_arp_request(&ns, 0x0a000002);
    arp_cache_update(&ns.arp, 0x0a000002, (const uint8_t *)"\x00\x16\x3e\x00\x00\x02");
    net_send_echo(&ns, 0x0a000002, ICMP_ECHO, 0x1234, 7, data, 5);
    n = icmp_echo_build(buf, ICMP_ECHOREPLY, 0xfffe, 0x8001, data, 5);
    hex("icmp", buf, n);
    n = ip4_build(buf, 0xc0a80101, 0x08080808, IPPROTO_ICMP, 0xbeef, 1480);
    hex("ip", buf, n);
    n = eth_build(buf, eth_broadcast, ns.mac, ETH_P_IP);
    hex("eth", buf, n);
    return 0;
""")
    sent = [bytes.fromhex(h) for h in tagged(lines, "tx")]
    assert sent[0] == eth(BROADCAST, MAC_A, 0x0806, arp(1, MAC_A, IP_A, b"\0" * 6, IP_B))
    echo = icmp_echo(8, 0x1234, 7, bytes([1, 2, 3, 4, 5]))
    assert sent[1] == eth(MAC_B, MAC_A, 0x0800, ipv4(IP_A, IP_B, echo, ident=1))
    assert tagged(lines, "icmp") == [icmp_echo(0, 0xFFFE, 0x8001, bytes([1, 2, 3, 4, 5])).hex()]
    assert tagged(lines, "ip") == [ipv4(0xC0A80101, 0x08080808, b"\0" * 1480, 0xBEEF)[:20].hex()]
    assert tagged(lines, "eth") == [(BROADCAST + MAC_A + b"\x08\x00").hex()]


def test_checksum_matches_rfc1071():
    rng = random.Random(1071)
    buffers = [b"", b"\x01", b"\xff\xff", b"\xff" * 7, bytes(range(256)) * 6]
    buffers += [rng.randbytes(rng.randrange(1, 300)) for _ in range(20)]
    arrays = "".join(c_array(f"b{i}", data) for i, data in enumerate(buffers))
    calls = "".join(f'    printf("%u\\n", inet_checksum(b{i}, {len(data)}));\n'
                    for i, data in enumerate(buffers))
    lines = run(calls + "    return 0;", arrays)
    assert [int(line) for line in lines] == [checksum(data) for data in buffers]


# What net_input must do with each frame, for a stack at MAC_A / IP_A.
ECHO_DATA = bytes(range(0x10, 0x10 + 56))
INPUT_CASES = [
    ("arp_request", eth(BROADCAST, MAC_B, 0x0806, arp(1, MAC_B, IP_B, b"\0" * 6, IP_A)), 1,
     eth(MAC_B, MAC_A, 0x0806, arp(2, MAC_A, IP_A, MAC_B, IP_B))),
    ("arp_other", eth(BROADCAST, MAC_B, 0x0806, arp(1, MAC_B, IP_B, b"\0" * 6, IP_C)), 0,
     None),
    ("arp_reply", eth(MAC_A, MAC_B, 0x0806, arp(2, MAC_B, IP_B, MAC_A, IP_A)), 2, None),
    ("echo_request", eth(MAC_A, MAC_B, 0x0800,
                         ipv4(IP_B, IP_A, icmp_echo(8, 0x5056, 3, ECHO_DATA), 9)), 3,
     eth(MAC_B, MAC_A, 0x0800, ipv4(IP_A, IP_B, icmp_echo(0, 0x5056, 3, ECHO_DATA), 1))),
    ("echo_reply", eth(MAC_A, MAC_B, 0x0800,
                       ipv4(IP_B, IP_A, icmp_echo(0, 0x5056, 4, b"xyz"), 9, ttl=17)), 4, None),
    ("other_mac", eth(MAC_B, MAC_B, 0x0800,
                      ipv4(IP_B, IP_A, icmp_echo(8, 1, 1, b""), 9)), 0, None),
    ("other_ip", eth(MAC_A, MAC_B, 0x0800,
                     ipv4(IP_B, IP_C, icmp_echo(8, 1, 1, b""), 9)), 0, None),
    ("bad_ip_checksum", eth(MAC_A, MAC_B, 0x0800,
                            bytes(ipv4(IP_B, IP_A, icmp_echo(8, 1, 1, b""), 9)[:10])
                            + b"\0\0" + ipv4(IP_B, IP_A, icmp_echo(8, 1, 1, b""), 9)[12:]),
     0, None),
    ("bad_icmp_checksum", eth(MAC_A, MAC_B, 0x0800,
                              ipv4(IP_B, IP_A, b"\x08\0\0\0\0\1\0\1", 9)), 0, None),
    ("truncated", eth(MAC_A, MAC_B, 0x0800, b"")[:20], 0, None),
    ("ipv6", eth(MAC_A, MAC_B, 0x86DD, b"\x60" + b"\0" * 39), 0, None),
]


def test_input_answers_arp_and_echo_requests():
    arrays = "".join(c_array(name, frame) for name, frame, _, _ in INPUT_CASES)
    body = r"""
    struct netstack ns;
    struct net_event ev;
    long kind;
    char ip[16];

    net_init(&ns, (const uint8_t *)"\x00\x16\x3e\x00\x00\x01", 0x0a000001, capture, "tx");
"""
    for name, _, _, _ in INPUT_CASES:
        body += f"""
    kind = net_input(&ns, {name}, sizeof({name}), &ev);
    printf("{name} %ld\\n", kind);
    if (kind == NET_IN_ECHO_REPLY)
        printf("reply %s %u %u %u %u\\n", ip4_ntoa(ev.src_ip, ip), ev.ttl, ev.echo.id,
               ev.echo.seq, (unsigned int)ev.echo.data_len);
"""
    body += r"""
    printf("cached %d\n", arp_cache_lookup(&ns.arp, 0x0a000002) != NULL);
    return 0;"""
    lines = run(body, arrays)
    answers = iter(tagged(lines, "tx"))
    for name, _, kind, answer in INPUT_CASES:
        assert tagged(lines, name) == [str(kind)], name
        if answer is not None:
            assert next(answers) == answer.hex(), name
    assert next(answers, None) is None
    assert tagged(lines, "reply") == ["10.0.0.2 17 20566 4 3"]
    assert tagged(lines, "cached") == ["1"]


@pytest.mark.parametrize("text, value", [
    ("10.0.0.1", 0x0A000001), ("255.255.255.255", 0xFFFFFFFF), ("0.0.0.0", 0),
    ("192.168.1.20", 0xC0A80114),
    ("10.0.0", None), ("10.0.0.256", None), ("10..0.1", None), ("10.0.0.1.", None),
    ("1000.0.0.1", None), ("a.b.c.d", None), ("", None), ("10.0.0.1 ", None),
])
def test_ip4_aton(text: str, value: int | None):
    lines = run(f"""
    uint32_t addr = 7;
    char out[16];
    long rc = ip4_aton("{text}", &addr);
    printf("%ld %u %s\\n", rc, addr, rc == 0 ? ip4_ntoa(addr, out) : "-");
    return 0;""")
    if value is None:
        assert lines == ["-22 7 -"]
    else:
        assert lines == [f"0 {value} {text}"]


def test_mac_parse_format_and_byte_order():
    lines = run(r"""
    uint8_t mac[6] = {9, 9, 9, 9, 9, 9};
    uint8_t be[4];
    char out[18];

    printf("%ld %s\n", mac_parse("00:16:3E:aB:cd:ef", mac), mac_format(mac, out));
    printf("%ld\n", mac_parse("00:16:3e:ab:cd", mac));
    printf("%ld\n", mac_parse("00:16:3e:ab:cd:ef:", mac));
    printf("%ld\n", mac_parse("00-16-3e-ab-cd-ef", mac));
    printf("%ld %s\n", mac_parse("0g:16:3e:ab:cd:ef", mac), mac_format(mac, out));
    put_be32(be, 0x01020304);
    printf("%x %x %x %x %x\n", htons(0x1234), ntohl(0x11223344), get_be16(be + 1),
           get_be32(be), be[0]);
    return 0;""")
    assert lines == ["0 00:16:3e:ab:cd:ef", "-22", "-22", "-22", "-22 00:16:3e:ab:cd:ef",
                     "3412 44332211 203 1020304 1"]
