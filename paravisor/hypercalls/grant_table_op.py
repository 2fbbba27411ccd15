"""grant_table_op (20): GNTTABOP_* over paravisor.grants, grant-table v1 only.

`grant_table_op(cmd, uops, count)`: `uops` points at `count` argument structures, each
copied out of the guest just before it is processed, in order; each op's status is
written back into its own structure, and the hypercall returns 0 (a per-op failure is a
status, not an errno).  -EFAULT/-EINVAL are for the batch itself (-EFAULT for an op that
cannot be read: the ones before it are done).  set_version accepts only 1 and get_version
reports 1: v2 (and with it the XSA-255 class) does not exist here.  dump_table, transfer,
unmap_and_replace, get_status_frames, swap_grant_ref and cache_flush: -ENOSYS.

Continuations, as in Xen.  Every op is charged to the caller (a copy also for the bytes
it moves); between ops, a batch whose caller's time is up stops and the vCPU re-executes
its hypercall as grant_table_op(cmd, &uops[done], count - done).  Ops carry their own
results, so there is no progress to remember and nothing to forge: the resumed call is
an ordinary one.
"""

from __future__ import annotations

from paravisor.abi import (
    DOMID_SELF,
    GNTTAB_COPY,
    GNTTAB_GET_VERSION,
    GNTTAB_MAP_GRANT_REF,
    GNTTAB_QUERY_SIZE,
    GNTTAB_SET_VERSION,
    GNTTAB_SETUP_TABLE,
    GNTTAB_UNMAP_GRANT_REF,
    GNTST_bad_domain,
    GNTST_general_error,
    GNTST_okay,
    GNTTABOP_copy,
    GNTTABOP_get_version,
    GNTTABOP_map_grant_ref,
    GNTTABOP_query_size,
    GNTTABOP_set_version,
    GNTTABOP_setup_table,
    GNTTABOP_unmap_grant_ref,
    Hypercall,
)
from paravisor.abi.errno import Errno
from paravisor.grants.copy import gnttab_copy
from paravisor.grants.mapping import map_grant_ref, unmap_grant_ref
from paravisor.grants.table import grow_table
from paravisor.hypercalls.common import (
    Batch,
    HypercallError,
    copy_to,
    create_continuation,
    write_field,
)
from paravisor.hypercalls.cost import copy_ns

MAX_OPS_PER_CALL = 512          # a batch bound (the ABI's; long batches are preempted)
GRANT_TABLE_VERSION = 1


def do_grant_table_op(hv, vcpu, cmd: int, uops: int, count: int, *_) -> object:
    handler = _OPS.get(cmd)
    if handler is None:
        return -Errno.ENOSYS
    struct, one_op = handler
    if count > MAX_OPS_PER_CALL:
        return -Errno.EINVAL
    ops = Batch.array(hv, vcpu, struct, uops, count)
    for index, op in enumerate(ops):
        one_op(hv, vcpu, op, uops + index * struct.size)
    if ops.fault:
        return -Errno.EFAULT
    if ops.preempted:
        return create_continuation(vcpu, Hypercall.grant_table_op, cmd,
                                   uops + ops.taken * struct.size, count - ops.taken)
    return 0


def _domain_for(hv, vcpu, domid: int):
    """The domain a setup/query op names: itself, or any live domain for dom0; None if
    the caller may not name it or it does not exist."""
    if domid in (DOMID_SELF, vcpu.domid):
        return vcpu.domain
    return hv.lookup(domid) if vcpu.domain.privileged else None


def _setup_table(hv, vcpu, op, va: int) -> None:
    dom = _domain_for(hv, vcpu, op["dom"])
    if dom is None:
        status = GNTST_bad_domain
    else:
        table = hv.grants.table_of(dom)
        status = GNTST_okay if grow_table(hv, table, op["nr_frames"]) else GNTST_general_error
        if status == GNTST_okay:
            frames = table.frames[:op["nr_frames"]]
            raw = b"".join(mfn.to_bytes(4, "little") for mfn in frames)
            copy_to(hv, vcpu, op["frame_list"], raw)
    write_field(hv, vcpu, GNTTAB_SETUP_TABLE, va, "status", status)


def _query_size(hv, vcpu, op, va: int) -> None:
    dom = _domain_for(hv, vcpu, op["dom"])
    if dom is None:
        write_field(hv, vcpu, GNTTAB_QUERY_SIZE, va, "status", GNTST_bad_domain)
        return
    table = hv.grants.table_of(dom)
    write_field(hv, vcpu, GNTTAB_QUERY_SIZE, va, "nr_frames", len(table.frames))
    write_field(hv, vcpu, GNTTAB_QUERY_SIZE, va, "max_nr_frames", table.max_frames)
    write_field(hv, vcpu, GNTTAB_QUERY_SIZE, va, "status", GNTST_okay)


def _map(hv, vcpu, op, va: int) -> None:
    status, handle = map_grant_ref(hv, vcpu, op["host_addr"], op["flags"], op["ref"],
                                   op["dom"])
    write_field(hv, vcpu, GNTTAB_MAP_GRANT_REF, va, "handle", handle)
    write_field(hv, vcpu, GNTTAB_MAP_GRANT_REF, va, "dev_bus_addr", 0)
    write_field(hv, vcpu, GNTTAB_MAP_GRANT_REF, va, "status", status)


def _unmap(hv, vcpu, op, va: int) -> None:
    status = unmap_grant_ref(hv, vcpu, op["host_addr"], op["handle"])
    write_field(hv, vcpu, GNTTAB_UNMAP_GRANT_REF, va, "status", status)


def _copy(hv, vcpu, op, va: int) -> None:
    status = gnttab_copy(hv, vcpu.domain, op)
    if status == GNTST_okay:
        hv.charge(vcpu, copy_ns(op["len"]))
    write_field(hv, vcpu, GNTTAB_COPY, va, "status", status)


def _set_version(hv, vcpu, op, va: int) -> None:
    if op["version"] != GRANT_TABLE_VERSION:
        raise HypercallError(Errno.ENOSYS, "only grant table v1 exists")
    write_field(hv, vcpu, GNTTAB_SET_VERSION, va, "version", GRANT_TABLE_VERSION)


def _get_version(hv, vcpu, op, va: int) -> None:
    if _domain_for(hv, vcpu, op["dom"]) is None:
        raise HypercallError(Errno.ESRCH, f"no domain {op['dom']} for this caller")
    write_field(hv, vcpu, GNTTAB_GET_VERSION, va, "version", GRANT_TABLE_VERSION)


_OPS = {
    GNTTABOP_map_grant_ref: (GNTTAB_MAP_GRANT_REF, _map),
    GNTTABOP_unmap_grant_ref: (GNTTAB_UNMAP_GRANT_REF, _unmap),
    GNTTABOP_setup_table: (GNTTAB_SETUP_TABLE, _setup_table),
    GNTTABOP_copy: (GNTTAB_COPY, _copy),
    GNTTABOP_query_size: (GNTTAB_QUERY_SIZE, _query_size),
    GNTTABOP_set_version: (GNTTAB_SET_VERSION, _set_version),
    GNTTABOP_get_version: (GNTTAB_GET_VERSION, _get_version),
}
