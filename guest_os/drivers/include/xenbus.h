/* xenbus.h: a XenStore client over the guest's own ring (guest_os/drivers/xenbus.c;
   docs/xenstore.md, io/xs_wire.h).

   The ring page is start_info.store_mfn (mapped by the builder two pages after
   start_info), notified through start_info.store_evtchn.  Requests are synchronous:
   one is written, then replies are read until its req_id comes back; XS_WATCH_EVENT
   messages that arrive in between are queued for xenbus_read_watch.  Paths are
   absolute or relative to the domain's home (/local/domain/<domid>).  `tx` is a
   transaction id from xenbus_transaction_start, or XBT_NIL.  Every call returns
   -errno on failure: XS_ERROR replies map to their errno (-ENOENT, -EACCES, -EAGAIN
   for a transaction that must be retried, ...), -ETIMEDOUT if xenstored does not
   answer within XENBUS_TIMEOUT_MS of virtual time, -E2BIG if a reply does not fit. */
#ifndef DRIVERS_XENBUS_H
#define DRIVERS_XENBUS_H

#include <events.h>
#include <paravisor.h>

#define XBT_NIL 0u
#define XENBUS_TIMEOUT_MS 10000
#define XENBUS_PATH_MAX 256
#define XENBUS_STATE_BIT(state) (1u << (state))

/* Find the ring and event channel: 0, or -ENODEV if start_info names none. */
long xenbus_init(void);

/* The value at `path` into buf (NUL-terminated): its length, or -errno (-E2BIG if it
   needs more than size - 1 bytes). */
long xenbus_read(uint32_t tx, const char *path, char *buf, unsigned int size);
/* The value at `path` as a decimal integer into *value: 0, -errno, or -EINVAL if it
   is not a number. */
long xenbus_read_int(uint32_t tx, const char *path, long *value);
long xenbus_write(uint32_t tx, const char *path, const char *value);
/* xenbus_write of printf(fmt, ...): -E2BIG beyond XENBUS_PATH_MAX bytes. */
long xenbus_printf(uint32_t tx, const char *path, const char *fmt, ...);
long xenbus_rm(uint32_t tx, const char *path);
/* The children of `path`, each NUL-terminated, back to back in buf: their number. */
long xenbus_directory(uint32_t tx, const char *path, char *buf, unsigned int size);

/* XS_TRANSACTION_START: 0 and *tx.  _end commits (abort = 0) or aborts; a commit
   that conflicted with another writer is -EAGAIN: start again. */
long xenbus_transaction_start(uint32_t *tx);
long xenbus_transaction_end(uint32_t tx, int abort);

/* XS_WATCH / XS_UNWATCH.  As in Xen a new watch fires once at once. */
long xenbus_watch(const char *path, const char *token);
long xenbus_unwatch(const char *path, const char *token);
/* The oldest queued watch event whose token is `token` (NULL: any): its path into
   path[size] and 0, or -ETIMEDOUT when `deadline` passes first (stime_never(): wait
   forever).  Events for other tokens stay queued; the queue keeps the last
   XENBUS_EVENT_QUEUE events. */
#define XENBUS_EVENT_QUEUE 16
long xenbus_read_watch(const char *token, char *path, unsigned int size, stime_t deadline);

/* Write `state` (XenbusState*) to <dir>/state: 0 or -errno. */
long xenbus_switch_state(const char *dir, int state);
/* Wait until the integer at `path` is one of the states in `states` (a mask of
   XENBUS_STATE_BIT(s)): that state, or -ETIMEDOUT at `deadline`, or -errno.  A missing
   node counts as XenbusStateUnknown. */
long xenbus_wait_for_state(const char *path, unsigned int states, stime_t deadline);

#endif /* DRIVERS_XENBUS_H */
