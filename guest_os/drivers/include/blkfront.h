/* blkfront.h: the frontend of a virtual block device (guest_os/drivers/blkfront.c;
   docs/io.md "Block devices" for the handshake and blkback).

   blkfront_init finds the vbd in XenStore (device/vbd/<devid>), waits for the backend
   to reach InitWait, reads the disk's geometry and features, grants a ring page and
   BLKIF_MAX_SEGMENTS_PER_REQUEST data pages to the backend (granted once, writable,
   and used as bounce buffers for every request), allocates an event channel, publishes
   ring-ref and event-channel in a transaction, goes Initialised and, once the backend
   is Connected, Connected.  I/O is synchronous: one request on the ring at a time.
   Sectors are 512 bytes (BLKIF_SECTOR_SIZE); a request carries up to 11 pages (88
   sectors), longer I/O is split.  Every call returns 0 or -errno: -EIO for
   BLKIF_RSP_ERROR, -EOPNOTSUPP for BLKIF_RSP_EOPNOTSUPP or a feature the backend lacks,
   -EROFS for writes and discards on a read-only disk, -EINVAL for a range outside the
   disk, -ETIMEDOUT if the backend does not answer in BLKFRONT_TIMEOUT_MS.  The
   XenStore steps are xenbus_front.h's. */
#ifndef DRIVERS_BLKFRONT_H
#define DRIVERS_BLKFRONT_H

#include <events.h>
#include <gnttab.h>
#include <paravisor.h>
#include <ring.h>
#include <xenbus.h>
#include <xenbus_front.h>

#define BLKFRONT_TIMEOUT_MS 10000
#define BLKFRONT_MAX_DEVICES 4

struct blkfront {
    struct xenbus_front xb;            /* first (xenbus_front.h): device/vbd/<devid> and its
                                          backend; xb.devid is xen-vbd-interface's
                                          number (xvda = 51712) */
    uint32_t sectors;                  /* disk size in 512-byte sectors */
    unsigned int sector_size;
    unsigned int info;                 /* VDISK_* bits */
    int readonly;                      /* info & VDISK_READONLY */
    int feature_flush;                 /* feature-flush-cache */
    int feature_discard;               /* feature-discard */
    blkif_front_ring_t ring;
    grant_ref_t ring_ref;
    evtchn_port_t evtchn;
    void *data[BLKIF_MAX_SEGMENTS_PER_REQUEST];       /* granted bounce pages */
    grant_ref_t data_ref[BLKIF_MAX_SEGMENTS_PER_REQUEST];
    uint32_t next_id;
};

/* Connect the vbd `devid` (0: the first under device/vbd): 0 and *dev, or -errno
   (-ENODEV: no such device, or the backend failed; its hotplug-error is printed). */
long blkfront_init(int devid, struct blkfront **dev);
long blkfront_read(struct blkfront *dev, uint32_t sector, void *buf, uint32_t nr_sectors);
long blkfront_write(struct blkfront *dev, uint32_t sector, const void *buf,
                    uint32_t nr_sectors);
/* BLKIF_OP_FLUSH_DISKCACHE: 0 once the backend has the data on stable storage. */
long blkfront_flush(struct blkfront *dev);
/* BLKIF_OP_DISCARD: the range reads back as zeros afterwards (our blkback zeroes it). */
long blkfront_discard(struct blkfront *dev, uint32_t sector, uint32_t nr_sectors);
/* Closing -> Closed with the backend, then revoke every grant and close the port:
   0, or the first error (the device is unusable either way). */
long blkfront_shutdown(struct blkfront *dev);

#endif /* DRIVERS_BLKFRONT_H */
