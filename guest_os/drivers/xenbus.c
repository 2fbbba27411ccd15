/* xenbus.c: the XenStore client of C guests (xenbus.h). */
#include <xenbus.h>
#include <hypercalls.h>
#include <pv32.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define XS_PAYLOAD_MAX 4096
#define XS_TOKEN_MAX 64

struct watch_event {
    char path[XENBUS_PATH_MAX];
    char token[XS_TOKEN_MAX];
};

static xenstore_domain_interface_t *intf;
static evtchn_port_t store_port;
static uint32_t next_req_id = 1;
static unsigned int next_token = 1;
static char payload[XS_PAYLOAD_MAX + 1];       /* the message being read (NUL added) */
static char request[XS_PAYLOAD_MAX];
static struct watch_event queue[XENBUS_EVENT_QUEUE];
static unsigned int queued;                    /* queue[0] is the oldest */

/* XS_ERROR names (xs_wire.h's xsd_errors) and their errno. */
static const struct {
    const char *name;
    int errnum;
} xsd_errors[] = {
    {"EINVAL", EINVAL}, {"EACCES", EACCES}, {"EEXIST", EEXIST}, {"EISDIR", EISDIR},
    {"ENOENT", ENOENT}, {"ENOMEM", ENOMEM}, {"ENOSPC", ENOSPC}, {"EIO", EIO},
    {"ENOTEMPTY", ENOTEMPTY}, {"ENOSYS", ENOSYS}, {"EROFS", EROFS}, {"EBUSY", EBUSY},
    {"EAGAIN", EAGAIN}, {"EISCONN", EISCONN}, {"E2BIG", E2BIG}, {"EPERM", EPERM},
};

static long error_from_name(const char *name)
{
    unsigned int i;

    for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        if (strcmp(name, xsd_errors[i].name) == 0)
            return -xsd_errors[i].errnum;
    return -EIO;                               /* a name xs_wire.h does not know */
}

long xenbus_init(void)
{
    if (intf)
        return 0;
    if (!__start_info->store_mfn || !__start_info->store_evtchn)
        return -ENODEV;
    /* the builder maps the store page right after start_info and the console page */
    intf = (xenstore_domain_interface_t *)((char *)__start_info + 2 * PAGE_SIZE);
    store_port = __start_info->store_evtchn;
    return 0;
}

static unsigned int min3(unsigned int a, unsigned int b, unsigned int c)
{
    unsigned int m = a < b ? a : b;
    return m < c ? m : c;
}

/* Copy `len` bytes into the request ring, waiting for room. */
static long ring_write(const char *data, unsigned int len, stime_t deadline)
{
    uint32_t prod, room;
    unsigned int chunk;
    long rc;

    while (len) {
        prod = intf->req_prod;
        room = XENSTORE_RING_SIZE - (prod - intf->req_cons);
        if (room == 0 || room > XENSTORE_RING_SIZE) {
            evtchn_notify(store_port);
            rc = evtchn_wait(&store_port, 1, deadline);
            if (rc < 0)
                return rc;
            continue;
        }
        chunk = min3(len, room, XENSTORE_RING_SIZE - prod % XENSTORE_RING_SIZE);
        memcpy(intf->req + prod % XENSTORE_RING_SIZE, data, chunk);
        __fence();                             /* the bytes before the index */
        intf->req_prod = prod + chunk;
        data += chunk;
        len -= chunk;
    }
    return evtchn_notify(store_port);
}

/* Copy `len` bytes out of the response ring, waiting for them. */
static long ring_read(char *data, unsigned int len, stime_t deadline)
{
    uint32_t cons, avail;
    unsigned int chunk;
    long rc;

    while (len) {
        cons = intf->rsp_cons;
        avail = intf->rsp_prod - cons;
        if (avail == 0 || avail > XENSTORE_RING_SIZE) {
            rc = evtchn_wait(&store_port, 1, deadline);
            if (rc < 0)
                return rc;
            continue;
        }
        chunk = min3(len, avail, XENSTORE_RING_SIZE - cons % XENSTORE_RING_SIZE);
        __fence();                             /* the index before the bytes */
        memcpy(data, intf->rsp + cons % XENSTORE_RING_SIZE, chunk);
        __fence();
        intf->rsp_cons = cons + chunk;
        evtchn_notify(store_port);             /* xenstored may have more to write */
        data += chunk;
        len -= chunk;
    }
    return 0;
}

static void copy_string(char *dst, const char *src, unsigned int size)
{
    strncpy(dst, src, size - 1);
    dst[size - 1] = '\0';
}

static void queue_event(unsigned int len)
{
    unsigned int path_len = strnlen(payload, len);

    if (path_len >= len)
        return;                                /* malformed: no token */
    if (queued == XENBUS_EVENT_QUEUE) {        /* full: drop the oldest */
        memmove(&queue[0], &queue[1], sizeof(queue[0]) * (XENBUS_EVENT_QUEUE - 1));
        queued--;
    }
    copy_string(queue[queued].path, payload, XENBUS_PATH_MAX);
    copy_string(queue[queued].token, payload + path_len + 1, XS_TOKEN_MAX);
    queued++;
}

/* Read one message into `payload` (NUL-terminated); watch events are queued. */
static long read_message(xsd_sockmsg_t *hdr, stime_t deadline)
{
    long rc = ring_read((char *)hdr, sizeof(*hdr), deadline);

    if (rc < 0)
        return rc;
    if (hdr->len > XS_PAYLOAD_MAX)
        return -EIO;                           /* xenstored broke the protocol */
    rc = ring_read(payload, hdr->len, deadline);
    if (rc < 0)
        return rc;
    payload[hdr->len] = '\0';
    if (hdr->type == XS_WATCH_EVENT)
        queue_event(hdr->len);
    return 0;
}

/* Send <type> with payload `a`\0 then `b` (+\0 if b_nul); the reply's payload is left
   in `payload`, its length returned (or -errno). */
static long xs_talk(uint32_t type, uint32_t tx, const char *a, const char *b, int b_nul)
{
    xsd_sockmsg_t hdr;
    unsigned int alen = strlen(a) + 1, blen = b ? strlen(b) + (b_nul ? 1 : 0) : 0;
    stime_t deadline;
    long rc = xenbus_init();

    if (rc)
        return rc;
    if (alen + blen > XS_PAYLOAD_MAX)
        return -E2BIG;
    memcpy(request, a, alen);
    if (b)
        memcpy(request + alen, b, blen);
    hdr.type = type;
    hdr.req_id = next_req_id++;
    hdr.tx_id = tx;
    hdr.len = alen + blen;
    deadline = deadline_after_ms(XENBUS_TIMEOUT_MS);
    rc = ring_write((const char *)&hdr, sizeof(hdr), deadline);
    if (rc == 0)
        rc = ring_write(request, hdr.len, deadline);
    if (rc < 0)
        return rc;
    for (;;) {
        xsd_sockmsg_t rsp;
        rc = read_message(&rsp, deadline);
        if (rc < 0)
            return rc;
        if (rsp.type == XS_WATCH_EVENT || rsp.req_id != hdr.req_id)
            continue;
        if (rsp.type == XS_ERROR)
            return error_from_name(payload);
        return rsp.len;
    }
}

long xenbus_read(uint32_t tx, const char *path, char *buf, unsigned int size)
{
    long len = xs_talk(XS_READ, tx, path, NULL, 0);

    if (len < 0)
        return len;
    if ((unsigned long)len >= size)
        return -E2BIG;
    memcpy(buf, payload, len + 1);
    return len;
}

long xenbus_read_int(uint32_t tx, const char *path, long *value)
{
    char text[24];
    long rc = xenbus_read(tx, path, text, sizeof(text));
    long v = 0;
    int i = text[0] == '-';

    if (rc < 0)
        return rc;
    if (!text[i])
        return -EINVAL;
    for (; text[i]; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -EINVAL;
        v = v * 10 + (text[i] - '0');
    }
    *value = text[0] == '-' ? -v : v;
    return 0;
}

long xenbus_write(uint32_t tx, const char *path, const char *value)
{
    long rc = xs_talk(XS_WRITE, tx, path, value, 0);
    return rc < 0 ? rc : 0;
}

long xenbus_printf(uint32_t tx, const char *path, const char *fmt, ...)
{
    char value[XENBUS_PATH_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof(value))
        return -E2BIG;
    return xenbus_write(tx, path, value);
}

long xenbus_rm(uint32_t tx, const char *path)
{
    long rc = xs_talk(XS_RM, tx, path, NULL, 0);
    return rc < 0 ? rc : 0;
}

long xenbus_directory(uint32_t tx, const char *path, char *buf, unsigned int size)
{
    long len = xs_talk(XS_DIRECTORY, tx, path, NULL, 0);
    long i, count = 0;

    if (len < 0)
        return len;
    if ((unsigned long)len > size)
        return -E2BIG;
    memcpy(buf, payload, len);
    for (i = 0; i < len; i++)
        count += payload[i] == '\0';
    return count;
}

long xenbus_transaction_start(uint32_t *tx)
{
    long rc = xs_talk(XS_TRANSACTION_START, XBT_NIL, "", NULL, 0);
    long id = 0;
    char *p;

    if (rc < 0)
        return rc;
    for (p = payload; *p >= '0' && *p <= '9'; p++)
        id = id * 10 + (*p - '0');
    if (p == payload)
        return -EIO;
    *tx = id;
    return 0;
}

long xenbus_transaction_end(uint32_t tx, int abort)
{
    long rc = xs_talk(XS_TRANSACTION_END, tx, abort ? "F" : "T", NULL, 0);
    return rc < 0 ? rc : 0;
}

long xenbus_watch(const char *path, const char *token)
{
    long rc = xs_talk(XS_WATCH, XBT_NIL, path, token, 1);
    return rc < 0 ? rc : 0;
}

/* Forget queued events of `token` (after XS_UNWATCH: nobody will read them). */
static void drop_events(const char *token)
{
    unsigned int i = 0;

    while (i < queued) {
        if (strcmp(queue[i].token, token) == 0) {
            memmove(&queue[i], &queue[i + 1], sizeof(queue[0]) * (queued - i - 1));
            queued--;
        } else {
            i++;
        }
    }
}

long xenbus_unwatch(const char *path, const char *token)
{
    long rc = xs_talk(XS_UNWATCH, XBT_NIL, path, token, 1);

    drop_events(token);
    return rc < 0 ? rc : 0;
}

/* Take the oldest queued event of `token` (NULL: any) into path: 1, or 0 if none. */
static int take_event(const char *token, char *path, unsigned int size)
{
    unsigned int i;

    for (i = 0; i < queued; i++) {
        if (token && strcmp(queue[i].token, token) != 0)
            continue;
        copy_string(path, queue[i].path, size);
        memmove(&queue[i], &queue[i + 1], sizeof(queue[0]) * (queued - i - 1));
        queued--;
        return 1;
    }
    return 0;
}

long xenbus_read_watch(const char *token, char *path, unsigned int size, stime_t deadline)
{
    xsd_sockmsg_t hdr;
    long rc = xenbus_init();

    if (rc)
        return rc;
    while (!take_event(token, path, size)) {
        /* Wait for a message to start before committing to read it whole. */
        while (intf->rsp_prod == intf->rsp_cons) {
            rc = evtchn_wait(&store_port, 1, deadline);
            if (rc < 0)
                return rc;
        }
        rc = read_message(&hdr, deadline_after_ms(XENBUS_TIMEOUT_MS));
        if (rc < 0)
            return rc;
    }
    return 0;
}

long xenbus_switch_state(const char *dir, int state)
{
    char path[XENBUS_PATH_MAX];
    char value[12];

    if (snprintf(path, sizeof(path), "%s/state", dir) >= (int)sizeof(path))
        return -E2BIG;
    snprintf(value, sizeof(value), "%d", state);
    return xenbus_write(XBT_NIL, path, value);
}

long xenbus_wait_for_state(const char *path, unsigned int states, stime_t deadline)
{
    char token[XS_TOKEN_MAX];
    char changed[XENBUS_PATH_MAX];
    long state, rc;

    snprintf(token, sizeof(token), "xbstate%u", next_token++);
    rc = xenbus_watch(path, token);
    if (rc < 0)
        return rc;
    for (;;) {
        rc = xenbus_read_int(XBT_NIL, path, &state);
        if (rc == -ENOENT)
            state = XenbusStateUnknown;
        else if (rc < 0)
            break;
        if (state >= 0 && state < 32 && (states & XENBUS_STATE_BIT(state))) {
            rc = state;
            break;
        }
        rc = xenbus_read_watch(token, changed, sizeof(changed), deadline);
        if (rc < 0)
            break;
    }
    xenbus_unwatch(path, token);
    return rc;
}
