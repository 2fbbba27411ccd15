"""netfront's edges, in two guests on one bridge: frame sizes it refuses, a burst of
more frames than it has tx buffers, a frame longer than the receiver's buffer, a
receive timeout, the XenStore keys it publishes, and shutdown."""

from __future__ import annotations

import io
import os
import re

import pytest

from paravisor.toolstack.launch import launch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOM0 = os.path.join(REPO, "guest_os", "dom0.s")
BURST = 40                           # > NETFRONT_TX_BUFFERS (16)

# role "tx" (MAC ..:01) sends 61-byte "hello" frames every 10 ms until role "rx" (MAC
# ..:02), which may connect later, answers one with a 60-byte "ready" frame; then it
# sends sizes 13 and 4097 (refused), 14, 60, 1514, 4096, then BURST frames of 100
# bytes.  Payload byte i of frame n is (n + i) & 0xff.  rx receives with a 2048-byte
# buffer and skips the hellos.
PROGRAM = r"""
#include <netfront.h>
#include <stdio.h>
#include <string.h>

static uint8_t frame[PAGE_SIZE + 1];
static const uint8_t mac_tx[6] = {0x00, 0x16, 0x3e, 0, 0, 1};
static const uint8_t mac_rx[6] = {0x00, 0x16, 0x3e, 0, 0, 2};

static unsigned int fill(unsigned int n, unsigned int len, const uint8_t *dst)
{
    unsigned int i;

    for (i = 12; i < len; i++)
        frame[i] = (uint8_t)(n + i);
    memcpy(frame, dst, 6);
    memcpy(frame + 6, dst == mac_rx ? mac_tx : mac_rx, 6);
    return len;
}

static int check(unsigned int n, long len)
{
    long i;

    for (i = 12; i < len; i++)
        if (frame[i] != (uint8_t)(n + i))
            return 0;
    return 1;
}

static void show_key(struct netfront *dev, const char *key)
{
    char path[128], value[32];

    snprintf(path, sizeof(path), "%s/%s", dev->xb.nodename, key);
    if (xenbus_read(XBT_NIL, path, value, sizeof(value)) < 0)
        strcpy(value, "?");
    printf("key %s=%s\n", key, value);
}

static void sender(struct netfront *dev)
{
    static const unsigned int sizes[] = {13, 4097, 14, 60, 1514, 4096};
    unsigned int i;

    long rc = -1;

    for (i = 0; i < 100 && rc != 60; i++) {
        netfront_send(dev, frame, fill(0, 61, mac_rx));
        rc = netfront_receive(dev, frame, sizeof(frame), deadline_after_ms(10));
    }
    printf("ready %ld\n", rc);
    for (i = 0; i < 6; i++)
        printf("send %u %ld\n", sizes[i], netfront_send(dev, frame, fill(i, sizes[i], mac_rx)));
    for (i = 0; i < BURST; i++)
        if (netfront_send(dev, frame, fill(100 + i, 100, mac_rx)) != 0)
            printf("burst %u failed\n", i);
    printf("burst sent\n");
}

/* The next frame that is not a hello. */
static long receive_data(struct netfront *dev)
{
    long len;

    do
        len = netfront_receive(dev, frame, 2048, deadline_after_ms(5000));
    while (len == 61);
    return len;
}

static void receiver(struct netfront *dev)
{
    unsigned int i, good = 0;
    long len = netfront_receive(dev, frame, 2048, deadline_after_ms(5000));

    printf("hello %ld\n", len);
    netfront_send(dev, frame, fill(0, 60, mac_tx));
    for (i = 2; i < 6; i++) {
        len = receive_data(dev);
        printf("recv %ld %d\n", len, len > 0 && check(i, len));
    }
    for (i = 0; i < BURST; i++) {
        len = receive_data(dev);
        good += len == 100 && check(100 + i, len);
    }
    printf("burst received %u\n", good);
    printf("timeout %ld\n", netfront_receive(dev, frame, 2048, deadline_after_ms(5)));
    printf("stats %u %u\n", dev->rx_packets, dev->rx_dropped);
}

int main(void)
{
    struct netfront *dev;
    long rc = netfront_init(NETFRONT_FIRST, &dev);
    char path[128];
    long state = -1;

    printf("init %ld\n", rc);
    if (rc)
        return 1;
    show_key(dev, "request-rx-copy");
    show_key(dev, "feature-rx-notify");
    show_key(dev, "state");
    snprintf(path, sizeof(path), "%s/state", dev->xb.backend);
    xenbus_read_int(XBT_NIL, path, &state);
    printf("backend state %ld\n", state);
    if (strcmp(__start_info->cmd_line, "role=tx") == 0)
        sender(dev);
    else
        receiver(dev);
    printf("shutdown %ld\n", netfront_shutdown(dev));
    printf("after %ld %ld\n", netfront_send(dev, frame, 60),
           netfront_receive(dev, frame, 60, stime_never()));
    return 0;
}
""".replace("BURST", str(BURST))


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("netfront")
    kernel = folder / "nf.c"
    kernel.write_text(PROGRAM)
    for role, mac in (("rx", "00:16:3e:00:00:02"), ("tx", "00:16:3e:00:00:01")):
        (folder / f"{role}.cfg").write_text(
            f'name = "{role}"\nkernel = "{kernel}"\nmemory = 8\ncmdline = "role={role}"\n'
            f'vif = ["mac={mac},bridge=br0"]\n')
    (folder / "host.cfg").write_text(f'name = "Domain-0"\nkernel = "{DOM0}"\nmemory = 8\n'
                                     'guests = ["rx.cfg", "tx.cfg"]\n')
    stream = io.StringIO()
    status = launch(str(folder / "host.cfg"), engine="interp", stream=stream, colour=False)
    assert status == 0, stream.getvalue()
    return stream.getvalue()


def lines_of(console: str, name: str) -> list[str]:
    prefix = re.compile(rf"^{name}\s*\| ")
    return [prefix.sub("", line) for line in console.splitlines() if prefix.match(line)]


@pytest.mark.parametrize("role", ["tx", "rx"])
def test_handshake_keys_and_shutdown(console, role):
    lines = lines_of(console, role)
    assert lines[:5] == ["init 0", "key request-rx-copy=1", "key feature-rx-notify=1",
                         "key state=4", "backend state 4"]
    assert "shutdown 0" in lines
    assert lines[-1] == "after -19 -19"          # -ENODEV once shut down


def test_sender_refuses_bad_sizes_and_survives_a_burst(console):
    lines = lines_of(console, "tx")
    assert "ready 60" in lines
    assert [line for line in lines if line.startswith("send ")] == [
        "send 13 -90", "send 4097 -90", "send 14 0", "send 60 0", "send 1514 0",
        "send 4096 0"]                            # -EMSGSIZE outside 14..PAGE_SIZE
    assert "burst sent" in lines and not any("failed" in line for line in lines)


def test_receiver_gets_each_frame_intact(console):
    lines = lines_of(console, "rx")
    assert [line for line in lines if line.startswith("recv ")] == [
        "recv 14 1", "recv 60 1", "recv 1514 1", "recv -90 0"]   # 4096 > its 2048 buffer
    assert f"burst received {BURST}" in lines
    assert "timeout -110" in lines                # -ETIMEDOUT
    assert "hello 61" in lines
    stats = [line.split() for line in lines if line.startswith("stats ")]
    assert len(stats) == 1 and int(stats[0][2]) == 1         # the 4096-byte frame
    assert int(stats[0][1]) >= 1 + 3 + BURST                # hellos, 3 frames, burst
