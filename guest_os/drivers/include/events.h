/* events.h: event channels and virtual time for C guests, without an upcall handler
   (guest_os/drivers/events.c; docs/io.md "Guest side: the driver library").

   A C guest keeps events masked (the builder starts it so) and waits with
   SCHEDOP_poll instead of taking upcalls: evtchn_wait() sleeps until one of its ports
   is pending or a deadline passes, and clears the pending bit it reports.

   Time is virtual ns since the domain booted (docs/abi.md section 4).  paravisor cc
   cannot compute on 64-bit integers, so a time is an stime_t of two 32-bit halves. */
#ifndef DRIVERS_EVENTS_H
#define DRIVERS_EVENTS_H

#include <paravisor.h>

typedef struct {
    uint32_t lo;
    uint32_t hi;
} stime_t;

/* Map shared_info (once; later calls return the same).  NULL if the hypervisor
   refused the mapping. */
shared_info_t *events_init(void);

/* Now, from vcpu_info[0].time with the version protocol ({0, 0} without shared_info). */
stime_t clock_now(void);
/* t + ns, and now + ms: deadlines for evtchn_wait and xenbus_wait_for_state. */
stime_t stime_add_ns(stime_t t, uint32_t ns);
stime_t deadline_after_ms(uint32_t ms);
/* 1 if a is earlier than b. */
int stime_before(stime_t a, stime_t b);
/* The deadline that never passes (SCHEDOP_poll's "no timeout"). */
stime_t stime_never(void);

/* EVTCHNOP_alloc_unbound for `remote`: 0 and *port, or -errno. */
long evtchn_alloc_unbound(domid_t remote, evtchn_port_t *port);
/* EVTCHNOP_send on `port`: 0 or -errno. */
long evtchn_notify(evtchn_port_t port);
/* EVTCHNOP_close: 0 or -errno. */
long evtchn_close(evtchn_port_t port);
/* Atomically clear `port`'s pending bit: 1 if it was set, 0 if not (or no shared_info). */
int evtchn_test_and_clear(evtchn_port_t port);
/* Wait until one of the `nr` ports is pending: that port (its pending bit cleared), or
   -ETIMEDOUT once `deadline` passes (stime_never(): wait forever), or -errno from
   SCHEDOP_poll (-EINVAL for a bad port), or -ENODEV without shared_info. */
long evtchn_wait(const evtchn_port_t *ports, unsigned int nr, stime_t deadline);

#endif /* DRIVERS_EVENTS_H */
