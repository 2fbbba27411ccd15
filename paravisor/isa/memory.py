"""Machine memory: the host-physical frames that every domain's pages live in.

Addresses here are *machine* addresses (maddr); a machine frame number (mfn) is
maddr >> 12.  Execution engines read and write through the typed views (`u32[maddr >> 2]`
and friends) on their fast paths; everybody else uses the methods, which also tell
watchers about the write.

Watches are how cached derivations of memory stay coherent: an engine that decoded or
translated code from a frame, or a TLB that walked a page-table frame, watches that
frame, and any write to it (by a guest store or by the hypervisor) calls the watchers.
An engine must therefore never store to a watched frame through a fast path; to make
that possible, `add_watch_listener` callbacks hear of every frame that becomes watched,
so TLBs can drop their fast write entries for it (QEMU's TLB_NOTDIRTY, in spirit).

Ownership: one MachineMemory per hypervisor, with no locking of its own.  In the
deterministic mode only one vCPU runs at a time.  Under --realtime, the guest code of
different domains (the JIT's native code straight on `data`) runs at the same time as
the hypervisor, which holds its lock: then nothing here makes one side's
read-modify-write atomic against the other's (docs/design.md, section 8).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from paravisor.isa.table import PAGE_MASK, PAGE_SHIFT, PAGE_SIZE

if sys.byteorder != "little":  # the typed views below are host-endian
    raise ImportError("paravisor needs a little-endian host")

WatchCallback = Callable[[int], None]


class BusError(Exception):
    """A machine address outside installed memory."""

    def __init__(self, maddr: int) -> None:
        super().__init__(f"machine address {maddr:#x} is not installed")
        self.maddr = maddr


class MachineMemory:
    def __init__(self, nframes: int) -> None:
        if nframes <= 0:
            raise ValueError("machine memory needs at least one frame")
        self.nframes = nframes
        self.size = nframes * PAGE_SIZE
        self.data = bytearray(self.size)
        view = memoryview(self.data)
        self.u8 = view
        self.s8 = view.cast("b")
        self.u16 = view.cast("H")
        self.s16 = view.cast("h")
        self.u32 = view.cast("I")
        self.s32 = view.cast("i")
        self._watchers: dict[int, list[WatchCallback]] = {}
        self._watch_listeners: list[WatchCallback] = []

    # --- plain access (notifies watchers) -----------------------------------------

    def check(self, maddr: int, length: int = 1) -> None:
        if maddr < 0 or length < 0 or maddr + length > self.size:
            raise BusError(maddr)

    def read(self, maddr: int, length: int) -> bytes:
        self.check(maddr, length)
        return bytes(self.data[maddr:maddr + length])

    def write(self, maddr: int, data: bytes) -> None:
        self.check(maddr, len(data))
        self.data[maddr:maddr + len(data)] = data
        if self._watchers and data:
            first, last = maddr >> PAGE_SHIFT, (maddr + len(data) - 1) >> PAGE_SHIFT
            for mfn in range(first, last + 1):
                self.notify_write(mfn)

    def read32(self, maddr: int) -> int:
        self.check(maddr, 4)
        if maddr & 3:
            return int.from_bytes(self.data[maddr:maddr + 4], "little")
        return self.u32[maddr >> 2]

    def write32(self, maddr: int, value: int) -> None:
        self.write(maddr, (value & 0xFFFF_FFFF).to_bytes(4, "little"))

    def read_frame(self, mfn: int) -> bytes:
        return self.read(mfn << PAGE_SHIFT, PAGE_SIZE)

    def zero_frame(self, mfn: int) -> None:
        self.write(mfn << PAGE_SHIFT, bytes(PAGE_SIZE))

    def frame_of(self, maddr: int) -> int:
        return maddr >> PAGE_SHIFT

    def offset_of(self, maddr: int) -> int:
        return maddr & PAGE_MASK

    # --- watches ------------------------------------------------------------------

    def watch(self, mfn: int, callback: WatchCallback) -> None:
        """Call `callback(mfn)` on every later write to frame `mfn` until unwatched."""
        callbacks = self._watchers.get(mfn)
        if callbacks is None:
            self._watchers[mfn] = [callback]
            for listener in self._watch_listeners:
                listener(mfn)
        elif callback not in callbacks:
            callbacks.append(callback)

    def unwatch(self, mfn: int, callback: WatchCallback) -> None:
        callbacks = self._watchers.get(mfn)
        if callbacks and callback in callbacks:
            callbacks.remove(callback)
            if not callbacks:
                del self._watchers[mfn]

    def is_watched(self, mfn: int) -> bool:
        return mfn in self._watchers

    def notify_write(self, mfn: int) -> bool:
        """Tell the watchers of `mfn` that it was written; True if there were any.
        Engines call this from their slow store path, after storing."""
        callbacks = self._watchers.get(mfn)
        if not callbacks:
            return False
        for callback in list(callbacks):
            callback(mfn)
        return True

    def add_watch_listener(self, listener: WatchCallback) -> None:
        """Call `listener(mfn)` whenever a frame goes from unwatched to watched."""
        self._watch_listeners.append(listener)

    def remove_watch_listener(self, listener: WatchCallback) -> None:
        if listener in self._watch_listeners:
            self._watch_listeners.remove(listener)
