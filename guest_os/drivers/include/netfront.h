/* netfront.h: the frontend of a virtual network interface (guest_os/drivers/netfront.c;
   docs/io.md "Guest networking" for the handshake and the demo, and the netback
   section for the backend).

   netfront_init finds the vif in XenStore (device/vif/<devid>), waits for the backend's
   InitWait, checks it offers feature-rx-copy, grants a tx ring page and an rx ring page,
   posts NETFRONT_RX_BUFFERS receive buffers (one granted page each, writable), allocates
   one event channel for both rings, publishes tx-ring-ref, rx-ring-ref, event-channel,
   request-rx-copy = 1 and feature-rx-notify = 1 in a transaction, goes Initialised and,
   once the backend is Connected, Connected.

   A frame is one Ethernet frame without FCS, 14 bytes up to a page, sent in one tx slot
   (no scatter-gather): it is copied into one of NETFRONT_TX_BUFFERS pages, granted
   read-only for that frame alone and revoked once the backend has answered.  Every
   call returns 0 (or a length) or -errno.  The XenStore steps are xenbus_front.h's. */
#ifndef DRIVERS_NETFRONT_H
#define DRIVERS_NETFRONT_H

#include <events.h>
#include <gnttab.h>
#include <paravisor.h>
#include <ring.h>
#include <xenbus.h>
#include <xenbus_front.h>

#define NETFRONT_TIMEOUT_MS 10000          /* handshake steps and waits for a tx slot */
#define NETFRONT_MAX_DEVICES 2
#define NETFRONT_FIRST XENBUS_FRONT_ANY    /* netfront_init: the first vif (devids start at 0) */
#define NETFRONT_RX_BUFFERS NET_RX_RING_SIZE
#define NETFRONT_TX_BUFFERS 16
#define NETFRONT_MIN_FRAME 14              /* an Ethernet header */

struct netfront {
    struct xenbus_front xb;                /* first (xenbus_front.h): device/vif/<devid>
                                              and its backend; xb.devid is the vif's
                                              index in the domain's vif list */
    uint8_t mac[6];                        /* from our node's `mac` */
    netif_tx_front_ring_t tx;
    netif_rx_front_ring_t rx;
    grant_ref_t tx_ring_ref;
    grant_ref_t rx_ring_ref;
    evtchn_port_t evtchn;
    uint8_t *rx_page[NETFRONT_RX_BUFFERS]; /* buffer id i is rx_page[i], granted rx_ref[i] */
    grant_ref_t rx_ref[NETFRONT_RX_BUFFERS];
    uint8_t *tx_page[NETFRONT_TX_BUFFERS]; /* tx request id i uses tx_page[i] */
    grant_ref_t tx_ref[NETFRONT_TX_BUFFERS];   /* non-zero until that frame's grant is revoked */
    uint8_t tx_answered[NETFRONT_TX_BUFFERS];  /* the backend answered; revoke pending */
    unsigned int tx_in_flight;
    int rx_dropping;                       /* skipping the rest of a multi-slot packet */
    uint32_t tx_packets, tx_errors;        /* answered OKAY / not OKAY */
    uint32_t rx_packets, rx_dropped;       /* delivered / bad, oversized or multi-slot */
};

/* Connect the vif `devid` (NETFRONT_FIRST: the first under device/vif): 0 and *dev,
   or -errno (-ENODEV: no such vif, or the backend closed: its hotplug-error is
   printed; -EOPNOTSUPP: the backend cannot copy into our rx buffers; -ETIMEDOUT: it
   did not answer in time). */
long netfront_init(int devid, struct netfront **dev);
/* Queue one frame of len bytes: 0 once it is on the ring (not when the backend has
   answered), -EMSGSIZE for len outside NETFRONT_MIN_FRAME..PAGE_SIZE, -ENODEV if not
   connected, -ETIMEDOUT if no tx buffer came free within NETFRONT_TIMEOUT_MS. */
long netfront_send(struct netfront *dev, const void *frame, unsigned int len);
/* The next received frame copied into buf: its length, or -ETIMEDOUT once `deadline`
   passes (stime_never(): wait forever), -EMSGSIZE if it is longer than cap (it is
   dropped), -ENODEV if not connected.  Its buffer is posted again at once. */
long netfront_receive(struct netfront *dev, void *buf, unsigned int cap, stime_t deadline);
/* The interface's MAC address (6 bytes), or NULL without a device. */
const uint8_t *netfront_mac(const struct netfront *dev);
/* Wait (up to NETFRONT_TIMEOUT_MS) for frames in flight, do Closing -> Closed with the
   backend, revoke every grant and close the event channel: 0 or the first -errno. */
long netfront_shutdown(struct netfront *dev);

#endif /* DRIVERS_NETFRONT_H */
