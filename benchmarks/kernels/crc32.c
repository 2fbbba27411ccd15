/* Bitwise CRC-32 of a 4 KiB buffer, as benchmarks/kernels/crc32.s. */
#define LEN 4096
static unsigned char buffer[LEN];

void setup(void) {
    for (unsigned i = 0; i < LEN; i++) buffer[i] = (unsigned char)(7 * i);
}

unsigned kernel(void) {
    unsigned crc = 0xFFFFFFFFu;
    for (unsigned i = 0; i < LEN; i++) {
        crc ^= buffer[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
    }
    return ~crc;
}
