/* arp.h: ARP for IPv4 over Ethernet, and a small ARP cache (guest_os/net/arp.c;
   RFC 826). */
#ifndef NET_ARP_H
#define NET_ARP_H

#include <ether.h>
#include <stddef.h>
#include <stdint.h>

#define ARP_HLEN 28                /* the ARP packet after the Ethernet header */
#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2
#define ARP_CACHE_SIZE 8

struct arp_packet {
    uint16_t op;                   /* ARPOP_REQUEST or ARPOP_REPLY */
    uint8_t sha[ETH_ALEN];         /* sender hardware and protocol address */
    uint32_t spa;
    uint8_t tha[ETH_ALEN];         /* target hardware and protocol address */
    uint32_t tpa;
};

/* Write the 28-byte packet (Ethernet/IPv4) at p: ARP_HLEN. */
size_t arp_build(uint8_t *p, const struct arp_packet *arp);
/* Decode the len bytes at p: 0, or -EINVAL unless it is an Ethernet/IPv4 request or
   reply of at least ARP_HLEN bytes. */
long arp_parse(const uint8_t *p, size_t len, struct arp_packet *arp);

struct arp_entry {
    uint32_t ip;
    uint8_t mac[ETH_ALEN];
    uint8_t valid;
};

struct arp_cache {
    struct arp_entry entries[ARP_CACHE_SIZE];
    unsigned int next;             /* the entry a new address replaces when full */
};

void arp_cache_init(struct arp_cache *cache);
/* Remember ip -> mac: an existing entry for ip is updated, else a free one (or the
   oldest, round robin) is used. */
void arp_cache_update(struct arp_cache *cache, uint32_t ip, const uint8_t *mac);
/* The MAC of ip, or NULL if it is not cached. */
const uint8_t *arp_cache_lookup(const struct arp_cache *cache, uint32_t ip);

#endif /* NET_ARP_H */
