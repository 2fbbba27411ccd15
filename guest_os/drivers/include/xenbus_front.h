/* xenbus_front.h: the life cycle every split-driver frontend shares
   (guest_os/drivers/xenbus_front.c; docs/io.md "The model in one page").

   A driver keeps a static table of devices, each beginning with a struct
   xenbus_front, and describes itself in one struct xenbus_front_ops.  Then
   xenbus_front_init takes a free entry and runs the handshake:

       find       device/<type>/<devid> (XENBUS_FRONT_ANY: the first entry of
                  device/<type>): backend, backend-id
       wait       the backend's InitWait; a backend that went Closing or Closed
                  instead makes it print "<driver>: <nodename>: <why>", why being the
                  backend's hotplug-error (or "backend closed"), and fail -ENODEV
       setup      ops->setup(dev): the driver reads the backend's features, grants its
                  rings and allocates its event channel
       publish    ops->write_keys(dev, tx) in one transaction, started again while its
                  commit is -EAGAIN; our state = Initialised
       connect    the backend's Connected (else -ENODEV); our state = Connected

   and xenbus_front_shutdown undoes it: Closing -> (backend Closing or Closed) ->
   Closed -> (backend Closed), then ops->release(dev).  Each wait gives up after
   ops->timeout_ms of virtual time (-ETIMEDOUT).  Every call returns 0 or -errno; a key
   path longer than XENBUS_PATH_MAX is -E2BIG. */
#ifndef DRIVERS_XENBUS_FRONT_H
#define DRIVERS_XENBUS_FRONT_H

#include <events.h>
#include <gnttab.h>
#include <paravisor.h>
#include <xenbus.h>

#define XENBUS_FRONT_ANY (-1)              /* xenbus_front_init: the first device */

struct xenbus_front_ops;

struct xenbus_front {
    const struct xenbus_front_ops *ops;    /* NULL while the entry is free */
    int devid;                             /* the <devid> of device/<type>/<devid> */
    char nodename[64];                     /* device/<type>/<devid> (relative to our home) */
    char backend[XENBUS_PATH_MAX];         /* the backend's directory (absolute) */
    domid_t backend_id;
    int connected;                         /* both ends Connected, not yet shut down */
};

struct xenbus_front_ops {
    const char *driver;                    /* "blkfront": the prefix of console lines */
    const char *type;                      /* "vbd": the <type> of device/<type> */
    uint32_t timeout_ms;                   /* each wait for the backend */
    void *devices;                         /* the table: nr_devices entries of */
    unsigned int nr_devices;               /* device_size bytes, each beginning with */
    unsigned int device_size;              /* its struct xenbus_front */
    /* The backend is at InitWait: read its keys, grant the rings, allocate the event
       channel.  0 or -errno. */
    long (*setup)(void *dev);
    /* Write our keys (xenbus_front_write) inside transaction tx: 0 or -errno, which
       aborts it. */
    long (*write_keys)(void *dev, uint32_t tx);
    /* Revoke every grant, free the pages, close the event channel, whatever setup got
       done (the entry was zeroed before init): 0 or the first -errno. */
    long (*release)(void *dev);
};

/* Take a free entry of ops->devices (zeroed) and connect device/<type>/<devid>: 0 and
   *dev, or -errno with the entry released and free again (-ENOSPC: every entry is in
   use; -ENODEV: no such device, or the backend closed). */
long xenbus_front_init(const struct xenbus_front_ops *ops, int devid, void **dev);
/* The handshake's Closing -> Closed, then ops->release: 0 or the first -errno (the
   handshake's first); the entry is free again either way.  -ENODEV for NULL or a free
   entry. */
long xenbus_front_shutdown(struct xenbus_front *front);

/* The integer at <backend>/<key> into *value: 0 or -errno (-ENOENT if absent). */
long xenbus_front_backend_int(const struct xenbus_front *front, const char *key,
                              long *value);
/* The string at <nodename>/<key> into buf[size]: its length or -errno. */
long xenbus_front_read(const struct xenbus_front *front, const char *key, char *buf,
                       unsigned int size);
/* <nodename>/<key> = the decimal `value`, inside transaction `tx`. */
long xenbus_front_write(const struct xenbus_front *front, uint32_t tx, const char *key,
                        uint32_t value);

/* For ops->release.  Revoke grant `ref` (0: none) and, once it is revoked, free_page
   `page` (NULL: none; a page the backend still maps is never reused): 1 if the page is
   ours again, else 0 with the error kept in *first unless it holds one already. */
int xenbus_front_end_grant(grant_ref_t ref, void *page, long *first);
/* Close event channel `port` (0: none), keeping its error in *first likewise. */
void xenbus_front_close_port(evtchn_port_t port, long *first);

#endif /* DRIVERS_XENBUS_FRONT_H */
