/* netstack.h: one IPv4 interface over Ethernet: it answers ARP and ICMP echo requests
   for its address and sends ARP requests and echo messages
   (guest_os/net/netstack.c).

   The stack does no I/O of its own: frames go out through the `send` function it is
   given (netfront_send, or a test's capture), and each received frame is handed to
   net_input, which answers what it must and tells the caller what it was. */
#ifndef NET_NETSTACK_H
#define NET_NETSTACK_H

#include <arp.h>
#include <ether.h>
#include <icmp.h>
#include <ipv4.h>
#include <stddef.h>
#include <stdint.h>

/* Send one frame of len bytes: 0 or -errno. */
typedef long (*net_send_fn)(void *ctx, const uint8_t *frame, size_t len);

struct netstack {
    uint8_t mac[ETH_ALEN];
    uint32_t ip;                   /* host order */
    struct arp_cache arp;
    net_send_fn send;
    void *ctx;                     /* send's first argument */
    uint16_t ip_id;                /* the next IPv4 identification */
    uint8_t frame[ETH_FRAME_LEN];  /* outgoing frames are built here */
};

/* What net_input found in a frame. */
enum net_input_kind {
    NET_IN_IGNORED,                /* not for us, malformed, or a protocol we do not speak */
    NET_IN_ARP_REQUEST,            /* an ARP request for our address: answered */
    NET_IN_ARP_REPLY,              /* an ARP reply to us: its sender is now cached */
    NET_IN_ECHO_REQUEST,           /* an ICMP echo request to us: answered */
    NET_IN_ECHO_REPLY,             /* an ICMP echo reply to us: in event->echo */
};

struct net_event {
    uint32_t src_ip;               /* IPv4 / ARP sender */
    uint8_t ttl;                   /* IPv4 TTL (echo messages) */
    struct icmp_echo echo;         /* echo messages; echo.data points into the frame */
};

void net_init(struct netstack *ns, const uint8_t *mac, uint32_t ip, net_send_fn send,
              void *ctx);
/* Broadcast "who has target_ip": send's result. */
long net_arp_request(struct netstack *ns, uint32_t target_ip);
/* Send an ICMP echo message (ICMP_ECHO or ICMP_ECHOREPLY) with data_len bytes of data
   to dst_ip, whose MAC must be in the ARP cache: send's result, -ENOENT if the MAC is
   not cached, -EMSGSIZE if it does not fit in a frame.  Short frames are padded to
   ETH_ZLEN. */
long net_send_echo(struct netstack *ns, uint32_t dst_ip, uint8_t type, uint16_t id,
                   uint16_t seq, const uint8_t *data, size_t data_len);
/* Handle one received frame: learn the sender of ARP packets addressed to us, answer
   ARP requests and ICMP echo requests for ns->ip.  The NET_IN_* kind (event filled for
   every kind but NET_IN_IGNORED), or send's -errno if an answer could not be sent. */
long net_input(struct netstack *ns, const uint8_t *frame, size_t len,
               struct net_event *event);

#endif /* NET_NETSTACK_H */
