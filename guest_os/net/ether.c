/* ether.c: byte order helpers and Ethernet II frames (byteorder.h, ether.h). */
#include <ether.h>
#include <paravisor.h>
#include <stdio.h>
#include <string.h>

const uint8_t eth_broadcast[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

uint16_t htons(uint16_t host)
{
    return (uint16_t)((host >> 8) | (host << 8));
}

uint16_t ntohs(uint16_t net)
{
    return htons(net);
}

uint32_t htonl(uint32_t host)
{
    return (host >> 24) | ((host >> 8) & 0xff00u) | ((host << 8) & 0xff0000u) | (host << 24);
}

uint32_t ntohl(uint32_t net)
{
    return htonl(net);
}

uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

void put_be16(uint8_t *p, uint16_t value)
{
    p[0] = (uint8_t)(value >> 8);
    p[1] = (uint8_t)value;
}

void put_be32(uint8_t *p, uint32_t value)
{
    p[0] = (uint8_t)(value >> 24);
    p[1] = (uint8_t)(value >> 16);
    p[2] = (uint8_t)(value >> 8);
    p[3] = (uint8_t)value;
}

size_t eth_build(uint8_t *frame, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    memcpy(frame, dst, ETH_ALEN);
    memcpy(frame + ETH_ALEN, src, ETH_ALEN);
    put_be16(frame + 2 * ETH_ALEN, type);
    return ETH_HLEN;
}

long eth_parse(const uint8_t *frame, size_t len, struct eth_hdr *hdr)
{
    if (len < ETH_HLEN)
        return -EINVAL;
    memcpy(hdr->dst, frame, ETH_ALEN);
    memcpy(hdr->src, frame + ETH_ALEN, ETH_ALEN);
    hdr->type = get_be16(frame + 2 * ETH_ALEN);
    return 0;
}

size_t eth_pad(uint8_t *frame, size_t len)
{
    if (len >= ETH_ZLEN)
        return len;
    memset(frame + len, 0, ETH_ZLEN - len);
    return ETH_ZLEN;
}

int mac_equal(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, ETH_ALEN) == 0;
}

int mac_is_broadcast(const uint8_t *mac)
{
    return mac_equal(mac, eth_broadcast);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long mac_parse(const char *text, uint8_t *mac)
{
    uint8_t out[ETH_ALEN];
    int i, hi, lo;

    for (i = 0; i < ETH_ALEN; i++) {
        hi = hex_digit(text[0]);
        lo = hi < 0 ? -1 : hex_digit(text[1]);
        if (lo < 0 || text[2] != (i == ETH_ALEN - 1 ? '\0' : ':'))
            return -EINVAL;
        out[i] = (uint8_t)(hi * 16 + lo);
        text += 3;
    }
    memcpy(mac, out, ETH_ALEN);
    return 0;
}

char *mac_format(const uint8_t *mac, char *out)
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
             mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return out;
}
