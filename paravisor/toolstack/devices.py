"""Disk and network device specs: the strings inside `disk = [...]` and `vif = [...]`.

Disk specs follow xl-disk-configuration(5): comma-separated positional parameters
`target,format,vdev,access`, `key=value` parameters and flags, mixable; `target=` eats
the rest of the string; the deprecated `prefix:` forms (`file:disk.img,xvda,w`) are
accepted.  Vif specs follow xl-network-configuration(5): comma-separated `key=value`.

Parsing returns the spec plus warnings (plain messages; the caller adds file and line).
A malformed spec raises DeviceSpecError carrying the offset of the offending text in
the spec string, so the caller can point a caret at it.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import os
import re
import string
from dataclasses import dataclass

from paravisor.errors import UserError

XEN_OUI = (0x00, 0x16, 0x3E)   # Xen's IEEE Organizationally Unique Identifier
DEFAULT_BRIDGE = "xenbr0"
DEFAULT_RATE_INTERVAL_US = 50_000   # xl's default replenishment interval (50 ms)
_UINT32_MAX = (1 << 32) - 1         # xl keeps rate numbers and intervals in 32 bits
_IFNAMSIZ = 16                      # Linux interface names hold 15 characters + NUL

# xen-vbd-interface(7): how a virtual disk name becomes the integer in XenStore.
_XVD_MAJOR, _SD_MAJOR, _HD_MAJOR_01, _HD_MAJOR_23 = 202, 8, 3, 22
_XVD_EXTENDED = 1 << 28
_XVD_MAX_DISK, _XVD_MAX_PART = (1 << 20) - 1, 255


class DeviceSpecError(UserError):
    """A malformed disk or vif spec; `offset` is where in the spec string it went wrong."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message, self.offset = message, offset


# --- disks ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DiskSpec:
    """One virtual block device.  `target` is an absolute path, `devid` the XenStore
    device number computed from `vdev`, `backend` a domain name (None: dom0)."""

    target: str
    vdev: str
    devid: int
    readonly: bool = False
    format: str = "raw"
    backend: str | None = None
    size: int | None = None   # paravisor's `size=`: create a missing image this large

    @property
    def access(self) -> str:
        return "ro" if self.readonly else "rw"

    def to_spec(self) -> str:
        """The spec in key=value form (target last, since `target=` eats the rest)."""
        parts = [f"format={self.format}", f"vdev={self.vdev}", f"access={self.access}"]
        if self.backend is not None:
            parts.append(f"backend={self.backend}")
        if self.size is not None:
            parts.append(f"size={self.size}")
        return ", ".join(parts + [f"target={self.target}"])


_DISK_POSITIONAL = ("target", "format", "vdev", "access")
_DISK_NAMED = frozenset(_DISK_POSITIONAL) | {"backend", "devtype", "size"}
_SIZE = re.compile(r"([0-9]+)([KMG]?)")
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
_SIZE_MAX = 1 << 41   # 2 TiB: a sector count still fits blkif's 32-bit sector numbers
# Parameters and flags xl knows that change nothing here: warned about and ignored.
_DISK_IGNORED_NAMED = frozenset({
    "backendtype", "specification", "colo-host", "colo-port", "colo-export",
    "active-disk", "hidden-disk", "grant_usage"})
_DISK_IGNORED_FLAGS = frozenset({
    "direct-io-safe", "discard", "no-discard", "colo", "no-colo", "trusted", "untrusted"})
_DISK_FORMATS = ("raw", "qcow", "qcow2", "vhd", "qed")
_FORMAT_PREFIXES = ("raw", "qcow", "qcow2", "vhd")
_SCRIPT_PREFIXES = ("iscsi", "nbd", "enbd", "drbd")
_IGNORED_PREFIXES = ("tapdisk", "tap", "tap2", "aio", "ioemu", "file", "phy")
_PREFIX = re.compile(r"([a-z][a-z0-9]*):")
_LOWER_ALNUM = frozenset(string.ascii_lowercase + string.digits)
_NAMED = re.compile(r"([a-z][-a-z0-9_]*)=")
_ACCESS = {"": False, "r": True, "ro": True, "w": False, "rw": False}


class _DiskParse:
    """The state of one disk-spec parse: which parameters are set, and where."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.values: dict[str, tuple[str, int]] = {}   # name -> (text, offset)
        self.had_prefix = False
        self.warnings: list[str] = []

    def set(self, name: str, text: str, offset: int) -> None:
        if name in self.values and not (name == "target" and not self.values[name][0]):
            raise DeviceSpecError(f"disk parameter '{name}' is given twice", offset)
        self.values[name] = (text, offset)

    def positional(self, text: str, offset: int) -> None:
        for name in _DISK_POSITIONAL:
            if name == "format" and self.had_prefix:
                continue  # the deprecated syntax has no format slot
            if name not in self.values:
                if name == "vdev":
                    text = self.split_devtype(text, offset)
                self.set(name, text, offset)
                return
        raise DeviceSpecError(f"too many positional disk parameters at '{text}'", offset)

    def split_devtype(self, text: str, offset: int) -> str:
        """The deprecated `vdev:devtype` form: only `:disk` means anything to us."""
        vdev, colon, devtype = text.partition(":")
        if colon:
            self.devtype(devtype, offset + len(vdev) + 1)
        return vdev

    def devtype(self, value: str, offset: int) -> None:
        if value == "cdrom":
            raise DeviceSpecError("cdrom devices are not supported by paravisor", offset)
        if value != "disk":
            raise DeviceSpecError(f"unknown devtype '{value}' (xl knows disk and cdrom)",
                                  offset)

    def strip_prefixes(self, text: str, offset: int) -> tuple[str, int]:
        """Remove the deprecated `format:`/`file:`/`phy:`... prefixes of a target."""
        while (match := _PREFIX.match(text)) is not None:
            prefix, rest = match.group(1), text[match.end():]
            if prefix in _FORMAT_PREFIXES:
                self.set("format", prefix, offset)
            elif prefix in _SCRIPT_PREFIXES:
                raise DeviceSpecError(f"block scripts ('{prefix}:') are not supported by "
                                      f"paravisor", offset)
            elif prefix not in _IGNORED_PREFIXES:
                # As in xl: `word:` before a path is a prefix we do not know, but
                # `disk:1.img` (a letter or digit follows) is just a file name.
                if rest[:1] and rest[0] in _LOWER_ALNUM:
                    return text, offset
                raise DeviceSpecError(f"unknown deprecated disk prefix '{prefix}:'", offset)
            self.had_prefix = True
            text, offset = text[match.end():], offset + match.end()
        return text, offset

    def named(self, name: str, value: str, offset: int) -> None:
        if name in _DISK_IGNORED_NAMED:
            self.warnings.append(f"disk parameter '{name}' is not supported by paravisor "
                                 f"and is ignored")
        elif name == "script":
            raise DeviceSpecError("block scripts are not supported by paravisor", offset)
        elif name == "devtype":
            self.devtype(value, offset + len(name) + 1)
        elif name in _DISK_NAMED:
            self.set(name, value, offset)
        else:
            raise DeviceSpecError(f"unknown disk parameter '{name}'"
                                  f"{_suggest(name, _DISK_NAMED | _DISK_IGNORED_NAMED)}",
                                  offset)

    def token(self, text: str, offset: int) -> None:
        if text in _DISK_IGNORED_FLAGS:
            self.warnings.append(f"disk flag '{text}' is not supported by paravisor and "
                                 f"is ignored")
        elif text == "cdrom":
            raise DeviceSpecError("cdrom devices are not supported by paravisor", offset)
        elif (match := _NAMED.match(text)) is not None:
            self.named(match.group(1), text[match.end():].strip(), offset)
        elif "=" in text:
            raise DeviceSpecError(f"malformed disk parameter '{text}'", offset)
        else:
            if "target" not in self.values:
                text, offset = self.strip_prefixes(text, offset)
            self.positional(text, offset)


def parse_disk_spec(spec: str, base_dir: str) -> tuple[DiskSpec, list[str]]:
    """Parse one xl disk spec; a relative target is resolved against `base_dir`.

    Returns the spec and warnings for ignored parameters.  Raises DeviceSpecError.
    """
    state = _DiskParse(spec)
    pos = 0
    while pos < len(spec):
        while pos < len(spec) and spec[pos] in " \t\n":
            pos += 1
        if spec.startswith("target=", pos):
            state.set("target", spec[pos + len("target="):], pos)
            break
        end = spec.find(",", pos)
        end = len(spec) if end < 0 else end
        text = spec[pos:end].rstrip()
        if text or end < len(spec):   # an empty positional still fills its slot
            state.token(text, pos)
        pos = end + 1
    return _finish_disk(state, base_dir), state.warnings


def _finish_disk(state: _DiskParse, base_dir: str) -> DiskSpec:
    """Check the collected parameters and build the DiskSpec."""
    target, _ = state.values.get("target", ("", 0))
    if not target:
        raise DeviceSpecError("disk has no target (the image file to use)", 0)
    fmt, fmt_at = state.values.get("format", ("", 0))
    fmt = fmt or "raw"
    if fmt not in _DISK_FORMATS:
        raise DeviceSpecError(f"unknown disk format '{fmt}' (xl knows "
                              f"{', '.join(_DISK_FORMATS)})", fmt_at)
    if fmt != "raw":
        raise DeviceSpecError(f"disk format '{fmt}' is not supported: paravisor reads raw "
                              f"images only", fmt_at)
    vdev, vdev_at = state.values.get("vdev", ("", 0))
    if not vdev:
        raise DeviceSpecError("disk has no vdev (the guest's name for it, e.g. xvda)", 0)
    try:
        devid = vdev_to_devid(vdev)
    except ValueError as err:
        raise DeviceSpecError(f"disk {err}", vdev_at) from None
    access, access_at = state.values.get("access", ("", 0))
    if access not in _ACCESS:
        raise DeviceSpecError(f"unknown disk access '{access}' (use r, ro, w or rw)",
                              access_at)
    backend = state.values.get("backend", ("", 0))[0] or None
    return DiskSpec(target=os.path.normpath(os.path.join(base_dir, target)), vdev=vdev,
                    devid=devid, readonly=_ACCESS[access], format=fmt, backend=backend,
                    size=_disk_size(*state.values["size"]) if "size" in state.values
                    else None)


def _disk_size(text: str, offset: int) -> int:
    """`size=` (paravisor's extension): bytes, with an optional K, M or G suffix; a
    positive multiple of the 512-byte sector, at most 2 TiB."""
    match = _SIZE.fullmatch(text.strip().upper())
    if match is None:
        raise DeviceSpecError(f"disk size '{text}' is not a number with an optional K, M "
                              f"or G suffix (e.g. size=4M)", offset)
    size = int(match.group(1)) * _SIZE_UNITS[match.group(2)]
    if not 0 < size <= _SIZE_MAX or size % 512:
        raise DeviceSpecError(f"disk size '{text}' must be a positive multiple of 512 "
                              f"bytes, at most 2048G", offset)
    return size


def vdev_to_devid(vdev: str) -> int:
    """The XenStore device number of a virtual disk name (xen-vbd-interface(7)).

    Accepts xvd<letters>[N], sd<letter>[N], hd<letter>[N] and d<disk>[p<part>].
    Raises ValueError naming the problem.
    """
    if match := re.fullmatch(r"xvd([a-z]+)([1-9][0-9]{0,2})?", vdev):
        return _xvd_devid(_letters_to_index(match.group(1)), int(match.group(2) or 0), vdev)
    if match := re.fullmatch(r"d(0|[1-9][0-9]{0,6})(?:p(0|[1-9][0-9]{0,2}))?", vdev):
        return _xvd_devid(int(match.group(1)), int(match.group(2) or 0), vdev)
    if match := re.fullmatch(r"sd([a-z])([1-9][0-9]?)?", vdev):
        disk, part = ord(match.group(1)) - ord("a"), int(match.group(2) or 0)
        if disk > 15 or part > 15:
            raise ValueError(f"vdev '{vdev}': sd disks go up to sdp, partitions to 15")
        return _SD_MAJOR << 8 | disk << 4 | part
    if match := re.fullmatch(r"hd([a-z])([1-9][0-9]?)?", vdev):
        disk, part = ord(match.group(1)) - ord("a"), int(match.group(2) or 0)
        if disk > 3 or part > 63:
            raise ValueError(f"vdev '{vdev}': hd disks go up to hdd, partitions to 63")
        major = _HD_MAJOR_01 if disk < 2 else _HD_MAJOR_23
        return major << 8 | (disk % 2) << 6 | part
    raise ValueError(f"vdev '{vdev}' is not a disk name (use xvda, xvdb2, sda, hda or d0p1)")


def _letters_to_index(letters: str) -> int:
    """xvd disk letters are bijective base 26: a=0, z=25, aa=26, ..."""
    index = 0
    for letter in letters[:6]:   # six letters already exceed the 2**20 disk limit
        index = index * 26 + (ord(letter) - ord("a") + 1)
    return index - 1 if len(letters) <= 6 else _XVD_MAX_DISK + 1


def _xvd_devid(disk: int, part: int, vdev: str) -> int:
    if disk > _XVD_MAX_DISK or part > _XVD_MAX_PART:
        raise ValueError(f"vdev '{vdev}': xvd disks go up to {_XVD_MAX_DISK}, partitions "
                         f"to {_XVD_MAX_PART}")
    if disk < 16 and part < 16:
        return _XVD_MAJOR << 8 | disk << 4 | part
    return _XVD_EXTENDED | disk << 8 | part


def _suggest(word: str, choices: frozenset[str] | set[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- network interfaces --------------------------------------------------------------

@dataclass(frozen=True)
class VifRate:
    """Outgoing rate limit: `bytes_per_sec`, replenished every `interval_us` (xl's model:
    a credit of bytes_per_sec * interval_us / 1e6 bytes per interval)."""

    bytes_per_sec: int
    interval_us: int = DEFAULT_RATE_INTERVAL_US

    @property
    def bytes_per_interval(self) -> int:
        return self.bytes_per_sec * self.interval_us // 1_000_000

    def __str__(self) -> str:
        """xl rate text that parses back equal (for any rate parse_vif_spec produced)."""
        for quantity, suffix in ((self.bytes_per_sec, "B"), (self.bytes_per_sec * 8, "b")):
            for unit in ("G", "M", "K", ""):
                number, rest = divmod(quantity, _RATE_UNITS[unit])
                if rest == 0 and number <= _UINT32_MAX:
                    return f"{number}{unit}{suffix}/s@{self.interval_us}us"
        return f"{self.bytes_per_sec}B/s@{self.interval_us}us"


@dataclass(frozen=True)
class VifSpec:
    """One virtual network interface.  `devid` is its index in the vif list; `mac` is
    six lower-case hex octets; `pcap` (a paravisor extension) an absolute path or None."""

    devid: int
    mac: str
    bridge: str = DEFAULT_BRIDGE
    ip: str | None = None
    vifname: str | None = None
    model: str | None = None
    rate: VifRate | None = None
    mtu: int | None = None
    script: str | None = None
    backend: str | None = None
    type: str = "vif"
    pcap: str | None = None

    def to_spec(self) -> str:
        """The spec as `key=value,...` text that parse_vif_spec reads back equal."""
        parts = [f"mac={self.mac}", f"bridge={self.bridge}"]
        for key in ("ip", "vifname", "model", "rate", "mtu", "script", "backend", "pcap"):
            value = getattr(self, key)
            if value is not None:
                parts.append(f"{key}={value}")
        if self.type != "vif":
            parts.append(f"type={self.type}")
        return ",".join(parts)


_VIF_KEYS = frozenset({"mac", "bridge", "ip", "vifname", "model", "rate", "mtu", "script",
                       "backend", "type", "pcap"})
# Keys and flags xl accepts that have no meaning here: warned about and ignored.
_VIF_IGNORED = frozenset({"netdev", "gatewaydev", "forwarddev", "accel", "devid", "vlan",
                          "trusted", "untrusted"})
_IFNAME = re.compile(r"[A-Za-z0-9_.-]+")
_MAC = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")
_RATE = re.compile(r"([0-9]{1,12})([GMK]?)([Bb])/s")
_INTERVAL = re.compile(r"([0-9]{1,12})(s|ms|us)")
_RATE_UNITS = {"": 1, "K": 1000, "M": 1000 ** 2, "G": 1000 ** 3}   # decimal, as xl
_INTERVAL_UNITS = {"s": 1_000_000, "ms": 1000, "us": 1}


def parse_vif_spec(spec: str, devid: int, domain_name: str,
                   base_dir: str) -> tuple[VifSpec, list[str]]:
    """Parse one xl vif spec for the `devid`-th interface of `domain_name`.

    A missing mac is derived from the domain name and devid (see `default_mac`); a
    relative pcap path is resolved against `base_dir`.  Returns the spec and warnings
    for ignored keys.  Raises DeviceSpecError.
    """
    fields: dict[str, object] = {}
    warnings: list[str] = []
    pos = 0
    for raw in spec.split(","):
        offset = pos + len(raw) - len(raw.lstrip())
        pos += len(raw) + 1
        token = raw.strip()
        key, equals, value = token.partition("=")
        key = key.strip()
        if not token:
            continue
        if key in _VIF_IGNORED:
            warnings.append(f"vif key '{key}' is not supported by paravisor and is ignored")
            continue
        if key not in _VIF_KEYS:
            raise DeviceSpecError(f"unknown vif key '{key}'"
                                  f"{_suggest(key, _VIF_KEYS | _VIF_IGNORED)}", offset)
        if not equals:
            raise DeviceSpecError(f"vif key '{key}' needs a value ({key}=...)", offset)
        if key in fields:
            raise DeviceSpecError(f"vif key '{key}' is given twice", offset)
        try:
            fields[key] = _vif_value(key, value.strip(), base_dir)
        except ValueError as err:
            raise DeviceSpecError(f"vif {key}: {err}", offset + len(key) + 1) from None
    fields.setdefault("mac", default_mac(domain_name, devid))
    return VifSpec(devid=devid, **fields), warnings


def _vif_value(key: str, value: str, base_dir: str) -> object:
    """Check and convert one vif value; ValueError says what is wrong with it."""
    if key == "mac":
        return _mac(value)
    if key in ("bridge", "vifname"):
        if not _IFNAME.fullmatch(value) or len(value) >= _IFNAMSIZ:
            raise ValueError(f"'{value}' is not an interface name (letters, digits, "
                             f"'_.-', at most {_IFNAMSIZ - 1} characters)")
        return value
    if key == "ip":
        for address in value.split():
            ipaddress.IPv4Address(address)   # raises ValueError with a clear message
        if not value.split():
            raise ValueError("no address given")
        return " ".join(value.split())
    if key == "rate":
        return _rate(value)
    if key == "mtu":
        if not re.fullmatch(r"[0-9]{1,5}", value) or not 68 <= int(value) <= 65535:
            raise ValueError(f"'{value}' is not an MTU (68..65535 bytes)")
        return int(value)
    if key == "type":
        if value not in ("vif", "ioemu"):
            raise ValueError(f"'{value}' is not a vif type (vif or ioemu)")
        return value
    if not value:
        raise ValueError("empty value")
    if key == "pcap":
        return os.path.normpath(os.path.join(base_dir, value))
    return value   # model, script, backend: names checked where they are used


def _mac(value: str) -> str:
    if not _MAC.fullmatch(value):
        raise ValueError(f"'{value}' is not a MAC address (six hex octets, "
                         f"00:16:3e:12:34:56)")
    if int(value[:2], 16) & 1:
        raise ValueError(f"'{value}' is a multicast address; a NIC needs a unicast one "
                         f"(first octet even)")
    return value.lower()


def _rate(value: str) -> VifRate:
    """xl's RATE[@INTERVAL]: RATE is N[GMK](B|b)/s (decimal units, b = bits); INTERVAL
    is N followed by s, ms or us (default 50ms)."""
    rate_text, at, interval_text = value.partition("@")
    match = _RATE.fullmatch(rate_text)
    if match is None:
        raise ValueError(f"'{rate_text}' is not a rate (e.g. 10Mb/s, 250KB/s)")
    number, unit, bits = match.groups()
    if int(number) > _UINT32_MAX:
        raise ValueError(f"'{rate_text}': the number must fit in 32 bits")
    bytes_per_sec = int(number) * _RATE_UNITS[unit] // (8 if bits == "b" else 1)
    interval_us = DEFAULT_RATE_INTERVAL_US
    if at:
        imatch = _INTERVAL.fullmatch(interval_text)
        if imatch is None:
            raise ValueError(f"'{interval_text}' is not an interval (e.g. 20ms, 500us, 1s)")
        interval_us = int(imatch.group(1)) * _INTERVAL_UNITS[imatch.group(2)]
    if interval_us > _UINT32_MAX:
        raise ValueError(f"'{interval_text}': the interval must fit in 32 bits of us")
    if bytes_per_sec == 0 or interval_us == 0:
        raise ValueError(f"'{value}': rate and interval must be positive")
    return VifRate(bytes_per_sec, interval_us)


def default_mac(domain_name: str, devid: int) -> str:
    """A MAC in Xen's OUI that depends only on the domain name and devid.

    xl draws the low three octets at random (clearing the top bit of the first); we
    hash instead, so the same config gives the same MAC on every run.
    """
    digest = hashlib.sha256(f"{domain_name}/{devid}".encode()).digest()
    octets = XEN_OUI + (digest[0] & 0x7F, digest[1], digest[2])
    return ":".join(f"{octet:02x}" for octet in octets)


# --- host bridges (dom0.cfg `bridges`) -------------------------------------------------

_UPLINK = re.compile(r"([A-Za-z0-9.-]+):([0-9]{1,5})@([0-9]{1,5})")


def parse_bridge_spec(spec: str, base_dir: str):
    """One item of dom0.cfg's `bridges`: `NAME[,pcap=FILE][,uplink=HOST:PORT@LOCALPORT]`
    -> a netback BridgeSetting (a relative pcap path is taken from `base_dir`).  Raises
    DeviceSpecError with the offset of the offending text."""
    from paravisor.services.netback.bridge import BridgeSetting
    name_text, *rest = spec.split(",")
    name = name_text.strip()
    if not _IFNAME.fullmatch(name) or len(name) >= _IFNAMSIZ:
        raise DeviceSpecError(f"'{name}' is not a bridge name (letters, digits, '_.-', at "
                              f"most {_IFNAMSIZ - 1} characters)", 0)
    fields: dict[str, object] = {}
    pos = len(name_text) + 1
    for raw in rest:
        offset = pos + len(raw) - len(raw.lstrip())
        pos += len(raw) + 1
        key, equals, value = (part.strip() for part in raw.partition("="))
        if key not in ("pcap", "uplink"):
            raise DeviceSpecError(f"unknown bridge key '{key}' (pcap=FILE, "
                                  f"uplink=HOST:PORT@LOCALPORT)", offset)
        if not equals or not value:
            raise DeviceSpecError(f"bridge key '{key}' needs a value ({key}=...)", offset)
        if key in fields:
            raise DeviceSpecError(f"bridge key '{key}' is given twice", offset)
        if key == "pcap":
            fields[key] = os.path.normpath(os.path.join(base_dir, value))
            continue
        match = _UPLINK.fullmatch(value)
        ports = [int(match.group(2)), int(match.group(3))] if match else []
        if match is None or not all(0 < port < 65536 for port in ports):
            raise DeviceSpecError(f"uplink '{value}' is not HOST:PORT@LOCALPORT (ports "
                                  f"1..65535, e.g. 127.0.0.1:5555@5556)", offset)
        fields[key] = (match.group(1), *ports)
    return BridgeSetting(name, **fields)
