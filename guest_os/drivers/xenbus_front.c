/* xenbus_front.c: the frontend side of the XenbusState handshake (xenbus_front.h). */
#include <xenbus_front.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATES_GONE (XENBUS_STATE_BIT(XenbusStateClosing) | \
                     XENBUS_STATE_BIT(XenbusStateClosed))

/* path = "<dir>/<key>": 0, or -E2BIG if it does not fit in XENBUS_PATH_MAX. */
static long node_path(char *path, const char *dir, const char *key)
{
    if (snprintf(path, XENBUS_PATH_MAX, "%s/%s", dir, key) >= XENBUS_PATH_MAX)
        return -E2BIG;
    return 0;
}

/* device/<type>/<devid>: nodename, backend and backend-id; -ENODEV if it is absent. */
static long find(struct xenbus_front *front, int devid)
{
    char names[256];
    char path[XENBUS_PATH_MAX];
    long rc, id;

    if (devid == XENBUS_FRONT_ANY) {
        snprintf(path, sizeof(path), "device/%s", front->ops->type);
        rc = xenbus_directory(XBT_NIL, path, names, sizeof(names));
        if (rc <= 0)
            return rc == 0 || rc == -ENOENT ? -ENODEV : rc;
        devid = atoi(names);
    }
    front->devid = devid;
    snprintf(front->nodename, sizeof(front->nodename), "device/%s/%d", front->ops->type,
             devid);
    node_path(path, front->nodename, "backend");
    rc = xenbus_read(XBT_NIL, path, front->backend, sizeof(front->backend));
    if (rc < 0) {
        front->backend[0] = '\0';          /* nothing to close */
        return rc == -ENOENT ? -ENODEV : rc;
    }
    node_path(path, front->nodename, "backend-id");
    if ((rc = xenbus_read_int(XBT_NIL, path, &id)) < 0)
        return rc;
    front->backend_id = id;
    return 0;
}

/* Wait until the backend's state is one of `states`: that state or -errno. */
static long wait_backend_state(const struct xenbus_front *front, unsigned int states)
{
    char path[XENBUS_PATH_MAX];
    long rc = node_path(path, front->backend, "state");

    if (rc < 0)
        return rc;
    return xenbus_wait_for_state(path, states, deadline_after_ms(front->ops->timeout_ms));
}

/* The backend's InitWait, or -ENODEV with its reason printed if it closed instead. */
static long wait_backend(const struct xenbus_front *front)
{
    char path[XENBUS_PATH_MAX];
    char why[128];
    long rc;

    rc = wait_backend_state(front, XENBUS_STATE_BIT(XenbusStateInitWait) | STATES_GONE);
    if (rc < 0)
        return rc;
    if (rc != XenbusStateInitWait) {
        if (node_path(path, front->backend, "hotplug-error") < 0 ||
            xenbus_read(XBT_NIL, path, why, sizeof(why)) < 0)
            strcpy(why, "backend closed");
        printf("%s: %s: %s\n", front->ops->driver, front->nodename, why);
        return -ENODEV;
    }
    return 0;
}

/* ops->write_keys in a transaction retried on -EAGAIN, then Initialised. */
static long publish(struct xenbus_front *front)
{
    uint32_t tx;
    long rc;

    do {
        if ((rc = xenbus_transaction_start(&tx)) < 0)
            return rc;
        if ((rc = front->ops->write_keys(front, tx)) < 0) {
            xenbus_transaction_end(tx, 1);
            return rc;
        }
        rc = xenbus_transaction_end(tx, 0);
    } while (rc == -EAGAIN);
    if (rc < 0)
        return rc;
    return xenbus_switch_state(front->nodename, XenbusStateInitialised);
}

/* The backend's Connected (-ENODEV if it closed instead), then Connected. */
static long connect(struct xenbus_front *front)
{
    long rc;

    rc = wait_backend_state(front, XENBUS_STATE_BIT(XenbusStateConnected) | STATES_GONE);
    if (rc < 0)
        return rc;
    if (rc != XenbusStateConnected)
        return -ENODEV;
    front->connected = 1;
    return xenbus_switch_state(front->nodename, XenbusStateConnected);
}

/* A free entry of the driver's table, zeroed and marked in use; NULL if none. */
static struct xenbus_front *alloc_entry(const struct xenbus_front_ops *ops)
{
    struct xenbus_front *front;
    unsigned int i;

    for (i = 0; i < ops->nr_devices; i++) {
        front = (struct xenbus_front *)((char *)ops->devices + i * ops->device_size);
        if (!front->ops) {
            memset(front, 0, ops->device_size);
            front->ops = ops;
            return front;
        }
    }
    return NULL;
}

long xenbus_front_init(const struct xenbus_front_ops *ops, int devid, void **dev)
{
    struct xenbus_front *front = alloc_entry(ops);
    long rc;

    if (!front)
        return -ENOSPC;
    rc = find(front, devid);
    if (rc == 0)
        rc = wait_backend(front);
    if (rc == 0)
        rc = ops->setup(front);
    if (rc == 0)
        rc = publish(front);
    if (rc == 0)
        rc = connect(front);
    if (rc < 0) {
        xenbus_front_shutdown(front);
        return rc;
    }
    *dev = front;
    return 0;
}

/* Closing -> (backend Closing or Closed) -> Closed -> (backend Closed). */
static long close_handshake(const struct xenbus_front *front)
{
    long rc;

    if (!front->backend[0])
        return 0;                          /* find never got that far */
    rc = xenbus_switch_state(front->nodename, XenbusStateClosing);
    if (rc == 0)
        rc = wait_backend_state(front, STATES_GONE);
    if (rc >= 0)
        rc = xenbus_switch_state(front->nodename, XenbusStateClosed);
    if (rc >= 0)
        rc = wait_backend_state(front, XENBUS_STATE_BIT(XenbusStateClosed));
    return rc < 0 ? rc : 0;
}

long xenbus_front_shutdown(struct xenbus_front *front)
{
    long rc, released;

    if (!front || !front->ops)
        return -ENODEV;
    rc = close_handshake(front);
    front->connected = 0;
    released = front->ops->release(front);
    front->ops = NULL;
    return rc < 0 ? rc : released;
}

long xenbus_front_backend_int(const struct xenbus_front *front, const char *key,
                              long *value)
{
    char path[XENBUS_PATH_MAX];
    long rc = node_path(path, front->backend, key);

    if (rc < 0)
        return rc;
    return xenbus_read_int(XBT_NIL, path, value);
}

long xenbus_front_read(const struct xenbus_front *front, const char *key, char *buf,
                       unsigned int size)
{
    char path[XENBUS_PATH_MAX];
    long rc = node_path(path, front->nodename, key);

    if (rc < 0)
        return rc;
    return xenbus_read(XBT_NIL, path, buf, size);
}

long xenbus_front_write(const struct xenbus_front *front, uint32_t tx, const char *key,
                        uint32_t value)
{
    char path[XENBUS_PATH_MAX];
    long rc = node_path(path, front->nodename, key);

    if (rc < 0)
        return rc;
    return xenbus_printf(tx, path, "%u", value);
}

int xenbus_front_end_grant(grant_ref_t ref, void *page, long *first)
{
    long rc = ref ? gnttab_end_access(ref) : 0;

    if (rc < 0 && *first == 0)
        *first = rc;
    if (rc == 0 && page)
        free_page(page);
    return rc == 0;
}

void xenbus_front_close_port(evtchn_port_t port, long *first)
{
    long rc = port ? evtchn_close(port) : 0;

    if (rc < 0 && *first == 0)
        *first = rc;
}
