/* blkbench.c: block I/O through blkfront, for benchmarks/io.py.
 *
 *   cmdline "read N" | "write N" | "randread N"
 *
 * read/write: N pages (N * 8 sectors) from sector 0 on, in requests of 88 sectors (11 pages, the
 * most one blkif request carries); write ends with a flush, so the data is on disk.
 * randread: N 4 KiB reads at pseudo-random 4 KiB-aligned places (a fixed LCG, so every
 * run reads the same places).  A warm-up round of the same I/O comes first, so the
 * JIT has translated the hot paths before the measured part.  The guest prints "blkbench: start <t>" and
 * "blkbench: done <t>" around the I/O (t = virtual ns as "hi:lo"), which the benchmark
 * timestamps in wall-clock time as they reach the console. */
#include <blkfront.h>
#include <pv32.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 88                               /* sectors per request */

static unsigned char buffer[CHUNK * BLKIF_SECTOR_SIZE];

static void stamp(const char *what)
{
    stime_t now = clock_now();

    printf("blkbench: %s %u:%u\n", what, now.hi, now.lo);
    fflush_console();
}

static long sequential(struct blkfront *dev, int write, uint32_t sectors)
{
    uint32_t done = 0;
    long rc = 0;

    while (done < sectors && rc == 0) {
        uint32_t n = sectors - done < CHUNK ? sectors - done : CHUNK;
        rc = write ? blkfront_write(dev, done, buffer, n) : blkfront_read(dev, done, buffer, n);
        done += n;
    }
    if (rc == 0 && write)
        rc = blkfront_flush(dev);
    return rc;
}

static long random_reads(struct blkfront *dev, uint32_t count)
{
    uint32_t pages = dev->sectors / 8, seed = 12345, i;
    long rc = 0;

    for (i = 0; i < count && rc == 0; i++) {
        seed = seed * 1103515245u + 12345u;
        rc = blkfront_read(dev, (seed >> 8) % pages * 8, buffer, 8);
    }
    return rc;
}

static long run(struct blkfront *dev, uint32_t n)
{
    if (strncmp(__start_info->cmd_line, "randread", 8) == 0)
        return random_reads(dev, n);
    return sequential(dev, strncmp(__start_info->cmd_line, "write", 5) == 0, n * 8);
}

int main(void)
{
    char *arg = strchr(__start_info->cmd_line, ' ');
    uint32_t n = arg ? (uint32_t)strtoul(arg + 1, NULL, 10) : 0;
    struct blkfront *dev;
    long rc = blkfront_init(0, &dev);

    if (rc < 0) {
        printf("blkbench: no disk: error %ld\n", rc);
        return 2;
    }
    memset(buffer, 0x5a, sizeof buffer);
    rc = run(dev, n < 1024 ? n : 1024);              /* warm-up: let the JIT translate */
    stamp("start");
    if (rc == 0)
        rc = run(dev, n);
    stamp("done");
    if (rc < 0)
        printf("blkbench: I/O failed: error %ld\n", rc);
    blkfront_shutdown(dev);
    return rc < 0 ? 1 : 0;
}
