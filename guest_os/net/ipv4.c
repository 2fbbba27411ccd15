/* ipv4.c: the Internet checksum, IPv4 headers and addresses (ipv4.h). */
#include <ipv4.h>
#include <paravisor.h>
#include <stdio.h>

uint16_t inet_checksum(const uint8_t *data, size_t len)
{
    uint32_t sum = 0;
    size_t i;

    for (i = 0; i + 1 < len; i += 2)
        sum += get_be16(data + i);
    if (len & 1)
        sum += (uint32_t)data[len - 1] << 8;
    while (sum >> 16)                       /* end-around carry */
        sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)~sum;
}

size_t ip4_build(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id,
                 size_t payload_len)
{
    p[0] = 0x45;                            /* version 4, IHL 5 words */
    p[1] = 0;
    put_be16(p + 2, (uint16_t)(IP4_HLEN + payload_len));
    put_be16(p + 4, id);
    put_be16(p + 6, IP4_FLAG_DF);
    p[8] = IP4_DEFAULT_TTL;
    p[9] = proto;
    put_be16(p + 10, 0);
    put_be32(p + 12, src);
    put_be32(p + 16, dst);
    put_be16(p + 10, inet_checksum(p, IP4_HLEN));
    return IP4_HLEN;
}

long ip4_parse(const uint8_t *p, size_t len, struct ip4_hdr *hdr)
{
    if (len < IP4_HLEN || (p[0] >> 4) != 4)
        return -EINVAL;
    hdr->hdr_len = (uint8_t)((p[0] & 0xf) * 4);
    hdr->tos = p[1];
    hdr->total_len = get_be16(p + 2);
    hdr->id = get_be16(p + 4);
    hdr->frag = get_be16(p + 6);
    hdr->ttl = p[8];
    hdr->proto = p[9];
    hdr->src = get_be32(p + 12);
    hdr->dst = get_be32(p + 16);
    if (hdr->hdr_len < IP4_HLEN || hdr->total_len < hdr->hdr_len || hdr->total_len > len)
        return -EINVAL;
    if (inet_checksum(p, hdr->hdr_len) != 0)
        return -EINVAL;
    if (hdr->frag & 0x3fffu)                /* MF set or a non-zero offset */
        return -EINVAL;
    return 0;
}

long ip4_aton(const char *text, uint32_t *addr)
{
    uint32_t value = 0, part;
    int i, digits;

    for (i = 0; i < 4; i++) {
        part = 0;
        for (digits = 0; text[digits] >= '0' && text[digits] <= '9'; digits++) {
            part = part * 10 + (uint32_t)(text[digits] - '0');
            if (digits >= 3 || part > 255)
                return -EINVAL;
        }
        if (digits == 0 || text[digits] != (i == 3 ? '\0' : '.'))
            return -EINVAL;
        value = (value << 8) | part;
        text += digits + 1;
    }
    *addr = value;
    return 0;
}

char *ip4_ntoa(uint32_t addr, char *out)
{
    snprintf(out, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
             addr & 0xff);
    return out;
}
