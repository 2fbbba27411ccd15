"""The guest-side driver library (guest_os/drivers/) from inside real C guests: the
XenStore client against our xenstored, event channels and virtual time, grants, and
blkfront's API edges (ranges, long I/O split into requests, two disks, shutdown)."""

import io
from pathlib import Path

from paravisor.testing.cc import run_c
from paravisor.toolstack.launch import launch

ROOT = Path(__file__).resolve().parents[2]
CHECK = r"""
#include <stdio.h>
#include <string.h>
#define CHECK(cond) do { if (!(cond)) { printf("FAIL line %d: %s\n", __LINE__, #cond); \
                                         return 1; } } while (0)
"""

XENBUS_PROGRAM = CHECK + r"""
#include <xenbus.h>

int main(void)
{
    char buf[64], names[64], path[XENBUS_PATH_MAX];
    long v;
    uint32_t tx;

    CHECK(xenbus_write(XBT_NIL, "data/a", "42") == 0);
    CHECK(xenbus_read(XBT_NIL, "data/a", buf, sizeof(buf)) == 2 && strcmp(buf, "42") == 0);
    CHECK(xenbus_read_int(XBT_NIL, "data/a", &v) == 0 && v == 42);
    CHECK(xenbus_printf(XBT_NIL, "data/b", "%d-%s", -7, "x") == 0);
    CHECK(xenbus_read_int(XBT_NIL, "data/b", &v) == -EINVAL);
    CHECK(xenbus_read(XBT_NIL, "data/b", buf, 3) == -E2BIG);
    CHECK(xenbus_read(XBT_NIL, "data/none", buf, sizeof(buf)) == -ENOENT);
    CHECK(xenbus_write(XBT_NIL, "/local/domain/0/mine", "x") == -EACCES);
    CHECK(xenbus_directory(XBT_NIL, "data", names, sizeof(names)) == 2);
    CHECK(strcmp(names, "a") == 0 && strcmp(names + 2, "b") == 0);
    CHECK(xenbus_rm(XBT_NIL, "data/b") == 0);
    CHECK(xenbus_read(XBT_NIL, "data/b", buf, sizeof(buf)) == -ENOENT);
    printf("basic ok\n");

    CHECK(xenbus_transaction_start(&tx) == 0 && tx != 0);
    CHECK(xenbus_write(tx, "data/t", "in-tx") == 0);
    CHECK(xenbus_read(XBT_NIL, "data/t", buf, sizeof(buf)) == -ENOENT);
    CHECK(xenbus_transaction_end(tx, 0) == 0);
    CHECK(xenbus_read(XBT_NIL, "data/t", buf, sizeof(buf)) == 5);
    CHECK(xenbus_transaction_start(&tx) == 0);
    CHECK(xenbus_write(tx, "data/t", "aborted") == 0);
    CHECK(xenbus_transaction_end(tx, 1) == 0);
    CHECK(xenbus_read(XBT_NIL, "data/t", buf, sizeof(buf)) == 5 && strcmp(buf, "in-tx") == 0);
    printf("transactions ok\n");

    CHECK(xenbus_watch("data/w", "tok") == 0);
    CHECK(xenbus_read_watch("tok", path, sizeof(path), deadline_after_ms(100)) == 0);
    CHECK(strcmp(path, "data/w") == 0);                    /* the initial firing */
    CHECK(xenbus_read_watch("tok", path, sizeof(path), deadline_after_ms(5)) == -ETIMEDOUT);
    CHECK(xenbus_write(XBT_NIL, "data/w/child", "1") == 0);   /* its event gets queued */
    CHECK(xenbus_read_watch("other", path, sizeof(path), deadline_after_ms(5)) == -ETIMEDOUT);
    CHECK(xenbus_read_watch(NULL, path, sizeof(path), deadline_after_ms(100)) == 0);
    CHECK(strcmp(path, "data/w/child") == 0);
    CHECK(xenbus_unwatch("data/w", "tok") == 0);
    CHECK(xenbus_unwatch("data/w", "tok") == -ENOENT);
    printf("watches ok\n");

    CHECK(xenbus_write(XBT_NIL, "data/state", "1") == 0);
    CHECK(xenbus_wait_for_state("data/state", XENBUS_STATE_BIT(1) | XENBUS_STATE_BIT(4),
                                deadline_after_ms(100)) == 1);
    CHECK(xenbus_wait_for_state("data/state", XENBUS_STATE_BIT(4), deadline_after_ms(20))
          == -ETIMEDOUT);
    CHECK(xenbus_switch_state("data", XenbusStateConnected) == 0);
    CHECK(xenbus_wait_for_state("data/state", XENBUS_STATE_BIT(4), deadline_after_ms(20))
          == XenbusStateConnected);
    CHECK(xenbus_wait_for_state("data/nostate", XENBUS_STATE_BIT(XenbusStateUnknown),
                                deadline_after_ms(20)) == XenbusStateUnknown);
    printf("states ok\n");
    return 0;
}
"""

EVENTS_GRANTS_PROGRAM = CHECK + r"""
#include <events.h>
#include <gnttab.h>
#include <hypercalls.h>

int main(void)
{
    evtchn_port_t unbound, local, ports[2];
    evtchn_bind_interdomain_t bind;
    stime_t start, deadline, end;
    char *page, *second;
    long ref, ref2;

    CHECK(events_init() != NULL && events_init() == events_init());
    /* a loopback channel: an unbound port offered to ourselves, then bound */
    CHECK(evtchn_alloc_unbound(DOMID_SELF, &unbound) == 0);
    bind.remote_dom = DOMID_SELF;
    bind.remote_port = unbound;
    CHECK(HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bind) == 0);
    local = bind.local_port;
    CHECK(evtchn_test_and_clear(local) == 1);      /* a new binding starts pending */
    CHECK(evtchn_test_and_clear(local) == 0);
    CHECK(evtchn_notify(local) == 0);               /* arrives on the other end */
    ports[0] = local;
    ports[1] = unbound;
    CHECK(evtchn_wait(ports, 2, deadline_after_ms(10)) == (long)unbound);
    CHECK(evtchn_test_and_clear(unbound) == 0);
    start = clock_now();
    deadline = stime_add_ns(start, 3000000);
    CHECK(evtchn_wait(ports, 2, deadline) == -ETIMEDOUT);
    end = clock_now();
    CHECK(!stime_before(end, deadline) && stime_before(start, end));
    CHECK(evtchn_close(local) == 0);
    CHECK(evtchn_notify(local) < 0);
    printf("events ok: waited %u ns\n", end.lo - start.lo);
    CHECK(stime_before(stime_add_ns(start, 1), stime_add_ns(start, 0xFFFFFFFFu)));
    CHECK(stime_add_ns(stime_add_ns(start, 0xFFFFFFFFu), 1).hi == start.hi + 1
          || start.lo != 0);

    page = alloc_page();
    second = alloc_page();
    CHECK(page && second && page != second && ((unsigned)page & 4095) == 0);
    CHECK(virt_to_mfn(page) != virt_to_mfn(second));
    ref = gnttab_grant_access(0, virt_to_mfn(page), 1);
    CHECK(ref >= 8);
    CHECK(gnttab_query_flags(ref) == (GTF_permit_access | GTF_readonly));
    ref2 = gnttab_grant_access(0, virt_to_mfn(second), 0);
    CHECK(ref2 >= 8 && ref2 != ref && gnttab_query_flags(ref2) == GTF_permit_access);
    CHECK(gnttab_end_access(ref) == 0 && gnttab_query_flags(ref) == 0);
    CHECK(gnttab_end_access(ref) == -EINVAL);        /* not granted any more */
    CHECK(gnttab_end_access(3) == -EINVAL);          /* reserved */
    CHECK(gnttab_grant_access(0, virt_to_mfn(page), 0) == ref);   /* the free list */
    free_page(page);
    CHECK(alloc_page() == page);
    printf("grants ok: refs %ld %ld\n", ref, ref2);
    return 0;
}
"""


def test_xenbus_client_against_xenstored():
    status, console = run_c(XENBUS_PROGRAM)
    assert console == "basic ok\ntransactions ok\nwatches ok\nstates ok\n"
    assert status == 0


def test_event_channels_time_and_grants():
    status, console = run_c(EVENTS_GRANTS_PROGRAM)
    assert status == 0, console
    assert console.splitlines() == ["events ok: waited 3000000 ns", "grants ok: refs 8 9"]


BLKFRONT_PROGRAM = CHECK + r"""
#include <blkfront.h>

static unsigned char buf[200 * 512 + 1], back[200 * 512 + 1];

int main(void)
{
    struct blkfront *a, *b, *none;
    unsigned int i;

    CHECK(blkfront_init(51728 + 16, &none) == -ENODEV);        /* xvdc: not there */
    CHECK(blkfront_init(51712, &a) == 0 && a->xb.devid == 51712);   /* xvda */
    CHECK(blkfront_init(51728, &b) == 0 && b->xb.devid == 51728);   /* xvdb */
    CHECK(a->sectors == 256 && b->sectors == 512 && a != b);
    CHECK(blkfront_read(a, 250, buf, 7) == -EINVAL);
    CHECK(blkfront_read(a, 0xFFFFFFFFu, buf, 2) == -EINVAL);
    CHECK(blkfront_write(a, 256, buf, 1) == -EINVAL);
    for (i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 13 + i / 512);
    /* 200 sectors: 88 + 88 + 24 in three requests, from an unaligned buffer */
    CHECK(blkfront_write(a, 56, buf + 1, 200) == 0);
    CHECK(blkfront_write(b, 0, "second disk", 1) == 0);
    CHECK(blkfront_flush(a) == 0 && blkfront_flush(b) == 0);
    CHECK(blkfront_read(a, 56, back + 1, 200) == 0);
    CHECK(memcmp(buf + 1, back + 1, 200 * 512) == 0);
    CHECK(blkfront_discard(a, 255, 1) == 0);
    CHECK(blkfront_shutdown(b) == 0);
    CHECK(blkfront_read(b, 0, back, 1) == -ENODEV);
    CHECK(blkfront_shutdown(b) == -ENODEV);
    CHECK(blkfront_shutdown(a) == 0);
    printf("blkfront ok\n");
    return 0;
}
"""


def test_blkfront_two_disks_long_io_ranges_and_shutdown(tmp_path):
    source = tmp_path / "blk.c"
    source.write_text(BLKFRONT_PROGRAM)
    (tmp_path / "b.img").write_bytes(b"\x55" * (512 * 512))
    (tmp_path / "guest.cfg").write_text(
        f'name = "blk"\nkernel = "{source}"\nmemory = 8\n'
        'disk = ["file:a.img,xvda,w,size=128K", "file:b.img,xvdb,w"]\n')
    host = tmp_path / "host.cfg"
    host.write_text(f'name = "Domain-0"\nkernel = "{ROOT / "guest_os" / "dom0.s"}"\n'
                    'memory = 8\nguests = ["guest.cfg"]\n')
    out = io.StringIO()
    status = launch(str(host), engine="interp", stream=out, max_seconds=30, colour=False)
    console = out.getvalue()
    assert status == 0 and "| blkfront ok\n" in console, console
    assert "blk (domain 1): poweroff -> destroy" in console
    image = (tmp_path / "a.img").read_bytes()
    expected = bytes((i * 13 + i // 512) & 0xFF for i in range(1, 200 * 512 + 1))
    assert image[56 * 512:256 * 512 - 512] == expected[:199 * 512]
    assert image[255 * 512:] == bytes(512)                  # discarded
    assert image[:56 * 512] == bytes(56 * 512)
    second = (tmp_path / "b.img").read_bytes()
    assert second[:12] == b"second disk\0" and second[512:] == b"\x55" * (511 * 512)
