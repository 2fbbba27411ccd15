/* blkfront.c: the block frontend of C guests (blkfront.h). */
#include <blkfront.h>
#include <hypercalls.h>
#include <pv32.h>
#include <string.h>

#define SECTORS_PER_PAGE (PAGE_SIZE / BLKIF_SECTOR_SIZE)
#define MAX_REQUEST_SECTORS (BLKIF_MAX_SEGMENTS_PER_REQUEST * SECTORS_PER_PAGE)

static struct blkfront devices[BLKFRONT_MAX_DEVICES];
static long setup(void *ctx);
static long write_keys(void *ctx, uint32_t tx);
static long release(void *ctx);

static const struct xenbus_front_ops blkfront_ops = {
    .driver = "blkfront",
    .type = "vbd",
    .timeout_ms = BLKFRONT_TIMEOUT_MS,
    .devices = devices,
    .nr_devices = BLKFRONT_MAX_DEVICES,
    .device_size = sizeof(struct blkfront),
    .setup = setup,
    .write_keys = write_keys,
    .release = release,
};

static long backend_int(struct blkfront *dev, const char *key, long *value)
{
    return xenbus_front_backend_int(&dev->xb, key, value);
}

/* What the backend published before its InitWait. */
static long read_backend_info(struct blkfront *dev)
{
    long rc, value;

    if ((rc = backend_int(dev, "sectors", &value)) < 0)
        return rc;
    dev->sectors = value;
    if ((rc = backend_int(dev, "sector-size", &value)) < 0)
        return rc;
    if (value != BLKIF_SECTOR_SIZE)
        return -EINVAL;                    /* we speak 512-byte sectors only */
    dev->sector_size = value;
    if ((rc = backend_int(dev, "info", &value)) < 0)
        return rc;
    dev->info = value;
    dev->readonly = (value & VDISK_READONLY) != 0;
    /* features are optional: absent means not offered */
    dev->feature_flush = backend_int(dev, "feature-flush-cache", &value) == 0 && value;
    dev->feature_discard = backend_int(dev, "feature-discard", &value) == 0 && value;
    return 0;
}

/* The ring page, the data pages (granted writable: the backend reads them for writes
   and fills them for reads) and the event channel. */
static long setup_ring(struct blkfront *dev)
{
    blkif_sring_t *sring = alloc_page();
    long ref;
    int i;

    if (!sring)
        return -ENOMEM;
    SHARED_RING_INIT(sring);
    FRONT_RING_INIT(&dev->ring, sring, BLKIF_RING_SIZE);
    ref = gnttab_grant_access(dev->xb.backend_id, virt_to_mfn(sring), 0);
    if (ref < 0)
        return ref;
    dev->ring_ref = ref;
    for (i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
        dev->data[i] = alloc_page();
        if (!dev->data[i])
            return -ENOMEM;
        ref = gnttab_grant_access(dev->xb.backend_id, virt_to_mfn(dev->data[i]), 0);
        if (ref < 0)
            return ref;
        dev->data_ref[i] = ref;
    }
    return evtchn_alloc_unbound(dev->xb.backend_id, &dev->evtchn);
}

/* ops->setup: the disk's geometry and features, then the ring. */
static long setup(void *ctx)
{
    long rc = read_backend_info(ctx);

    return rc < 0 ? rc : setup_ring(ctx);
}

/* ops->write_keys: ring-ref and event-channel. */
static long write_keys(void *ctx, uint32_t tx)
{
    struct blkfront *dev = ctx;
    long rc = xenbus_front_write(&dev->xb, tx, "ring-ref", dev->ring_ref);

    if (rc == 0)
        rc = xenbus_front_write(&dev->xb, tx, "event-channel", dev->evtchn);
    return rc;
}

long blkfront_init(int devid, struct blkfront **out)
{
    if (devid < 0)
        return -ENODEV;                    /* xen-vbd-interface numbers are positive */
    return xenbus_front_init(&blkfront_ops, devid ? devid : XENBUS_FRONT_ANY, (void **)out);
}

static long status_to_errno(int status)
{
    if (status == BLKIF_RSP_OKAY)
        return 0;
    return status == BLKIF_RSP_EOPNOTSUPP ? -EOPNOTSUPP : -EIO;
}

/* Publish the request filled at req_prod_pvt, notify if asked, wait for its answer. */
static long submit(struct blkfront *dev, uint32_t id, int operation)
{
    stime_t deadline = deadline_after_ms(BLKFRONT_TIMEOUT_MS);
    blkif_response_t *rsp;
    int notify, work, status;
    long rc;

    dev->ring.req_prod_pvt++;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&dev->ring, notify);
    if (notify)
        evtchn_notify(dev->evtchn);
    for (;;) {
        while (RING_HAS_UNCONSUMED_RESPONSES(&dev->ring)) {
            rsp = RING_GET_RESPONSE(&dev->ring, dev->ring.rsp_cons);
            status = rsp->status;
            work = (uint32_t)rsp->id == id && rsp->operation == operation;
            dev->ring.rsp_cons++;
            if (work)
                return status_to_errno(status);
        }
        RING_FINAL_CHECK_FOR_RESPONSES(&dev->ring, work);
        if (work)
            continue;
        rc = evtchn_wait(&dev->evtchn, 1, deadline);
        if (rc < 0)
            return rc;
    }
}

/* One READ or WRITE of up to MAX_REQUEST_SECTORS through the bounce pages. */
static long rw_request(struct blkfront *dev, int op, uint32_t sector, uint32_t nr)
{
    blkif_request_t *req;
    uint32_t id = ++dev->next_id;
    unsigned int i, count;

    req = RING_GET_REQUEST(&dev->ring, dev->ring.req_prod_pvt);
    req->operation = op;
    req->handle = 0;
    req->id = id;
    req->sector_number = sector;
    req->nr_segments = (nr + SECTORS_PER_PAGE - 1) / SECTORS_PER_PAGE;
    for (i = 0; i < req->nr_segments; i++) {
        count = nr - i * SECTORS_PER_PAGE;
        req->seg[i].gref = dev->data_ref[i];
        req->seg[i].first_sect = 0;
        req->seg[i].last_sect = (count < SECTORS_PER_PAGE ? count : SECTORS_PER_PAGE) - 1;
    }
    return submit(dev, id, op);
}

static long check_range(struct blkfront *dev, uint32_t sector, uint32_t nr)
{
    if (!dev || !dev->xb.connected)
        return -ENODEV;
    if (nr > dev->sectors || sector > dev->sectors - nr)
        return -EINVAL;
    return 0;
}

long blkfront_read(struct blkfront *dev, uint32_t sector, void *buf, uint32_t nr_sectors)
{
    char *out = buf;
    uint32_t nr, i;
    long rc = check_range(dev, sector, nr_sectors);

    while (rc == 0 && nr_sectors) {
        nr = nr_sectors < MAX_REQUEST_SECTORS ? nr_sectors : MAX_REQUEST_SECTORS;
        rc = rw_request(dev, BLKIF_OP_READ, sector, nr);
        for (i = 0; rc == 0 && i * SECTORS_PER_PAGE < nr; i++) {
            uint32_t left = nr - i * SECTORS_PER_PAGE;
            memcpy(out + i * PAGE_SIZE, dev->data[i],
                   (left < SECTORS_PER_PAGE ? left : SECTORS_PER_PAGE) * BLKIF_SECTOR_SIZE);
        }
        out += nr * BLKIF_SECTOR_SIZE;
        sector += nr;
        nr_sectors -= nr;
    }
    return rc;
}

long blkfront_write(struct blkfront *dev, uint32_t sector, const void *buf,
                    uint32_t nr_sectors)
{
    const char *in = buf;
    uint32_t nr, i;
    long rc = check_range(dev, sector, nr_sectors);

    if (rc == 0 && dev->readonly)
        rc = -EROFS;
    while (rc == 0 && nr_sectors) {
        nr = nr_sectors < MAX_REQUEST_SECTORS ? nr_sectors : MAX_REQUEST_SECTORS;
        for (i = 0; i * SECTORS_PER_PAGE < nr; i++) {
            uint32_t left = nr - i * SECTORS_PER_PAGE;
            memcpy(dev->data[i], in + i * PAGE_SIZE,
                   (left < SECTORS_PER_PAGE ? left : SECTORS_PER_PAGE) * BLKIF_SECTOR_SIZE);
        }
        rc = rw_request(dev, BLKIF_OP_WRITE, sector, nr);
        in += nr * BLKIF_SECTOR_SIZE;
        sector += nr;
        nr_sectors -= nr;
    }
    return rc;
}

long blkfront_flush(struct blkfront *dev)
{
    blkif_request_t *req;
    uint32_t id;
    long rc = check_range(dev, 0, 0);

    if (rc)
        return rc;
    if (!dev->feature_flush)
        return -EOPNOTSUPP;
    id = ++dev->next_id;
    req = RING_GET_REQUEST(&dev->ring, dev->ring.req_prod_pvt);
    memset(req, 0, sizeof(*req));
    req->operation = BLKIF_OP_FLUSH_DISKCACHE;
    req->id = id;
    return submit(dev, id, BLKIF_OP_FLUSH_DISKCACHE);
}

long blkfront_discard(struct blkfront *dev, uint32_t sector, uint32_t nr_sectors)
{
    blkif_request_discard_t *req;
    uint32_t id;
    long rc = check_range(dev, sector, nr_sectors);

    if (rc)
        return rc;
    if (!dev->feature_discard)
        return -EOPNOTSUPP;
    if (dev->readonly)
        return -EROFS;
    id = ++dev->next_id;
    req = (blkif_request_discard_t *)RING_GET_REQUEST(&dev->ring, dev->ring.req_prod_pvt);
    memset(req, 0, sizeof(blkif_request_t));
    req->operation = BLKIF_OP_DISCARD;
    req->id = id;
    req->sector_number = sector;
    req->nr_sectors = nr_sectors;
    return submit(dev, id, BLKIF_OP_DISCARD);
}

/* ops->release: the grants of the ring and data pages, then the event channel. */
static long release(void *ctx)
{
    struct blkfront *dev = ctx;
    long rc = 0;
    int i;

    xenbus_front_end_grant(dev->ring_ref, dev->ring.sring, &rc);
    for (i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
        xenbus_front_end_grant(dev->data_ref[i], dev->data[i], &rc);
    xenbus_front_close_port(dev->evtchn, &rc);
    return rc;
}

long blkfront_shutdown(struct blkfront *dev)
{
    return xenbus_front_shutdown(dev ? &dev->xb : NULL);
}
