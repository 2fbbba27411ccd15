/* ping_demo.c: two guests on one bridge ping each other through netfront and the
 * guest_os/net/ stack (docs/io.md "Guest networking: netfront and the ping demo").
 *
 *   paravisor launch examples/ping-demo.cfg
 *
 * One kernel, two roles, chosen by the command line (start_info.cmd_line), a list of
 * key=value words:
 *   ip=A.B.C.D      this guest's address (required)
 *   ping=A.B.C.D    be the pinger: ARP for that address, then send `count` echo
 *                   requests, one per `interval` ms, and print a line per reply with
 *                   its round-trip time in virtual microseconds, then ping's summary
 *   count=N         echoes to send (pinger) or answer before exiting (responder); 4
 *   interval=MS     pinger: ms between requests; 10
 *   timeout=MS      pinger: wait per reply; responder: for all `count` echoes; 1000 / 10000
 * Without ping= it is the responder: it answers ARP and echo requests.
 * Exit status: 0 when every echo was answered (pinger) or `count` echoes were answered
 * (responder, which then serves LINGER_MS more before closing its vif); 1 when
 * replies were lost or the responder timed out; 2 for a bad command
 * line; 3 if the vif did not connect; 4 if ARP found no answer. */
#include <netfront.h>
#include <netstack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PING_DATA_LEN 56           /* ping's default: 64-byte ICMP messages */
#define PING_ID 0x5056
#define ARP_TRIES 5
#define ARP_WAIT_MS 200
#define LINGER_MS 20               /* responder: keep serving after the last answer */

struct options {
    uint32_t ip;
    uint32_t peer;                 /* 0: responder */
    unsigned int count;
    unsigned int interval_ms;
    unsigned int timeout_ms;
};

static struct netfront *nic;
static struct netstack stack;
static uint8_t frame[ETH_FRAME_LEN];

static long send_frame(void *ctx, const uint8_t *data, size_t len)
{
    return netfront_send(ctx, data, len);
}

static long parse_word(const char *word, struct options *opt)
{
    const char *value = strchr(word, '=');
    long number;

    if (!value)
        return -EINVAL;
    value++;
    if (strncmp(word, "ip=", 3) == 0)
        return ip4_aton(value, &opt->ip);
    if (strncmp(word, "ping=", 5) == 0)
        return ip4_aton(value, &opt->peer);
    number = atoi(value);
    if (number <= 0)
        return -EINVAL;
    if (strncmp(word, "count=", 6) == 0)
        opt->count = number;
    else if (strncmp(word, "interval=", 9) == 0)
        opt->interval_ms = number;
    else if (strncmp(word, "timeout=", 8) == 0)
        opt->timeout_ms = number;
    else
        return -EINVAL;
    return 0;
}

/* The command line into opt: 0, or -EINVAL (after saying which word is wrong). */
static long parse_cmdline(const char *line, struct options *opt)
{
    char word[64];
    unsigned int len;
    long rc;

    memset(opt, 0, sizeof(*opt));
    opt->count = 4;
    opt->interval_ms = 10;
    while (*line) {
        while (*line == ' ')
            line++;
        for (len = 0; line[len] && line[len] != ' '; len++)
            ;
        if (len == 0)
            break;
        rc = -EINVAL;
        if (len < sizeof(word)) {
            memcpy(word, line, len);
            word[len] = '\0';
            rc = parse_word(word, opt);
        }
        if (rc < 0) {
            printf("ping-demo: bad command-line word '%.*s'\n", (int)len, line);
            return -EINVAL;
        }
        line += len;
    }
    if (!opt->timeout_ms)
        opt->timeout_ms = opt->peer ? 1000 : 10000;
    if (!opt->ip) {
        printf("ping-demo: the command line needs ip=A.B.C.D\n");
        return -EINVAL;
    }
    return 0;
}

/* Microseconds from a to b (b later, less than 4 s apart: the low words suffice). */
static uint32_t elapsed_us(stime_t a, stime_t b)
{
    return (b.lo - a.lo) / 1000;
}

/* Receive and handle frames until `deadline`, or until one of kind `want` arrives
   (for NET_IN_ECHO_REPLY: with our id and `seq`): 1 if it came, 0 at the deadline,
   or -errno. */
static long wait_for(long want, uint16_t seq, stime_t deadline, struct net_event *event)
{
    long len, kind;

    for (;;) {
        len = netfront_receive(nic, frame, sizeof(frame), deadline);
        if (len == -ETIMEDOUT)
            return 0;
        if (len == -EMSGSIZE)
            continue;
        if (len < 0)
            return len;
        kind = net_input(&stack, frame, len, event);
        if (kind < 0)
            return kind;
        if (kind == want && (want != NET_IN_ECHO_REPLY ||
                             (event->echo.id == PING_ID && event->echo.seq == seq)))
            return 1;
    }
}

/* ARP for the peer until it answers: 0, or -ETIMEDOUT after ARP_TRIES requests. */
static long resolve(uint32_t peer)
{
    struct net_event event;
    char ip[16], mac[18];
    int try;
    long rc;

    for (try = 0; try < ARP_TRIES; try++) {
        if ((rc = net_arp_request(&stack, peer)) < 0)
            return rc;
        do
            rc = wait_for(NET_IN_ARP_REPLY, 0, deadline_after_ms(ARP_WAIT_MS), &event);
        while (rc == 1 && event.src_ip != peer);
        if (rc < 0)
            return rc;
        if (arp_cache_lookup(&stack.arp, peer)) {
            printf("ARP: %s is at %s\n", ip4_ntoa(peer, ip),
                   mac_format(arp_cache_lookup(&stack.arp, peer), mac));
            return 0;
        }
    }
    return -ETIMEDOUT;
}

static void print_summary(uint32_t peer, unsigned int sent, unsigned int received,
                          uint32_t min, uint32_t total, uint32_t max)
{
    char ip[16];

    printf("--- %s ping statistics ---\n", ip4_ntoa(peer, ip));
    printf("%u packets transmitted, %u received, %u%% packet loss\n", sent, received,
           sent ? (sent - received) * 100 / sent : 0);
    if (received)
        printf("rtt min/avg/max = %u/%u/%u us\n", min, total / received, max);
}

/* Send opt->count echo requests and time their replies: 0 if every one came back. */
static int pinger(const struct options *opt)
{
    uint8_t data[PING_DATA_LEN];
    struct net_event event;
    uint32_t rtt, min = 0xffffffffu, max = 0, total = 0;
    unsigned int seq, received = 0, i;
    char ip[16];
    stime_t sent_at;
    long rc;

    for (i = 0; i < PING_DATA_LEN; i++)
        data[i] = (uint8_t)(0x10 + i);
    printf("PING %s: %d data bytes\n", ip4_ntoa(opt->peer, ip), PING_DATA_LEN);
    for (seq = 1; seq <= opt->count; seq++) {
        sent_at = clock_now();
        rc = net_send_echo(&stack, opt->peer, ICMP_ECHO, PING_ID, seq, data, PING_DATA_LEN);
        if (rc == 0)
            rc = wait_for(NET_IN_ECHO_REPLY, seq,
                          stime_add_ns(sent_at, opt->timeout_ms * 1000000u), &event);
        if (rc == 1) {
            rtt = elapsed_us(sent_at, clock_now());
            printf("%u bytes from %s: icmp_seq=%u ttl=%u time=%u us\n",
                   ICMP_ECHO_HLEN + (unsigned int)event.echo.data_len,
                   ip4_ntoa(event.src_ip, ip), seq, event.ttl, rtt);
            received++;
            total += rtt;
            min = rtt < min ? rtt : min;
            max = rtt > max ? rtt : max;
        } else {
            printf("icmp_seq=%u: no reply (%ld)\n", seq, rc);
        }
        wait_for(-1, 0, stime_add_ns(sent_at, opt->interval_ms * 1000000u), &event);
    }
    print_summary(opt->peer, opt->count, received, min, total, max);
    return received == opt->count ? 0 : 1;
}

/* Answer ARP and echo requests until opt->count echoes were answered: 0, or 1 if the
   time limit passed first. */
static int responder(const struct options *opt)
{
    stime_t deadline = deadline_after_ms(opt->timeout_ms);
    struct net_event event;
    unsigned int answered = 0;
    char ip[16];
    long rc;

    while (answered < opt->count) {
        rc = wait_for(NET_IN_ECHO_REQUEST, 0, deadline, &event);
        if (rc <= 0) {
            printf("ping-demo: answered %u of %u echo requests (%ld)\n", answered,
                   opt->count, rc);
            return 1;
        }
        answered++;
        printf("echo reply to %s icmp_seq=%u\n", ip4_ntoa(event.src_ip, ip),
               event.echo.seq);
    }
    /* Closing the vif at once would compete with the pinger for the CPU while the
       last reply is on its way and skew its round-trip time. */
    wait_for(-1, 0, deadline_after_ms(LINGER_MS), &event);
    return 0;
}

int main(void)
{
    struct options opt;
    char ip[16], mac[18];
    long rc;
    int status;

    if (parse_cmdline(__start_info->cmd_line, &opt) < 0)
        return 2;
    rc = netfront_init(NETFRONT_FIRST, &nic);
    if (rc < 0) {
        printf("ping-demo: netfront_init failed: error %ld\n", rc);
        return 3;
    }
    net_init(&stack, netfront_mac(nic), opt.ip, send_frame, nic);
    printf("ping-demo: %s at %s on %s\n", ip4_ntoa(opt.ip, ip),
           mac_format(netfront_mac(nic), mac), nic->xb.nodename);
    if (opt.peer && resolve(opt.peer) < 0) {
        printf("ping-demo: no ARP reply from %s\n", ip4_ntoa(opt.peer, ip));
        status = 4;
    } else {
        status = opt.peer ? pinger(&opt) : responder(&opt);
    }
    rc = netfront_shutdown(nic);
    if (rc < 0)
        printf("ping-demo: netfront_shutdown: error %ld\n", rc);
    return status;
}
