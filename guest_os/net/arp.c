/* arp.c: ARP packets and the ARP cache (arp.h). */
#include <arp.h>
#include <paravisor.h>
#include <string.h>

#define ARP_PTYPE_IP 0x0800
#define ARP_PLEN_IP 4

size_t arp_build(uint8_t *p, const struct arp_packet *arp)
{
    put_be16(p, ARPHRD_ETHER);
    put_be16(p + 2, ARP_PTYPE_IP);
    p[4] = ETH_ALEN;
    p[5] = ARP_PLEN_IP;
    put_be16(p + 6, arp->op);
    memcpy(p + 8, arp->sha, ETH_ALEN);
    put_be32(p + 14, arp->spa);
    memcpy(p + 18, arp->tha, ETH_ALEN);
    put_be32(p + 24, arp->tpa);
    return ARP_HLEN;
}

long arp_parse(const uint8_t *p, size_t len, struct arp_packet *arp)
{
    if (len < ARP_HLEN || get_be16(p) != ARPHRD_ETHER || get_be16(p + 2) != ARP_PTYPE_IP ||
        p[4] != ETH_ALEN || p[5] != ARP_PLEN_IP)
        return -EINVAL;
    arp->op = get_be16(p + 6);
    if (arp->op != ARPOP_REQUEST && arp->op != ARPOP_REPLY)
        return -EINVAL;
    memcpy(arp->sha, p + 8, ETH_ALEN);
    arp->spa = get_be32(p + 14);
    memcpy(arp->tha, p + 18, ETH_ALEN);
    arp->tpa = get_be32(p + 24);
    return 0;
}

void arp_cache_init(struct arp_cache *cache)
{
    memset(cache, 0, sizeof(*cache));
}

void arp_cache_update(struct arp_cache *cache, uint32_t ip, const uint8_t *mac)
{
    struct arp_entry *slot = NULL;
    unsigned int i;

    for (i = 0; i < ARP_CACHE_SIZE && !slot; i++)
        if (cache->entries[i].valid && cache->entries[i].ip == ip)
            slot = &cache->entries[i];
    for (i = 0; i < ARP_CACHE_SIZE && !slot; i++)
        if (!cache->entries[i].valid)
            slot = &cache->entries[i];
    if (!slot) {
        slot = &cache->entries[cache->next];
        cache->next = (cache->next + 1) % ARP_CACHE_SIZE;
    }
    slot->ip = ip;
    memcpy(slot->mac, mac, ETH_ALEN);
    slot->valid = 1;
}

const uint8_t *arp_cache_lookup(const struct arp_cache *cache, uint32_t ip)
{
    unsigned int i;

    for (i = 0; i < ARP_CACHE_SIZE; i++)
        if (cache->entries[i].valid && cache->entries[i].ip == ip)
            return cache->entries[i].mac;
    return NULL;
}
