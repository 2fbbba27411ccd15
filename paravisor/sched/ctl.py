"""Live control of scheduling parameters: `xl sched-credit` for the Python API and dom0.

Python API (the toolstack, the later control socket):
    get_sched_credit(hv, dom) -> SchedParams
    set_sched_credit(hv, dom, weight=None, cap=None) -> SchedParams   (None: unchanged)
Both raise SchedParamError when the host's scheduler has no such parameters or a value
is out of range (weight 1..65535; cap 0..100 x vCPUs percent of one pCPU, 0 = none).

The domctl that reaches the same functions (paravisor/hypercalls/domctl.py,
XEN_DOMCTL_scheduler_op, u.scheduler_op {sched_id, cmd, u.credit}):
- sched_id IN must be the running scheduler's XEN_SCHEDULER_* (else -EINVAL, as Xen);
- cmd XEN_DOMCTL_SCHEDOP_putinfo: u.credit.weight IN (0: leave it), u.credit.cap IN
  (0xFFFF: leave it); out of range: -EINVAL;
- cmd XEN_DOMCTL_SCHEDOP_getinfo: u.credit.weight, u.credit.cap OUT;
- any other cmd (the per-vCPU variants): -EINVAL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paravisor.sched.interface import SchedParamError, SchedParams

if TYPE_CHECKING:
    from paravisor.domain import Domain

CAP_UNCHANGED = 0xFFFF          # putinfo: (uint16_t)~0U leaves the cap alone
WEIGHT_UNCHANGED = 0


def get_sched_credit(hv, dom: Domain) -> SchedParams:
    """`dom`'s weight and cap."""
    params = hv.sched.domain_params(dom.domid)
    if params is None:
        raise SchedParamError(f"the {hv.sched.name} scheduler has no weight or cap")
    return params


def set_sched_credit(hv, dom: Domain, *, weight: int | None = None,
                     cap: int | None = None) -> SchedParams:
    """Set `dom`'s weight and/or cap; the new parameters.  Takes effect from the next
    accounting period (a cap) or at once (the weight's share of the next one)."""
    return hv.sched.set_domain_params(dom.domid, weight=weight, cap=cap)
