/* events.c: event channels polled with SCHEDOP_poll, and virtual time (events.h). */
#include <events.h>
#include <hypercalls.h>
#include <pv32.h>

extern char __drivers_shared_info_page[];
static shared_info_t *shared;

shared_info_t *events_init(void)
{
    unsigned long pte;

    if (shared)
        return shared;
    /* start_info.shared_info is a machine address: map it over our reserved page. */
    pte = __start_info->shared_info | PTE_P | PTE_W;
    if (HYPERVISOR_update_va_mapping((unsigned long)__drivers_shared_info_page, pte,
                                     UVMF_INVLPG | UVMF_LOCAL) == 0)
        shared = (shared_info_t *)__drivers_shared_info_page;
    return shared;
}

stime_t clock_now(void)
{
    stime_t now = {0, 0};
    volatile vcpu_time_info_t *t;
    volatile uint32_t *system_time;
    uint32_t version;

    if (!events_init())
        return now;
    t = &shared->vcpu_info[0].time;
    system_time = (volatile uint32_t *)&t->system_time;
    do {
        /* odd: the hypervisor is writing; a changed version: we read a torn value */
        version = t->version;
        __fence();
        now.lo = system_time[0];
        now.hi = system_time[1];
        __fence();
    } while ((version & 1) || version != t->version);
    return now;
}

stime_t stime_add_ns(stime_t t, uint32_t ns)
{
    stime_t out;

    out.lo = t.lo + ns;
    out.hi = t.hi + (out.lo < t.lo);      /* carry out of the low word */
    return out;
}

stime_t deadline_after_ms(uint32_t ms)
{
    stime_t t = clock_now();

    while (ms >= 4000) {                  /* 4000 ms in ns still fits 32 bits */
        t = stime_add_ns(t, 4000u * 1000000u);
        ms -= 4000;
    }
    return stime_add_ns(t, ms * 1000000u);
}

int stime_before(stime_t a, stime_t b)
{
    return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo);
}

stime_t stime_never(void)
{
    stime_t never = {0, 0};
    return never;
}

long evtchn_alloc_unbound(domid_t remote, evtchn_port_t *port)
{
    evtchn_alloc_unbound_t op;
    long rc;

    op.dom = DOMID_SELF;
    op.remote_dom = remote;
    op.port = 0;
    rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);
    if (rc == 0)
        *port = op.port;
    return rc;
}

long evtchn_notify(evtchn_port_t port)
{
    evtchn_send_t op;

    op.port = port;
    return HYPERVISOR_event_channel_op(EVTCHNOP_send, &op);
}

long evtchn_close(evtchn_port_t port)
{
    evtchn_close_t op;

    op.port = port;
    return HYPERVISOR_event_channel_op(EVTCHNOP_close, &op);
}

int evtchn_test_and_clear(evtchn_port_t port)
{
    uint32_t *word, bit, old;

    if (!events_init() || port >= 32 * 32)
        return 0;
    word = &shared->evtchn_pending[port / 32];
    bit = 1u << (port % 32);
    do {
        old = *(volatile uint32_t *)word;
        if (!(old & bit))
            return 0;
    } while (__cas(word, old, old & ~bit) != old);   /* the hypervisor sets bits too */
    return 1;
}

long evtchn_wait(const evtchn_port_t *ports, unsigned int nr, stime_t deadline)
{
    sched_poll_t poll;
    uint32_t *timeout = (uint32_t *)&poll.timeout;
    int forever = deadline.lo == 0 && deadline.hi == 0;
    unsigned int i;
    long rc;

    if (!events_init())
        return -ENODEV;
    for (;;) {
        for (i = 0; i < nr; i++)
            if (evtchn_test_and_clear(ports[i]))
                return ports[i];
        if (!forever && !stime_before(clock_now(), deadline))
            return -ETIMEDOUT;
        poll.ports = (uint32_t)ports;
        poll.nr_ports = nr;
        timeout[0] = deadline.lo;
        timeout[1] = deadline.hi;
        rc = HYPERVISOR_sched_op(SCHEDOP_poll, &poll);
        if (rc < 0)
            return rc;
    }
}
