"""The skeleton every dom0 split-driver backend shares (blkback, netback).

A backend service watches its root, /local/domain/0/backend/<type>, and keeps one
device per directory <root>/<domid>/<devid>, keyed (domid, devid):

- a new directory whose state is Initialising gets a device and `start()`;
- a directory that disappears has its device closed (`_drop`); a change that names no
  device (the root or a domain's directory) makes the service look for any (`_reap`);
- when a domain dies its devices are closed and <root>/<domid> is removed, as the
  toolstack's cleanup would.

A device follows the xenbus state machine of docs/io.md: `start()` reads the toolstack's
keys and calls `wait_for_frontend(features)` (publish, InitWait, watch the frontend's
state) or `fail(why)` (hotplug-error, hotplug-status = error, Closed).  The frontend's
state is dispatched by `on_frontend`: a state in CONNECT_ON calls `connect()` when
`may_connect()`; Closing and Closed call `disconnect()` and mirror the state.  A
subclass supplies start/connect/disconnect, the ring work and the hooks; the base
never lets XenStore or event-channel errors of a vanished device escape.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from paravisor.abi.consts import XenbusState
from paravisor.evtchn import EventError
from paravisor.grants.mapping import GrantError, GrantMapping, map_grant
from paravisor.services.xenstore.tree import XenStoreError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from paravisor.domain import Domain
    from paravisor.hypervisor import Hypervisor
    from paravisor.services.xenstore.client import XsHandle
    from paravisor.services.xenstore.daemon import XenStoreDaemon


def read_int(xs: XsHandle, path: str) -> int:
    """An integer node; -1 when missing or not a number (a frontend may write junk)."""
    try:
        return int(xs.read_str(path).strip())
    except (XenStoreError, ValueError):
        return -1


class BackendDevice(ABC):
    """The backend of one device of one domain, from InitWait to Closed.

    Subclasses set CONNECT_ON and REOPENS and implement `start`, `connect`,
    `disconnect` (idempotent), `connected`, `on_event` and `release`.  `self.port` is
    the dom0 end of the device's event channel (None when unbound); `self.frontend`
    the frontend's directory, once `start` read it."""

    CONNECT_ON: ClassVar[tuple[XenbusState, ...]] = (XenbusState.XenbusStateInitialised,)
    REOPENS: ClassVar[bool] = False     # frontend Initialising takes a Closed device back
                                        # to InitWait (the frontend starts over)

    def __init__(self, service: BackendService, domid: int, devid: int) -> None:
        self.service, self.hv, self.xs = service, service.hv, service.xs
        self.domid, self.devid = domid, devid
        self.path = service.device_path(domid, devid)
        self.token = f"{service.NAME}:{domid}:{devid}"
        self.frontend = ""
        self.port: int | None = None

    @property
    def label(self) -> str:
        """How log lines name the device ("<service> <domid>/<devid>" by default)."""
        return f"{self.service.NAME} {self.domid}/{self.devid}"

    def log(self, message: str) -> None:
        self.hv.log(f"{self.label}: {message}")

    # hooks ------------------------------------------------------------------------------

    @abstractmethod
    def start(self) -> None:
        """Read the toolstack's keys, then `wait_for_frontend` or `fail`."""

    @abstractmethod
    def connect(self) -> None:
        """Map the rings and bind the event channel (`attach`), go Connected."""

    @abstractmethod
    def disconnect(self) -> None:
        """Unmap the rings, close the port (`close_port`); idempotent."""

    @abstractmethod
    def connected(self) -> bool:
        """Whether the rings are mapped."""

    def may_connect(self) -> bool:
        """Whether a frontend state in CONNECT_ON should connect now."""
        return not self.connected()

    @abstractmethod
    def release(self) -> None:
        """Drop what outlives a disconnect (files); called once by `close`."""

    # xenbus state machine ---------------------------------------------------------------

    def wait_for_frontend(self, features: Iterable[tuple[str, object]]) -> None:
        """Publish `features` (key, value) in the backend directory, go InitWait and
        watch the frontend's state."""
        for key, value in features:
            self.xs.write(f"{self.path}/{key}", value)
        self.set_state(XenbusState.XenbusStateInitWait)
        self.xs.watch(f"{self.frontend}/state", self.token, self.on_frontend)

    def fail(self, why: str) -> None:
        """What the hotplug script does when a device cannot be set up."""
        self.log(why)
        try:
            self.xs.write(f"{self.path}/hotplug-error", why)
            self.xs.write(f"{self.path}/hotplug-status", "error")
            self.set_state(XenbusState.XenbusStateClosed)
        except XenStoreError:
            pass        # the directory went away meanwhile: nobody left to tell

    def set_state(self, state: XenbusState) -> None:
        self.xs.write(f"{self.path}/state", int(state))

    def state(self) -> int:
        """The backend's own xenbus state (-1 when the node is gone)."""
        return read_int(self.xs, f"{self.path}/state")

    def on_frontend(self, _path: str, _token: str) -> None:
        """The frontend's state changed: connect, start over or go down with it."""
        state = read_int(self.xs, f"{self.frontend}/state")
        if state in self.CONNECT_ON:
            if self.may_connect():
                self.connect()
        elif state == XenbusState.XenbusStateInitialising and self.REOPENS:
            if self.state() == XenbusState.XenbusStateClosed:
                self.set_state(XenbusState.XenbusStateInitWait)
        elif state in (XenbusState.XenbusStateClosing, XenbusState.XenbusStateClosed):
            self.disconnect()
            self.set_state(XenbusState(state))

    def attach(self, refs: Iterable[int], evtchn: int, what: str) -> list[GrantMapping] | None:
        """Map each of the frontend's grant `refs` (writable) and bind its `evtchn` to
        `on_event` as a service port.  On failure nothing stays mapped or bound, the
        device is disconnected and failed ("cannot connect <what>: ..."), and the
        answer is None."""
        dom0 = self.service.dom0
        pages: list[GrantMapping] = []
        try:
            for ref in refs:
                pages.append(map_grant(self.hv, dom0, self.domid, ref))
            self.port = self.hv.events.bind_interdomain(dom0, self.domid, evtchn,
                                                        service=self.on_event)
        except (GrantError, EventError) as err:
            for page in pages:
                page.unmap()
            self.disconnect()
            self.fail(f"cannot connect {what}: {err}")
            return None
        return pages

    @abstractmethod
    def on_event(self, _port: int) -> None:
        """The frontend notified (a subclass serves its rings)."""

    def notify(self) -> None:
        """Kick the frontend, if the event channel is bound."""
        if self.port is not None:
            self.hv.events.send(self.service.dom0, self.port)

    def close_port(self) -> None:
        """Close the event channel (idempotent)."""
        if self.port is not None:
            try:
                self.hv.events.close(self.service.dom0, self.port)
            except EventError:
                pass    # already closed with the domain
            self.port = None

    def broken(self, err: Exception) -> None:
        """The frontend broke the ring: disconnect, go Closing (never raise)."""
        self.log(f"frontend broke the ring: {err}")
        self.disconnect()
        self.set_state(XenbusState.XenbusStateClosing)

    def close(self) -> None:
        """The device is gone: drop everything, including the watch (then `release`)."""
        self.disconnect()
        try:
            self.xs.unwatch(f"{self.frontend}/state", self.token)
        except XenStoreError:
            pass        # never watched (start failed)
        self.release()


DeviceT = TypeVar("DeviceT", bound=BackendDevice)


class BackendService(Generic[DeviceT]):
    """A backend daemon: one DEVICE per directory under ROOT, watched with token NAME.

    Subclasses set ROOT, NAME and DEVICE; anything the devices need from the service
    must exist before `BackendService.__init__` runs (the watch fires at once)."""

    ROOT: ClassVar[str]
    NAME: ClassVar[str]
    DEVICE: ClassVar[type[BackendDevice]]

    def __init__(self, hv: Hypervisor, dom0: Domain, xenstore: XenStoreDaemon) -> None:
        self.hv, self.dom0 = hv, dom0
        self.xs = xenstore.handle()
        self.devices: dict[tuple[int, int], DeviceT] = {}
        self.xs.mkdir(self.ROOT)
        self.xs.watch(self.ROOT, self.NAME, self.on_backend)
        hv.listeners.append(self._domain_changed)

    def device_path(self, domid: int, devid: int) -> str:
        return f"{self.ROOT}/{domid}/{devid}"

    def on_backend(self, path: str, _token: str) -> None:
        """A change under ROOT: start new devices, close removed ones."""
        parts = path[len(self.ROOT):].strip("/").split("/")
        if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
            self._reap()
            return
        key = (int(parts[0]), int(parts[1]))
        if not self.xs.exists(self.device_path(*key)):
            self._drop(key)
        elif key not in self.devices and read_int(
                self.xs, f"{self.device_path(*key)}/state") == \
                XenbusState.XenbusStateInitialising:
            device = self.devices[key] = self.DEVICE(self, *key)
            device.start()

    def _reap(self) -> None:
        for key in list(self.devices):
            if not self.xs.exists(self.device_path(*key)):
                self._drop(key)

    def _drop(self, key: tuple[int, int]) -> None:
        device = self.devices.pop(key, None)
        if device is not None:
            device.close()

    def _domain_changed(self, dom: Domain) -> None:
        if not dom.dying:
            return
        for key in [k for k in self.devices if k[0] == dom.domid]:
            self._drop(key)
        try:
            self.xs.rm(f"{self.ROOT}/{dom.domid}")
        except XenStoreError:
            pass        # no devices were ever written for it

    def close(self) -> None:
        """Close every device (the service itself stays registered)."""
        for key in list(self.devices):
            self._drop(key)
