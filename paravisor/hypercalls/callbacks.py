"""Guest entry points: set_trap_table (0), stack_switch (3), set_callbacks (4),
iret (23) and callback_op (30).  See paravisor/domain/traps.py for how they are used."""

from __future__ import annotations

from paravisor.abi import (
    CALLBACK_REGISTER,
    CALLBACK_UNREGISTER,
    TI_DPL_MASK,
    TI_IF,
    TRAP_INFO,
    CALLBACKF_mask_events,
    CALLBACKOP_register,
    CALLBACKOP_unregister,
    CALLBACKTYPE_event,
    CALLBACKTYPE_failsafe,
)
from paravisor.abi.errno import Errno
from paravisor.domain import TrapHandler
from paravisor.domain.traps import do_iret as _iret
from paravisor.hypercalls.common import KEEP, HypercallError, read_array, read_struct

MAX_TRAP_ENTRIES = 256


def do_set_trap_table(hv, vcpu, table: int, *_) -> int:
    """Replace the vCPU's trap table with the entries at `table` (ending with address 0);
    table 0 clears it.  Entries are read in chunks until the terminator."""
    traps: dict[int, TrapHandler] = {}
    index = 0
    while table:
        for entry in read_array(hv, vcpu, TRAP_INFO, table + index * TRAP_INFO.size, 1):
            if entry["address"] == 0:
                vcpu.traps = traps
                return 0
            dpl = entry["flags"] & TI_DPL_MASK
            if dpl not in (0, 1, 3):
                raise HypercallError(Errno.EINVAL, f"trap {entry['vector']}: DPL {dpl}")
            traps[entry["vector"]] = TrapHandler(entry["address"], dpl,
                                                 bool(entry["flags"] & TI_IF))
        index += 1
        if index >= MAX_TRAP_ENTRIES:
            raise HypercallError(Errno.EINVAL, "trap table has no terminating entry")
    vcpu.traps = traps
    return 0


def do_stack_switch(hv, vcpu, kernel_sp: int, *_) -> int:
    """The kernel stack to bounce onto when a trap or event interrupts ring 3."""
    vcpu.kernel_sp = kernel_sp
    return 0


def do_set_callbacks(hv, vcpu, event_address: int, failsafe_address: int, *_) -> int:
    vcpu.event_callback = event_address
    vcpu.failsafe_callback = failsafe_address
    return 0


def do_callback_op(hv, vcpu, cmd: int, arg: int, *_) -> int:
    if cmd == CALLBACKOP_register:
        cb = read_struct(hv, vcpu, CALLBACK_REGISTER, arg)
        if cb["type"] == CALLBACKTYPE_event:
            vcpu.event_callback = cb["address"]
        elif cb["type"] == CALLBACKTYPE_failsafe:
            vcpu.failsafe_callback = cb["address"]
        else:
            raise HypercallError(Errno.EINVAL, f"callback type {cb['type']}")
        if cb["flags"] & ~CALLBACKF_mask_events:
            raise HypercallError(Errno.EINVAL, "unknown callback flags")
        return 0
    if cmd == CALLBACKOP_unregister:
        cb = read_struct(hv, vcpu, CALLBACK_UNREGISTER, arg)
        if cb["type"] == CALLBACKTYPE_event:
            vcpu.event_callback = 0
        elif cb["type"] == CALLBACKTYPE_failsafe:
            vcpu.failsafe_callback = 0
        else:
            raise HypercallError(Errno.EINVAL, f"callback type {cb['type']}")
        return 0
    return -Errno.ENOSYS


def do_iret(hv, vcpu, *_) -> object:
    _iret(hv, vcpu)
    return KEEP
