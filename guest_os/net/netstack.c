/* netstack.c: ARP and ICMP echo over one Ethernet interface (netstack.h). */
#include <netstack.h>
#include <paravisor.h>
#include <string.h>

static const uint8_t zero_mac[ETH_ALEN];

void net_init(struct netstack *ns, const uint8_t *mac, uint32_t ip, net_send_fn send,
              void *ctx)
{
    memset(ns, 0, sizeof(*ns));
    memcpy(ns->mac, mac, ETH_ALEN);
    ns->ip = ip;
    arp_cache_init(&ns->arp);
    ns->send = send;
    ns->ctx = ctx;
    ns->ip_id = 1;
}

static long send_arp(struct netstack *ns, uint16_t op, const uint8_t *dst_mac,
                     const uint8_t *target_mac, uint32_t target_ip)
{
    struct arp_packet arp;
    size_t len;

    arp.op = op;
    memcpy(arp.sha, ns->mac, ETH_ALEN);
    arp.spa = ns->ip;
    memcpy(arp.tha, target_mac, ETH_ALEN);
    arp.tpa = target_ip;
    len = eth_build(ns->frame, dst_mac, ns->mac, ETH_P_ARP);
    len += arp_build(ns->frame + len, &arp);
    return ns->send(ns->ctx, ns->frame, eth_pad(ns->frame, len));
}

long net_arp_request(struct netstack *ns, uint32_t target_ip)
{
    return send_arp(ns, ARPOP_REQUEST, eth_broadcast, zero_mac, target_ip);
}

static long send_echo(struct netstack *ns, const uint8_t *dst_mac, uint32_t dst_ip,
                      uint8_t type, uint16_t id, uint16_t seq, const uint8_t *data,
                      size_t data_len)
{
    size_t icmp_len = ICMP_ECHO_HLEN + data_len;
    size_t len;

    if (icmp_len > ETH_DATA_LEN - IP4_HLEN)
        return -EMSGSIZE;
    len = eth_build(ns->frame, dst_mac, ns->mac, ETH_P_IP);
    len += ip4_build(ns->frame + len, ns->ip, dst_ip, IPPROTO_ICMP, ns->ip_id++, icmp_len);
    len += icmp_echo_build(ns->frame + len, type, id, seq, data, data_len);
    return ns->send(ns->ctx, ns->frame, eth_pad(ns->frame, len));
}

long net_send_echo(struct netstack *ns, uint32_t dst_ip, uint8_t type, uint16_t id,
                   uint16_t seq, const uint8_t *data, size_t data_len)
{
    const uint8_t *dst_mac = arp_cache_lookup(&ns->arp, dst_ip);

    if (!dst_mac)
        return -ENOENT;
    return send_echo(ns, dst_mac, dst_ip, type, id, seq, data, data_len);
}

static long arp_input(struct netstack *ns, const uint8_t *p, size_t len,
                      struct net_event *event)
{
    struct arp_packet arp;
    long rc;

    if (arp_parse(p, len, &arp) < 0 || arp.tpa != ns->ip || ns->ip == 0)
        return NET_IN_IGNORED;
    arp_cache_update(&ns->arp, arp.spa, arp.sha);   /* RFC 826: the target learns */
    memset(event, 0, sizeof(*event));
    event->src_ip = arp.spa;
    if (arp.op == ARPOP_REPLY)
        return NET_IN_ARP_REPLY;
    rc = send_arp(ns, ARPOP_REPLY, arp.sha, arp.sha, arp.spa);
    if (rc < 0)
        return rc;
    return NET_IN_ARP_REQUEST;
}

/* An echo request is answered to the frame's source MAC, as Linux answers without
   an ARP lookup of its own. */
static long ip_input(struct netstack *ns, const uint8_t *src_mac, const uint8_t *p,
                     size_t len, struct net_event *event)
{
    struct ip4_hdr ip;
    long rc;

    if (ip4_parse(p, len, &ip) < 0 || ip.dst != ns->ip || ip.proto != IPPROTO_ICMP)
        return NET_IN_IGNORED;
    memset(event, 0, sizeof(*event));
    if (icmp_echo_parse(p + ip.hdr_len, ip.total_len - ip.hdr_len, &event->echo) < 0)
        return NET_IN_IGNORED;
    event->src_ip = ip.src;
    event->ttl = ip.ttl;
    if (event->echo.type == ICMP_ECHOREPLY)
        return NET_IN_ECHO_REPLY;
    rc = send_echo(ns, src_mac, ip.src, ICMP_ECHOREPLY, event->echo.id, event->echo.seq,
                       event->echo.data, event->echo.data_len);
    if (rc < 0)
        return rc;
    return NET_IN_ECHO_REQUEST;
}

long net_input(struct netstack *ns, const uint8_t *frame, size_t len,
               struct net_event *event)
{
    struct eth_hdr eth;

    if (eth_parse(frame, len, &eth) < 0)
        return NET_IN_IGNORED;
    if (!mac_equal(eth.dst, ns->mac) && !mac_is_broadcast(eth.dst))
        return NET_IN_IGNORED;
    if (eth.type == ETH_P_ARP)
        return arp_input(ns, frame + ETH_HLEN, len - ETH_HLEN, event);
    if (eth.type == ETH_P_IP)
        return ip_input(ns, eth.src, frame + ETH_HLEN, len - ETH_HLEN, event);
    return NET_IN_IGNORED;
}
