/* icmp.c: ICMP echo messages (icmp.h). */
#include <icmp.h>
#include <ipv4.h>
#include <paravisor.h>
#include <string.h>

size_t icmp_echo_build(uint8_t *p, uint8_t type, uint16_t id, uint16_t seq,
                       const uint8_t *data, size_t data_len)
{
    size_t len = ICMP_ECHO_HLEN + data_len;

    if (data && data != p + ICMP_ECHO_HLEN)
        memmove(p + ICMP_ECHO_HLEN, data, data_len);
    p[0] = type;
    p[1] = 0;
    put_be16(p + 2, 0);
    put_be16(p + 4, id);
    put_be16(p + 6, seq);
    put_be16(p + 2, inet_checksum(p, len));
    return len;
}

long icmp_echo_parse(const uint8_t *p, size_t len, struct icmp_echo *echo)
{
    if (len < ICMP_ECHO_HLEN || inet_checksum(p, len) != 0)
        return -EINVAL;
    if (p[0] != ICMP_ECHO && p[0] != ICMP_ECHOREPLY)
        return -EOPNOTSUPP;
    echo->type = p[0];
    echo->code = p[1];
    echo->id = get_be16(p + 4);
    echo->seq = get_be16(p + 6);
    echo->data = p + ICMP_ECHO_HLEN;
    echo->data_len = len - ICMP_ECHO_HLEN;
    return 0;
}
