/* Copy 256 KiB word by word, as benchmarks/kernels/memcpy.s (one repetition). */
#define LEN (256 * 1024 / 4)
static unsigned src[LEN], dst[LEN];
static unsigned rep_number;

unsigned kernel(void) {
    src[0] = ++rep_number;
    for (unsigned i = 0; i < LEN; i += 2) {
        unsigned x = src[i], y = src[i + 1];
        dst[i] = x;
        dst[i + 1] = y;
    }
    return dst[0];
}
