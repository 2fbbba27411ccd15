/* byteorder.h: network (big-endian) byte order for PV32, which is little-endian
   (guest_os/net/ether.c).

   Packet fields are read and written a byte at a time through these helpers: a
   header inside a frame is not aligned (the IPv4 header starts at byte 14), and PV32
   loads and stores must be. */
#ifndef NET_BYTEORDER_H
#define NET_BYTEORDER_H

#include <stdint.h>

uint16_t htons(uint16_t host);
uint16_t ntohs(uint16_t net);
uint32_t htonl(uint32_t host);
uint32_t ntohl(uint32_t net);

/* The big-endian 16/32-bit value at p (any alignment), and its store. */
uint16_t get_be16(const uint8_t *p);
uint32_t get_be32(const uint8_t *p);
void put_be16(uint8_t *p, uint16_t value);
void put_be32(uint8_t *p, uint32_t value);

#endif /* NET_BYTEORDER_H */
