/* disk_demo.c: a guest that uses its virtual disk through the driver library's blkfront
 * (guest_os/drivers/; docs/io.md "Guest side: the driver library").
 *
 *   paravisor launch examples/disk-demo.cfg
 *
 * It connects the first vbd, writes a recognisable pattern over sectors 0..99 (one
 * request of 11 pages, then one of the remaining 12 sectors), flushes, reads them
 * back into another buffer and compares, discards sectors 96..99 and checks they read
 * as zeros, and closes the device (Closing/Closed).  Exit status 0 if all of that
 * worked; otherwise the step that failed is printed and the status says which.
 * On a read-only disk (`,r` in the disk spec) it expects the write to be refused and
 * reads the disk instead: exit status 0 if the refusal came. */
#include <blkfront.h>
#include <stdio.h>
#include <string.h>

#define NR_SECTORS 100            /* 88 sectors (11 pages) + 12 */
#define DISCARD_FIRST 96
#define DISCARD_COUNT 4

static unsigned char out[NR_SECTORS * BLKIF_SECTOR_SIZE];
static unsigned char in[NR_SECTORS * BLKIF_SECTOR_SIZE];

/* Sector s holds "disk-demo sector <s>" then bytes (s * 7 + i) & 0xff. */
static void fill_pattern(void)
{
    unsigned int s, i;

    for (s = 0; s < NR_SECTORS; s++) {
        unsigned char *sector = out + s * BLKIF_SECTOR_SIZE;
        for (i = 0; i < BLKIF_SECTOR_SIZE; i++)
            sector[i] = (unsigned char)(s * 7 + i);
        snprintf((char *)sector, 32, "disk-demo sector %u", s);
    }
}

static int fail(const char *what, long rc, int status)
{
    printf("disk-demo: %s failed: error %ld\n", what, rc);
    return status;
}

static int first_difference(const unsigned char *a, const unsigned char *b, unsigned int n)
{
    unsigned int i;

    for (i = 0; i < n; i++)
        if (a[i] != b[i])
            return (int)i;
    return -1;
}

static int readonly_demo(struct blkfront *dev)
{
    long rc = blkfront_write(dev, 0, out, 8);

    printf("disk-demo: write to the read-only disk: error %ld\n", rc);
    if (rc != -EROFS)
        return fail("refusing the write", rc, 10);
    rc = blkfront_read(dev, 0, in, 8);
    if (rc)
        return fail("read", rc, 11);
    printf("disk-demo: read 8 sectors of the read-only disk\n");
    rc = blkfront_shutdown(dev);
    if (rc)
        return fail("shutdown", rc, 12);
    printf("disk-demo: read-only disk OK\n");
    return 0;
}

static int check_discard(struct blkfront *dev)
{
    unsigned int i;
    long rc = blkfront_discard(dev, DISCARD_FIRST, DISCARD_COUNT);

    if (rc)
        return fail("discard", rc, 6);
    memset(in, 0xAA, DISCARD_COUNT * BLKIF_SECTOR_SIZE);
    rc = blkfront_read(dev, DISCARD_FIRST, in, DISCARD_COUNT);
    if (rc)
        return fail("read after discard", rc, 7);
    for (i = 0; i < DISCARD_COUNT * BLKIF_SECTOR_SIZE; i++)
        if (in[i])
            return fail("discarded sectors reading as zeros", i, 8);
    printf("disk-demo: discarded sectors %d..%d; they read as zeros\n", DISCARD_FIRST,
           DISCARD_FIRST + DISCARD_COUNT - 1);
    return 0;
}

int main(void)
{
    struct blkfront *dev;
    long rc = blkfront_init(0, &dev);
    int at, status;

    if (rc)
        return fail("connecting the disk", rc, 2);
    printf("disk-demo: %s: %u sectors of %u bytes, %s, flush %s, discard %s\n",
           dev->xb.nodename, dev->sectors, dev->sector_size, dev->readonly ? "ro" : "rw",
           dev->feature_flush ? "yes" : "no", dev->feature_discard ? "yes" : "no");
    fill_pattern();
    if (dev->readonly)
        return readonly_demo(dev);
    rc = blkfront_write(dev, 0, out, NR_SECTORS);
    if (rc)
        return fail("write", rc, 3);
    printf("disk-demo: wrote sectors 0..%d (11 + 2 pages in 2 requests)\n", NR_SECTORS - 1);
    rc = blkfront_flush(dev);
    if (rc)
        return fail("flush", rc, 4);
    printf("disk-demo: flushed\n");
    rc = blkfront_read(dev, 0, in, NR_SECTORS);
    if (rc)
        return fail("read", rc, 5);
    at = first_difference(out, in, sizeof(out));
    if (at >= 0)
        return fail("comparing what was read", at, 5);
    printf("disk-demo: read back %d sectors: they match\n", NR_SECTORS);
    status = check_discard(dev);
    if (status)
        return status;
    rc = blkfront_shutdown(dev);
    if (rc)
        return fail("shutdown", rc, 9);
    printf("disk-demo: device closed; all OK\n");
    return 0;
}
