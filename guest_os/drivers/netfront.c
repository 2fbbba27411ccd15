/* netfront.c: the network frontend of C guests (netfront.h). */
#include <ether.h>
#include <netfront.h>
#include <stdio.h>
#include <string.h>

#define NETFRONT_PAGES (NETFRONT_RX_BUFFERS + NETFRONT_TX_BUFFERS)

static struct netfront devices[NETFRONT_MAX_DEVICES];
static long setup(void *ctx);
static long write_keys(void *ctx, uint32_t tx);
static long release(void *ctx);

static const struct xenbus_front_ops netfront_ops = {
    .driver = "netfront",
    .type = "vif",
    .timeout_ms = NETFRONT_TIMEOUT_MS,
    .devices = devices,
    .nr_devices = NETFRONT_MAX_DEVICES,
    .device_size = sizeof(struct netfront),
    .setup = setup,
    .write_keys = write_keys,
    .release = release,
};

/* The data pages of every device: alloc_page's pool is too small for 256 rx buffers,
   and cc cannot align a C object to a page, so one spare page lets us align by hand. */
static uint8_t page_store[(NETFRONT_MAX_DEVICES * NETFRONT_PAGES + 1) * PAGE_SIZE];

static uint8_t *device_pages(const struct netfront *dev)
{
    uint32_t base = ((uint32_t)page_store + PAGE_SIZE - 1) & ~(uint32_t)(PAGE_SIZE - 1);

    return (uint8_t *)base + (uint32_t)(dev - devices) * NETFRONT_PAGES * PAGE_SIZE;
}

/* Grant a page to the backend: the ref into *ref, or -errno. */
static long grant(struct netfront *dev, void *page, int readonly, grant_ref_t *ref)
{
    long rc = gnttab_grant_access(dev->xb.backend_id, virt_to_mfn(page), readonly);

    if (rc < 0)
        return rc;
    *ref = rc;
    return 0;
}

/* Put rx buffer `id` on the ring (not yet pushed). */
static void post_rx(struct netfront *dev, unsigned int id)
{
    netif_rx_request_t *req = RING_GET_REQUEST(&dev->rx, dev->rx.req_prod_pvt);

    req->id = id;
    req->pad = 0;
    req->gref = dev->rx_ref[id];
    dev->rx.req_prod_pvt++;
}

/* Both ring pages, the rx buffers (all posted), the tx pages and the event channel. */
static long setup_rings(struct netfront *dev)
{
    netif_tx_sring_t *txs = alloc_page();
    netif_rx_sring_t *rxs = alloc_page();
    uint8_t *pages = device_pages(dev);
    unsigned int i;
    long rc;

    if (!txs || !rxs) {
        free_page(txs);
        free_page(rxs);
        return -ENOMEM;
    }
    SHARED_RING_INIT(txs);
    FRONT_RING_INIT(&dev->tx, txs, NET_TX_RING_SIZE);
    SHARED_RING_INIT(rxs);
    FRONT_RING_INIT(&dev->rx, rxs, NET_RX_RING_SIZE);
    if ((rc = grant(dev, txs, 0, &dev->tx_ring_ref)) < 0 ||
        (rc = grant(dev, rxs, 0, &dev->rx_ring_ref)) < 0)
        return rc;
    for (i = 0; i < NETFRONT_RX_BUFFERS; i++) {
        dev->rx_page[i] = pages + i * PAGE_SIZE;
        if ((rc = grant(dev, dev->rx_page[i], 0, &dev->rx_ref[i])) < 0)
            return rc;
        post_rx(dev, i);
    }
    RING_PUSH_REQUESTS(&dev->rx);          /* the backend sees them when it connects */
    for (i = 0; i < NETFRONT_TX_BUFFERS; i++)
        dev->tx_page[i] = pages + (NETFRONT_RX_BUFFERS + i) * PAGE_SIZE;
    return evtchn_alloc_unbound(dev->xb.backend_id, &dev->evtchn);
}

/* ops->setup: our MAC; the backend must copy into our buffers (feature-rx-copy). */
static long setup(void *ctx)
{
    struct netfront *dev = ctx;
    char mac[32];
    long rc, copy = 0;

    if ((rc = xenbus_front_read(&dev->xb, "mac", mac, sizeof(mac))) < 0 ||
        (rc = mac_parse(mac, dev->mac)) < 0)
        return rc;
    if (xenbus_front_backend_int(&dev->xb, "feature-rx-copy", &copy) < 0 || copy != 1)
        return -EOPNOTSUPP;
    return setup_rings(dev);
}

/* ops->write_keys: the ring keys and the features we use. */
static long write_keys(void *ctx, uint32_t tx)
{
    struct netfront *dev = ctx;
    long rc;

    if ((rc = xenbus_front_write(&dev->xb, tx, "tx-ring-ref", dev->tx_ring_ref)) < 0 ||
        (rc = xenbus_front_write(&dev->xb, tx, "rx-ring-ref", dev->rx_ring_ref)) < 0 ||
        (rc = xenbus_front_write(&dev->xb, tx, "event-channel", dev->evtchn)) < 0 ||
        (rc = xenbus_front_write(&dev->xb, tx, "request-rx-copy", 1)) < 0)
        return rc;
    return xenbus_front_write(&dev->xb, tx, "feature-rx-notify", 1);
}

long netfront_init(int devid, struct netfront **out)
{
    return xenbus_front_init(&netfront_ops, devid, (void **)out);
}

/* Take every tx response, then revoke the grant of every answered frame and free its
   buffer.  A grant the backend still holds (-EBUSY) keeps its buffer busy: it is tried
   again on the next call. */
static void reap_tx(struct netfront *dev)
{
    netif_tx_response_t *rsp;
    unsigned int id;
    int more;

    do {
        while (RING_HAS_UNCONSUMED_RESPONSES(&dev->tx)) {
            rsp = RING_GET_RESPONSE(&dev->tx, dev->tx.rsp_cons);
            id = rsp->id;
            if (id < NETFRONT_TX_BUFFERS && dev->tx_ref[id] && !dev->tx_answered[id]) {
                if (rsp->status == NETIF_RSP_OKAY)
                    dev->tx_packets++;
                else
                    dev->tx_errors++;
                dev->tx_answered[id] = 1;
            }
            dev->tx.rsp_cons++;
        }
        RING_FINAL_CHECK_FOR_RESPONSES(&dev->tx, more);
    } while (more);
    for (id = 0; id < NETFRONT_TX_BUFFERS; id++) {
        if (dev->tx_answered[id] && gnttab_end_access(dev->tx_ref[id]) == 0) {
            dev->tx_ref[id] = 0;
            dev->tx_answered[id] = 0;
            dev->tx_in_flight--;
        }
    }
}

/* A free tx buffer's id, waiting for the backend's answers if every one is in flight;
   -ETIMEDOUT at the deadline. */
static long free_tx_buffer(struct netfront *dev, stime_t deadline)
{
    unsigned int id;
    long rc;

    for (;;) {
        reap_tx(dev);
        for (id = 0; id < NETFRONT_TX_BUFFERS; id++)
            if (!dev->tx_ref[id])
                return id;
        rc = evtchn_wait(&dev->evtchn, 1, deadline);
        if (rc < 0)
            return rc;
    }
}

long netfront_send(struct netfront *dev, const void *frame, unsigned int len)
{
    netif_tx_request_t *req;
    int notify;
    long id, rc;

    if (!dev || !dev->xb.connected)
        return -ENODEV;
    if (len < NETFRONT_MIN_FRAME || len > PAGE_SIZE)
        return -EMSGSIZE;
    id = free_tx_buffer(dev, deadline_after_ms(NETFRONT_TIMEOUT_MS));
    if (id < 0)
        return id;
    memcpy(dev->tx_page[id], frame, len);
    if ((rc = grant(dev, dev->tx_page[id], 1, &dev->tx_ref[id])) < 0)
        return rc;
    dev->tx_in_flight++;
    req = RING_GET_REQUEST(&dev->tx, dev->tx.req_prod_pvt);
    req->gref = dev->tx_ref[id];
    req->offset = 0;
    req->flags = 0;
    req->id = id;
    req->size = len;
    dev->tx.req_prod_pvt++;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&dev->tx, notify);
    if (notify)
        evtchn_notify(dev->evtchn);
    return 0;
}

/* Take one rx response if there is one: its frame's length copied into buf, 0 if the
   slot was dropped, -EMSGSIZE if it does not fit, -EAGAIN if there was none.  The
   buffer goes back on the ring at once. */
static long take_rx(struct netfront *dev, uint8_t *buf, unsigned int cap)
{
    netif_rx_response_t *rsp;
    unsigned int id, offset, flags;
    int status, notify, chained;
    long rc = 0;

    if (!RING_HAS_UNCONSUMED_RESPONSES(&dev->rx))
        return -EAGAIN;
    rsp = RING_GET_RESPONSE(&dev->rx, dev->rx.rsp_cons);
    id = rsp->id;
    offset = rsp->offset;
    flags = rsp->flags;
    status = rsp->status;
    dev->rx.rsp_cons++;
    if (id >= NETFRONT_RX_BUFFERS)
        return 0;                          /* not a buffer of ours: nothing to re-post */
    chained = dev->rx_dropping;
    dev->rx_dropping = (flags & NETRXF_more_data) != 0;
    if (chained || dev->rx_dropping || status <= 0 || offset + status > PAGE_SIZE)
        dev->rx_dropped++;
    else if ((unsigned int)status > cap) {
        dev->rx_dropped++;
        rc = -EMSGSIZE;
    } else {
        memcpy(buf, dev->rx_page[id] + offset, status);
        dev->rx_packets++;
        rc = status;
    }
    post_rx(dev, id);
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&dev->rx, notify);
    if (notify)
        evtchn_notify(dev->evtchn);
    return rc;
}

long netfront_receive(struct netfront *dev, void *buf, unsigned int cap, stime_t deadline)
{
    long rc;
    int more;

    if (!dev || !dev->xb.connected)
        return -ENODEV;
    for (;;) {
        reap_tx(dev);
        rc = take_rx(dev, buf, cap);
        if (rc != 0 && rc != -EAGAIN)
            return rc;
        if (rc == 0)
            continue;                      /* a dropped slot: look again */
        RING_FINAL_CHECK_FOR_RESPONSES(&dev->rx, more);
        if (more)
            continue;
        rc = evtchn_wait(&dev->evtchn, 1, deadline);
        if (rc < 0)
            return rc;
    }
}

const uint8_t *netfront_mac(const struct netfront *dev)
{
    return dev ? dev->mac : NULL;
}

/* Wait until the backend has answered every frame in flight, or the deadline. */
static void drain_tx(struct netfront *dev)
{
    stime_t deadline = deadline_after_ms(NETFRONT_TIMEOUT_MS);

    reap_tx(dev);
    while (dev->tx_in_flight && evtchn_wait(&dev->evtchn, 1, deadline) >= 0)
        reap_tx(dev);
}

/* ops->release: every buffer's and ring's grant, then the event channel. */
static long release(void *ctx)
{
    struct netfront *dev = ctx;
    long rc = 0;
    unsigned int i;

    for (i = 0; i < NETFRONT_TX_BUFFERS; i++)
        xenbus_front_end_grant(dev->tx_ref[i], NULL, &rc);
    for (i = 0; i < NETFRONT_RX_BUFFERS; i++)
        xenbus_front_end_grant(dev->rx_ref[i], NULL, &rc);
    xenbus_front_end_grant(dev->tx_ring_ref, dev->tx.sring, &rc);
    xenbus_front_end_grant(dev->rx_ring_ref, dev->rx.sring, &rc);
    xenbus_front_close_port(dev->evtchn, &rc);
    return rc;
}

long netfront_shutdown(struct netfront *dev)
{
    if (dev && dev->xb.connected)
        drain_tx(dev);
    return xenbus_front_shutdown(dev ? &dev->xb : NULL);
}
