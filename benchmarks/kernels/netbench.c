/* netbench.c: frames between two guests through netfront, netback and a bridge, for
 * benchmarks/io.py.
 *
 *   cmdline "recv N"            receive N frames (or stop 100 ms after the last one)
 *   cmdline "send MAC N SIZE"   send N frames of SIZE bytes to MAC
 *
 * The receiver connects and broadcasts a "ready" frame every 10 ms until data comes; the
 * sender waits for one, then sends.  The receiver prints "netbench: start <t>" at the first data frame and
 * "netbench: done <t> <frames> <bytes>" after the last (t = virtual ns as "hi:lo"). */
#include <ether.h>
#include <netfront.h>
#include <pv32.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETHERTYPE_BENCH 0x88b5            /* IEEE 802 local experimental */
#define QUIET_MS 100

static uint8_t frame[4096];

static void stamp(const char *what, uint32_t frames, uint32_t bytes)
{
    stime_t now = clock_now();

    printf("netbench: %s %u:%u %u %u\n", what, now.hi, now.lo, frames, bytes);
    fflush_console();
}

static int receiver(struct netfront *nic, uint32_t want)
{
    uint8_t broadcast[6];
    uint32_t frames = 0, bytes = 0;
    long len;

    memset(broadcast, 0xff, 6);
    eth_build(frame, broadcast, netfront_mac(nic), ETHERTYPE_BENCH);
    memcpy(frame + ETH_HLEN, "ready", 5);
    /* The sender may connect after us: say ready every 10 ms until data comes. */
    do {
        if (netfront_send(nic, frame, 60) < 0)
            return 3;
        len = netfront_receive(nic, frame, sizeof frame, deadline_after_ms(10));
    } while (len == -ETIMEDOUT && ++frames < 1000);
    frames = 0;
    if (len < 0) {
        printf("netbench: no frames: error %ld\n", len);
        return 1;
    }
    stamp("start", 0, 0);
    while (len > 0) {
        frames++;
        bytes += (uint32_t)len;
        if (frames == want)
            break;
        len = netfront_receive(nic, frame, sizeof frame, deadline_after_ms(QUIET_MS));
    }
    stamp("done", frames, bytes);
    return frames == want ? 0 : 1;
}

static int sender(struct netfront *nic, const uint8_t *peer, uint32_t count, uint32_t size)
{
    uint32_t i;
    long len;

    len = netfront_receive(nic, frame, sizeof frame, deadline_after_ms(10000));
    if (len < 0) {
        printf("netbench: the receiver never said ready: error %ld\n", len);
        return 1;
    }
    memset(frame, 0x5a, sizeof frame);
    eth_build(frame, peer, netfront_mac(nic), ETHERTYPE_BENCH);
    for (i = 0; i < count; i++)
        if (netfront_send(nic, frame, size) < 0)
            return 1;
    return 0;
}

int main(void)
{
    char *line = __start_info->cmd_line, *end, mac[18];
    struct netfront *nic;
    uint8_t peer[6];
    uint32_t count, size;
    int status;

    if (netfront_init(NETFRONT_FIRST, &nic) < 0)
        return 3;
    memcpy(mac, line + 5, 17);              /* "send " then the peer's MAC */
    mac[17] = 0;
    if (strncmp(line, "recv ", 5) == 0) {
        status = receiver(nic, (uint32_t)strtoul(line + 5, NULL, 10));
    } else if (strncmp(line, "send ", 5) == 0 && mac_parse(mac, peer) == 0) {
        count = (uint32_t)strtoul(line + 23, &end, 10);
        size = (uint32_t)strtoul(end, NULL, 10);
        status = sender(nic, peer, count, size);
    } else {
        printf("netbench: bad cmdline '%s'\n", line);
        status = 2;
    }
    netfront_shutdown(nic);
    return status;
}
