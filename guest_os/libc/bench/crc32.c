/* Benchmark kernel: bitwise CRC-32 of 512 bytes (shifts, xor, branches). */
#include <stdio.h>
#ifndef REPEAT
#define REPEAT 1
#endif

unsigned kernel(void)
{
    unsigned crc = 0xFFFFFFFFu;
    for (unsigned i = 0; i < 512; i++) {
        crc ^= (i * 7u) & 0xFFu;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

int main(void)
{
    unsigned acc = 0;
    for (int r = 0; r < REPEAT; r++)
        acc += kernel();
    printf("%u\n", acc);
    return 0;
}
