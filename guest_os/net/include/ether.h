/* ether.h: Ethernet II frames (guest_os/net/ether.c).

   A frame here is what netfront carries: destination MAC, source MAC, EtherType,
   payload; no preamble and no FCS.  Frames shorter than ETH_ZLEN are padded with
   zeros by eth_pad, as a NIC would. */
#ifndef NET_ETHER_H
#define NET_ETHER_H

#include <byteorder.h>
#include <stddef.h>
#include <stdint.h>

#define ETH_ALEN 6                 /* bytes in a MAC address */
#define ETH_HLEN 14                /* dst, src, type */
#define ETH_ZLEN 60                /* the shortest frame, without FCS */
#define ETH_DATA_LEN 1500          /* the MTU */
#define ETH_FRAME_LEN 1514         /* the longest frame, without FCS */
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806

struct eth_hdr {
    uint8_t dst[ETH_ALEN];
    uint8_t src[ETH_ALEN];
    uint16_t type;                 /* host order */
};

extern const uint8_t eth_broadcast[ETH_ALEN];

/* Write the 14-byte header at frame: ETH_HLEN. */
size_t eth_build(uint8_t *frame, const uint8_t *dst, const uint8_t *src, uint16_t type);
/* Decode the header of a frame of len bytes: 0, or -EINVAL if it is shorter than
   ETH_HLEN. */
long eth_parse(const uint8_t *frame, size_t len, struct eth_hdr *hdr);
/* Zero-pad a frame of len bytes (buffer of at least ETH_ZLEN) to ETH_ZLEN: the new
   length. */
size_t eth_pad(uint8_t *frame, size_t len);

/* 1 if the two addresses are equal, and if mac is the broadcast address. */
int mac_equal(const uint8_t *a, const uint8_t *b);
int mac_is_broadcast(const uint8_t *mac);
/* "xx:xx:xx:xx:xx:xx" (hex, either case) into mac: 0, or -EINVAL. */
long mac_parse(const char *text, uint8_t *mac);
/* mac as "xx:xx:xx:xx:xx:xx" into out (18 bytes): out. */
char *mac_format(const uint8_t *mac, char *out);

#endif /* NET_ETHER_H */
