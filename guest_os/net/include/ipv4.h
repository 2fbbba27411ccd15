/* ipv4.h: IPv4 headers without options or fragments, the Internet checksum, and
   dotted-quad addresses (guest_os/net/ipv4.c; RFC 791, RFC 1071).

   Addresses are uint32_t in host order (10.0.0.1 is 0x0a000001); they are put on the
   wire big-endian by ip4_build. */
#ifndef NET_IPV4_H
#define NET_IPV4_H

#include <byteorder.h>
#include <stddef.h>
#include <stdint.h>

#define IP4_HLEN 20                /* a header without options */
#define IP4_DEFAULT_TTL 64
#define IPPROTO_ICMP 1
#define IP4_FLAG_DF 0x4000         /* don't fragment, in the flags/fragment field */

struct ip4_hdr {
    uint8_t hdr_len;               /* bytes: IHL * 4 */
    uint8_t tos;
    uint16_t total_len;            /* header + payload */
    uint16_t id;
    uint16_t frag;                 /* flags and fragment offset */
    uint8_t ttl;
    uint8_t proto;
    uint32_t src;
    uint32_t dst;
};

/* The Internet checksum of len bytes: the one's complement of the one's-complement
   sum of the big-endian 16-bit words (an odd last byte padded with zero).  Stored with
   put_be16 into a zeroed checksum field it makes the checksum over the data 0; over
   data that already holds a right checksum it is 0. */
uint16_t inet_checksum(const uint8_t *data, size_t len);

/* Write a 20-byte header at p for payload_len bytes of `proto` from src to dst, with
   DF set, TTL IP4_DEFAULT_TTL and its checksum: IP4_HLEN. */
size_t ip4_build(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id,
                 size_t payload_len);
/* Decode and check the header of the len bytes at p: 0, or -EINVAL if it is not
   IPv4, is truncated (len < total length), has a bad header length or checksum, or is
   a fragment.  Bytes past total_len (Ethernet padding) are ignored. */
long ip4_parse(const uint8_t *p, size_t len, struct ip4_hdr *hdr);

/* "a.b.c.d" into *addr: 0, or -EINVAL. */
long ip4_aton(const char *text, uint32_t *addr);
/* addr as "a.b.c.d" into out (16 bytes): out. */
char *ip4_ntoa(uint32_t addr, char *out);

#endif /* NET_IPV4_H */
