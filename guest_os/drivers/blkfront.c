/* blkfront.c: the block frontend of C guests (blkfront.h). */
#include <blkfront.h>
#include <hypercalls.h>
#include <pv32.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTORS_PER_PAGE (PAGE_SIZE / BLKIF_SECTOR_SIZE)
#define MAX_REQUEST_SECTORS (BLKIF_MAX_SEGMENTS_PER_REQUEST * SECTORS_PER_PAGE)

static struct blkfront devices[BLKFRONT_MAX_DEVICES];

static long backend_int(struct blkfront *dev, const char *key, long *value)
{
    char path[XENBUS_PATH_MAX];

    if (snprintf(path, sizeof(path), "%s/%s", dev->backend, key) >= (int)sizeof(path))
        return -E2BIG;
    return xenbus_read_int(XBT_NIL, path, value);
}

/* devid 0: the first device under device/vbd. */
static long find_device(int devid, struct blkfront *dev)
{
    char names[256];
    char path[XENBUS_PATH_MAX];
    long rc, id;

    if (devid == 0) {
        rc = xenbus_directory(XBT_NIL, "device/vbd", names, sizeof(names));
        if (rc <= 0)
            return rc == 0 || rc == -ENOENT ? -ENODEV : rc;
        devid = atoi(names);
    }
    dev->devid = devid;
    snprintf(dev->nodename, sizeof(dev->nodename), "device/vbd/%d", devid);
    snprintf(path, sizeof(path), "%s/backend", dev->nodename);
    rc = xenbus_read(XBT_NIL, path, dev->backend, sizeof(dev->backend));
    if (rc < 0)
        return rc == -ENOENT ? -ENODEV : rc;
    snprintf(path, sizeof(path), "%s/backend-id", dev->nodename);
    rc = xenbus_read_int(XBT_NIL, path, &id);
    if (rc < 0)
        return rc;
    dev->backend_id = id;
    return 0;
}

/* Wait for the backend's InitWait and read what it published there. */
static long read_backend_info(struct blkfront *dev)
{
    char path[XENBUS_PATH_MAX];
    char why[128];
    long rc, value;

    snprintf(path, sizeof(path), "%s/state", dev->backend);
    rc = xenbus_wait_for_state(path, XENBUS_STATE_BIT(XenbusStateInitWait) |
                               XENBUS_STATE_BIT(XenbusStateClosing) |
                               XENBUS_STATE_BIT(XenbusStateClosed),
                               deadline_after_ms(BLKFRONT_TIMEOUT_MS));
    if (rc < 0)
        return rc;
    if (rc != XenbusStateInitWait) {
        snprintf(path, sizeof(path), "%s/hotplug-error", dev->backend);
        if (xenbus_read(XBT_NIL, path, why, sizeof(why)) < 0)
            strcpy(why, "backend closed");
        printf("blkfront: %s: %s\n", dev->nodename, why);
        return -ENODEV;
    }
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
    ref = gnttab_grant_access(dev->backend_id, virt_to_mfn(sring), 0);
    if (ref < 0)
        return ref;
    dev->ring_ref = ref;
    for (i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
        dev->data[i] = alloc_page();
        if (!dev->data[i])
            return -ENOMEM;
        ref = gnttab_grant_access(dev->backend_id, virt_to_mfn(dev->data[i]), 0);
        if (ref < 0)
            return ref;
        dev->data_ref[i] = ref;
    }
    return evtchn_alloc_unbound(dev->backend_id, &dev->evtchn);
}

/* ring-ref and event-channel in one transaction (retried on -EAGAIN), Initialised. */
static long publish(struct blkfront *dev)
{
    char path[XENBUS_PATH_MAX];
    uint32_t tx;
    long rc;

    do {
        if ((rc = xenbus_transaction_start(&tx)) < 0)
            return rc;
        snprintf(path, sizeof(path), "%s/ring-ref", dev->nodename);
        rc = xenbus_printf(tx, path, "%u", dev->ring_ref);
        if (rc == 0) {
            snprintf(path, sizeof(path), "%s/event-channel", dev->nodename);
            rc = xenbus_printf(tx, path, "%u", dev->evtchn);
        }
        if (rc < 0) {
            xenbus_transaction_end(tx, 1);
            return rc;
        }
        rc = xenbus_transaction_end(tx, 0);
    } while (rc == -EAGAIN);
    if (rc < 0)
        return rc;
    return xenbus_switch_state(dev->nodename, XenbusStateInitialised);
}

static long connect(struct blkfront *dev)
{
    char path[XENBUS_PATH_MAX];
    long rc;

    snprintf(path, sizeof(path), "%s/state", dev->backend);
    rc = xenbus_wait_for_state(path, XENBUS_STATE_BIT(XenbusStateConnected) |
                               XENBUS_STATE_BIT(XenbusStateClosing) |
                               XENBUS_STATE_BIT(XenbusStateClosed),
                               deadline_after_ms(BLKFRONT_TIMEOUT_MS));
    if (rc < 0)
        return rc;
    if (rc != XenbusStateConnected)
        return -ENODEV;
    dev->connected = 1;
    return xenbus_switch_state(dev->nodename, XenbusStateConnected);
}

long blkfront_init(int devid, struct blkfront **out)
{
    struct blkfront *dev = NULL;
    long rc;
    int i;

    for (i = 0; i < BLKFRONT_MAX_DEVICES && !dev; i++)
        if (!devices[i].nodename[0])
            dev = &devices[i];
    if (!dev)
        return -ENOSPC;
    memset(dev, 0, sizeof(*dev));
    rc = find_device(devid, dev);
    if (rc == 0)
        rc = read_backend_info(dev);
    if (rc == 0)
        rc = setup_ring(dev);
    if (rc == 0)
        rc = publish(dev);
    if (rc == 0)
        rc = connect(dev);
    if (rc < 0) {
        blkfront_shutdown(dev);
        return rc;
    }
    *out = dev;
    return 0;
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
    if (!dev || !dev->connected)
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

/* Closing -> (backend Closing or Closed) -> Closed -> (backend Closed). */
static long close_handshake(struct blkfront *dev)
{
    char path[XENBUS_PATH_MAX];
    long rc;

    snprintf(path, sizeof(path), "%s/state", dev->backend);
    rc = xenbus_switch_state(dev->nodename, XenbusStateClosing);
    if (rc == 0)
        rc = xenbus_wait_for_state(path, XENBUS_STATE_BIT(XenbusStateClosing) |
                                   XENBUS_STATE_BIT(XenbusStateClosed),
                                   deadline_after_ms(BLKFRONT_TIMEOUT_MS));
    if (rc >= 0)
        rc = xenbus_switch_state(dev->nodename, XenbusStateClosed);
    if (rc >= 0)
        rc = xenbus_wait_for_state(path, XENBUS_STATE_BIT(XenbusStateClosed),
                                   deadline_after_ms(BLKFRONT_TIMEOUT_MS));
    return rc < 0 ? rc : 0;
}

/* Revoke one grant and free its page; the first error is kept in *first. */
static void release(grant_ref_t ref, void *page, long *first)
{
    long rc = ref ? gnttab_end_access(ref) : 0;

    if (rc < 0 && *first == 0)
        *first = rc;
    if (rc == 0 && page)
        free_page(page);       /* a page still mapped by the backend is never reused */
}

long blkfront_shutdown(struct blkfront *dev)
{
    long rc = 0;
    int i;

    if (!dev || !dev->nodename[0])
        return -ENODEV;
    if (dev->backend[0])
        rc = close_handshake(dev);
    dev->connected = 0;
    release(dev->ring_ref, dev->ring.sring, &rc);
    for (i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
        release(dev->data_ref[i], dev->data[i], &rc);
    if (dev->evtchn) {
        long closed = evtchn_close(dev->evtchn);
        if (closed < 0 && rc == 0)
            rc = closed;
    }
    dev->nodename[0] = '\0';
    return rc;
}
