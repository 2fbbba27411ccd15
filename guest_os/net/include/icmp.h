/* icmp.h: ICMP echo request and reply (guest_os/net/icmp.c; RFC 792). */
#ifndef NET_ICMP_H
#define NET_ICMP_H

#include <byteorder.h>
#include <stddef.h>
#include <stdint.h>

#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8
#define ICMP_ECHO_HLEN 8           /* type, code, checksum, identifier, sequence */

struct icmp_echo {
    uint8_t type;                  /* ICMP_ECHO or ICMP_ECHOREPLY */
    uint8_t code;
    uint16_t id;
    uint16_t seq;
    const uint8_t *data;           /* the payload, inside the parsed packet */
    size_t data_len;
};

/* Write an echo message (type ICMP_ECHO or ICMP_ECHOREPLY) with data_len bytes of
   data at p, checksum included: its length, ICMP_ECHO_HLEN + data_len.  data may
   already be in place at p + ICMP_ECHO_HLEN. */
size_t icmp_echo_build(uint8_t *p, uint8_t type, uint16_t id, uint16_t seq,
                       const uint8_t *data, size_t data_len);
/* Decode the len-byte ICMP message at p: 0, or -EINVAL if it is shorter than
   ICMP_ECHO_HLEN or its checksum is wrong, or -EOPNOTSUPP if it is not an echo
   request or reply. */
long icmp_echo_parse(const uint8_t *p, size_t len, struct icmp_echo *echo);

#endif /* NET_ICMP_H */
