"""The domain and host configuration model: xl.cfg settings checked into dataclasses.

`parse_domain_config` / `load_domain_config` read a guest's xl.cfg into a DomainConfig;
`parse_host_config` / `load_host_config` read the dom0.cfg that `paravisor launch`
takes into a HostConfig (dom0's own domain settings plus host-wide ones).  Each returns
the config and a list of ConfigWarning for keys that paravisor ignores; the caller
prints them.  Every mistake is a ConfigError naming file, line, column and key.

Paths (kernel, disk images, pcap files, guest configs, console_log) are resolved
against the directory of the config file, and are not checked to exist here: that is
the job of whoever opens them.  `parse_*` look at the text only; `load_*`, which read
the config from disk, also check that each file it names that exists is of the right
kind and size (toolstack.configfiles), so that the error points at the setting.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from paravisor.abi import DEFAULT_MAX_GRANT_FRAMES, DEFAULT_MAX_MAPTRACK_FRAMES
from paravisor.inputfiles import InputFileError, read_input_file
from paravisor.toolstack.configfiles import (
    CONFIG_LIMIT_TEXT,
    MAX_CONFIG_BYTES,
    check_domain_files,
    check_host_files,
)
from paravisor.toolstack.cpulist import CpuList, CpuListError, parse_cpulist
from paravisor.toolstack.devices import (
    DeviceSpecError,
    DiskSpec,
    VifSpec,
    parse_bridge_spec,
    parse_disk_spec,
    parse_vif_spec,
)
from paravisor.toolstack.fields import ConfigWarning, SettingsReader
from paravisor.toolstack.keys import DOMAIN_KEYS, HOST_KEYS, UNSUPPORTED_KEYS
from paravisor.toolstack.xlcfg import (
    ConfigError,
    Setting,
    Value,
    apply_overrides,
    parse_xl,
    render_value,
)

DEFAULT_MEMORY_MIB = 32
MAX_MEMORY_MIB = 4096          # a PV32 guest's pseudo-physical space is 32 bits
MAX_VCPUS = 32                 # XEN_LEGACY_MAX_VCPUS: vcpu_info slots in shared_info
CSCHED_DEFAULT_WEIGHT = 256
CSCHED_MAX_WEIGHT = 65535
DEFAULT_MAX_EVENT_CHANNELS = 1023
_INT32_MAX = (1 << 31) - 1     # bound for counts the hypervisor keeps in 32 bits
_SEED_MAX = (1 << 63) - 1

DOM0_NAME = "Domain-0"
SCHEDULERS = ("credit", "rr")
ENGINES = ("jit", "interp")
MAX_PCPUS = 256
CSCHED_DEFAULT_TSLICE_MS = 30
XEN_SYSCTL_CSCHED_TSLICE_MIN, XEN_SYSCTL_CSCHED_TSLICE_MAX = 1, 1000
SCHED_DEFAULT_RATELIMIT_US = 1000
XEN_SYSCTL_SCHED_RATELIMIT_MIN, XEN_SYSCTL_SCHED_RATELIMIT_MAX = 100, 500_000

# xl.cfg(5) event actions, and the ones paravisor carries out.
XL_ACTIONS = ("destroy", "restart", "rename-restart", "preserve", "coredump-destroy",
              "coredump-restart", "soft-reset")
SUPPORTED_ACTIONS = ("destroy", "restart", "preserve")
XL_TYPES = ("pv", "pvh", "hvm")

_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_MAX_NAME = 64

CpuAffinity = CpuList | tuple[CpuList, ...] | None


@dataclass(frozen=True)
class DomainConfig:
    """One domain's configuration, checked and with defaults filled in.

    `kernel` is an absolute path (an ELF image, or a source to build), or None for
    dom0's built-in kernel.  `cpus` is the hard affinity: a CpuList for every vCPU, a
    tuple of CpuList for vCPU i (later vCPUs unpinned), or None (unpinned).
    """

    name: str
    kernel: str | None
    path: str
    type: str = "pv"
    memory: int = DEFAULT_MEMORY_MIB
    maxmem: int = DEFAULT_MEMORY_MIB
    vcpus: int = 1
    maxvcpus: int = 1
    cpus: CpuAffinity = None
    cpu_weight: int = CSCHED_DEFAULT_WEIGHT
    cap: int = 0
    cmdline: str | None = None
    on_poweroff: str = "destroy"
    on_reboot: str = "restart"
    on_crash: str = "destroy"
    on_watchdog: str = "destroy"
    disk: tuple[DiskSpec, ...] = ()
    vif: tuple[VifSpec, ...] = ()
    max_grant_frames: int = DEFAULT_MAX_GRANT_FRAMES
    max_maptrack_frames: int = DEFAULT_MAX_MAPTRACK_FRAMES
    max_event_channels: int = DEFAULT_MAX_EVENT_CHANNELS
    seed: int | None = None

    def hard_affinity(self, vcpu: int, nr_pcpus: int) -> frozenset[int]:
        """The pCPUs vCPU `vcpu` may run on, on a host with `nr_pcpus` pCPUs.

        May be empty (the list names only CPUs the host lacks): the caller rejects that.
        """
        if isinstance(self.cpus, CpuList):
            return self.cpus.resolve(nr_pcpus)
        if isinstance(self.cpus, tuple) and vcpu < len(self.cpus):
            return self.cpus[vcpu].resolve(nr_pcpus)
        return frozenset(range(nr_pcpus))

    def to_xl(self) -> str:
        """This config in xl.cfg syntax; parsed with the same path it gives back an
        equal DomainConfig."""
        return "".join(f"{key} = {render_value(value)}\n"
                       for key, value in self.xl_items())

    def xl_items(self) -> list[tuple[str, str | int | list]]:
        """(key, plain value) pairs for every setting, defaults included."""
        items: list[tuple[str, str | int | list]] = [("name", self.name),
                                                     ("type", self.type)]
        if self.kernel is not None:
            items.append(("kernel", self.kernel))
        items += [("memory", self.memory), ("maxmem", self.maxmem),
                  ("vcpus", self.vcpus), ("maxvcpus", self.maxvcpus)]
        if isinstance(self.cpus, CpuList):
            items.append(("cpus", str(self.cpus)))
        elif isinstance(self.cpus, tuple):
            items.append(("cpus", [str(cpus) for cpus in self.cpus]))
        items += [("cpu_weight", self.cpu_weight), ("cap", self.cap)]
        if self.cmdline is not None:
            items.append(("cmdline", self.cmdline))
        items += [("on_poweroff", self.on_poweroff), ("on_reboot", self.on_reboot),
                  ("on_crash", self.on_crash), ("on_watchdog", self.on_watchdog),
                  ("disk", [disk.to_spec() for disk in self.disk]),
                  ("vif", [vif.to_spec() for vif in self.vif]),
                  ("max_grant_frames", self.max_grant_frames),
                  ("max_maptrack_frames", self.max_maptrack_frames),
                  ("max_event_channels", self.max_event_channels)]
        if self.seed is not None:
            items.append(("seed", self.seed))
        return items


@dataclass(frozen=True)
class HostConfig:
    """The file `paravisor launch` takes: dom0's DomainConfig plus the host's settings.

    `guests` are absolute paths of guest xl.cfg files; `tslice_ms` and `ratelimit_us`
    are the credit scheduler's time slice and context-switch rate limit, named as in
    Xen's XEN_SYSCTL_SCHEDOP_putinfo; `console_log` is a directory or None.
    """

    dom0: DomainConfig
    path: str
    guests: tuple[str, ...] = ()
    sched: str = "credit"
    pcpus: int = 1
    engine: str = "jit"
    tslice_ms: int = CSCHED_DEFAULT_TSLICE_MS
    ratelimit_us: int = SCHED_DEFAULT_RATELIMIT_US
    console_log: str | None = None
    bridges: tuple = ()               # netback BridgeSettings (pcap, uplink), by name

    def to_xl(self) -> str:
        """This config in xl.cfg syntax (dom0's keys, then the host's); parsed with the
        same path it gives back an equal HostConfig."""
        items = self.dom0.xl_items() + [
            ("guests", list(self.guests)), ("sched", self.sched), ("pcpus", self.pcpus),
            ("engine", self.engine), ("tslice_ms", self.tslice_ms),
            ("ratelimit_us", self.ratelimit_us)]
        if self.console_log is not None:
            items.append(("console_log", self.console_log))
        if self.bridges:
            items.append(("bridges", [bridge.to_spec() for bridge in self.bridges]))
        return "".join(f"{key} = {render_value(value)}\n" for key, value in items)


# --- entry points --------------------------------------------------------------------
# `overrides` are command-line settings (xlcfg.parse_override), laid over the file's as
# if written after its last line.  `nr_pcpus`, when known, is the host's pCPU count: a
# `cpus` that leaves a vCPU none of them is then an error at its line.

def parse_domain_config(text: str, path: str, overrides: Sequence[Setting] = (),
                        nr_pcpus: int | None = None
                        ) -> tuple[DomainConfig, list[ConfigWarning]]:
    """Check a guest's xl.cfg text (read from `path`) into a DomainConfig."""
    cfg, reader = _parse_domain(parse_xl(text, path), path, overrides, nr_pcpus)
    return cfg, reader.warnings


def parse_host_config(text: str, path: str, overrides: Sequence[Setting] = ()
                      ) -> tuple[HostConfig, list[ConfigWarning]]:
    """Check dom0.cfg text (read from `path`) into a HostConfig."""
    host, reader = _parse_host(parse_xl(text, path), path, overrides)
    return host, reader.warnings


def load_domain_config(path: str, overrides: Sequence[Setting] = (),
                       nr_pcpus: int | None = None
                       ) -> tuple[DomainConfig, list[ConfigWarning]]:
    """Read and check the guest config file at `path`, and the files it names."""
    return domain_config_from(read_config_settings(path), path, overrides, nr_pcpus)


def load_host_config(path: str, overrides: Sequence[Setting] = ()
                     ) -> tuple[HostConfig, list[ConfigWarning]]:
    """Read and check the host config file (dom0.cfg) at `path`, and the files it
    names (not yet the guest configs' own)."""
    return host_config_from(read_config_settings(path), path, overrides)


def read_config_settings(path: str) -> dict[str, Setting]:
    """The parsed settings of the config file at `path` (see read_config_text), for a
    caller that looks at them before deciding what the file is."""
    return parse_xl(read_config_text(path), path)


def domain_config_from(settings: dict[str, Setting], path: str,
                       overrides: Sequence[Setting] = (), nr_pcpus: int | None = None
                       ) -> tuple[DomainConfig, list[ConfigWarning]]:
    """A guest's DomainConfig from the settings read from `path` (load_domain_config
    after read_config_settings), the files it names checked."""
    cfg, reader = _parse_domain(settings, path, overrides, nr_pcpus)
    check_domain_files(reader, cfg)
    return cfg, reader.warnings


def host_config_from(settings: dict[str, Setting], path: str,
                     overrides: Sequence[Setting] = ()
                     ) -> tuple[HostConfig, list[ConfigWarning]]:
    """A HostConfig from the settings read from `path` (load_host_config after
    read_config_settings), the files it names checked."""
    host, reader = _parse_host(settings, path, overrides)
    check_domain_files(reader, host.dom0)
    check_host_files(reader, host)
    return host, reader.warnings


def _parse_domain(settings: dict[str, Setting], path: str, overrides: Sequence[Setting],
                  nr_pcpus: int | None) -> tuple[DomainConfig, SettingsReader]:
    reader = SettingsReader(apply_overrides(settings, list(overrides), path), path)
    _check_keys(reader, DOMAIN_KEYS, HOST_KEYS,
                "is a host setting: it belongs in the file given to 'paravisor launch'")
    return _read_domain(reader, dom0=False, nr_pcpus=nr_pcpus), reader


def _parse_host(settings: dict[str, Setting], path: str,
                overrides: Sequence[Setting]) -> tuple[HostConfig, SettingsReader]:
    reader = SettingsReader(apply_overrides(settings, list(overrides), path), path)
    _check_keys(reader, DOMAIN_KEYS | HOST_KEYS, frozenset(), "")
    pcpus = reader.integer("pcpus", 1, 1, MAX_PCPUS)
    dom0 = _read_domain(reader, dom0=True, nr_pcpus=pcpus)
    return _read_host(reader, dom0, pcpus), reader


def read_config_text(path: str) -> str:
    """The text of a config file; a missing, unreadable or non-UTF-8 file, or one that
    is not a regular file of at most MAX_CONFIG_BYTES, is a ConfigError naming it."""
    try:
        return read_input_file(path, "config file", MAX_CONFIG_BYTES,
                               CONFIG_LIMIT_TEXT).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(path, 0, 0, "no such config file") from None
    except UnicodeDecodeError as err:
        raise ConfigError(path, 0, 0, f"not a text file (not UTF-8 at byte "
                                      f"{err.start})") from None
    except InputFileError as err:
        raise ConfigError(path, 0, 0, f"cannot read config file: it is "
                                      f"{err.problem}") from None
    except OSError as err:
        raise ConfigError(path, 0, 0, f"cannot read config file: "
                                      f"{err.strerror or err}") from None


# --- keys ----------------------------------------------------------------------------

def _check_keys(reader: SettingsReader, allowed: frozenset[str],
                elsewhere: frozenset[str], elsewhere_why: str) -> None:
    """Warn about keys paravisor ignores; reject keys that are unknown or misplaced."""
    for key, setting in reader.settings.items():
        if key in allowed:
            continue
        if key in UNSUPPORTED_KEYS:
            reader.warn_at(setting.value, f"key '{key}' is not supported by paravisor and "
                                          f"is ignored")
            continue
        if key in elsewhere:
            message = f"key '{key}' {elsewhere_why}"
        else:
            close = difflib.get_close_matches(key, sorted(allowed | UNSUPPORTED_KEYS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            message = f"unknown key '{key}'{hint}"
        raise ConfigError(setting.value.origin or reader.path, setting.line, setting.col,
                          message, setting.source_line)


# --- the domain ----------------------------------------------------------------------

def _read_domain(reader: SettingsReader, dom0: bool, nr_pcpus: int | None) -> DomainConfig:
    name = _read_name(reader, dom0)
    _read_type(reader)
    kernel = reader.path_setting("kernel")
    if kernel is None and not dom0:
        raise reader.file_error("no 'kernel': a pv guest needs kernel = \"PATH\" (an ELF "
                                "image or a source file to build)")
    memory = reader.integer("memory", DEFAULT_MEMORY_MIB, 1, MAX_MEMORY_MIB, "MiB")
    maxmem = reader.integer("maxmem", memory, 1, MAX_MEMORY_MIB, "MiB")
    if maxmem < memory:
        raise reader.error_at(reader.settings["maxmem"].value,
                              f"'maxmem' ({maxmem} MiB) must be at least 'memory' "
                              f"({memory} MiB)")
    vcpus = reader.integer("vcpus", 1, 1, MAX_VCPUS)
    maxvcpus = reader.integer("maxvcpus", vcpus, 1, MAX_VCPUS)
    if maxvcpus < vcpus:
        raise reader.error_at(reader.settings["maxvcpus"].value,
                              f"'maxvcpus' ({maxvcpus}) must be at least 'vcpus' ({vcpus})")
    actions = {key: reader.choice(key, default, SUPPORTED_ACTIONS, XL_ACTIONS)
               for key, default in (("on_poweroff", "destroy"), ("on_reboot", "restart"),
                                    ("on_crash", "destroy"), ("on_watchdog", "destroy"))}
    return DomainConfig(
        name=name, kernel=kernel, path=reader.path, memory=memory, maxmem=maxmem,
        vcpus=vcpus, maxvcpus=maxvcpus,
        cpus=_read_cpus(reader, maxvcpus, nr_pcpus),
        cpu_weight=reader.integer("cpu_weight", CSCHED_DEFAULT_WEIGHT, 1, CSCHED_MAX_WEIGHT),
        cap=reader.integer("cap", 0, 0, 100 * maxvcpus, "percent of a pCPU"),
        cmdline=_read_cmdline(reader), **actions,
        disk=_read_disks(reader), vif=_read_vifs(reader, name),
        max_grant_frames=reader.integer("max_grant_frames", DEFAULT_MAX_GRANT_FRAMES, 1,
                                        _INT32_MAX),
        max_maptrack_frames=reader.integer("max_maptrack_frames",
                                           DEFAULT_MAX_MAPTRACK_FRAMES, 0, _INT32_MAX),
        max_event_channels=reader.integer("max_event_channels", DEFAULT_MAX_EVENT_CHANNELS,
                                          1, _INT32_MAX),
        seed=_read_seed(reader))


def _read_name(reader: SettingsReader, dom0: bool) -> str:
    name = reader.string("name", DOM0_NAME if dom0 else None)
    if name is None:
        raise reader.file_error("no 'name': every domain needs name = \"NAME\"")
    if "name" not in reader.settings:
        return name   # dom0's default name
    problem = None
    if not _NAME.fullmatch(name):
        problem = "may only hold letters, digits and '_', '.', '-'"
    elif len(name) > _MAX_NAME:
        problem = f"is longer than {_MAX_NAME} characters"
    elif name.isdigit():
        problem = "must not be all digits (it would read as a domain id)"
    if problem is not None:
        raise reader.error_at(reader.settings["name"].value,
                              f"domain name '{name}' {problem}")
    return name


def _read_type(reader: SettingsReader) -> None:
    """`type` (and the older `builder`) must select a PV domain."""
    only_pv = "only pv domains are supported by paravisor"
    value = reader.value("type", ("string",), "a quoted string")
    if value is not None and value.data != "pv":
        known = value.data in XL_TYPES
        raise reader.error_at(value, f"type \"{value.data}\": "
                              + (only_pv if known else f"unknown type ({only_pv})"))
    builder = reader.value("builder", ("string",), "a quoted string")
    if builder is not None and builder.data != "generic":
        raise reader.error_at(builder, f"builder \"{builder.data}\": {only_pv} "
                                       f"(builder = \"generic\")")


def _read_cmdline(reader: SettingsReader) -> str | None:
    """xl's rule: `cmdline` wins over `root`/`extra`; otherwise "root=ROOT EXTRA"."""
    cmdline, root, extra = (reader.string(key) for key in ("cmdline", "root", "extra"))
    if cmdline is not None:
        if root is not None or extra is not None:
            reader.warn_at(reader.settings["cmdline"].value,
                           "'root' and 'extra' are ignored because 'cmdline' is set")
        return cmdline
    if root is not None:
        return f"root={root} {extra}" if extra is not None else f"root={root}"
    return extra


def _read_cpus(reader: SettingsReader, maxvcpus: int, nr_pcpus: int | None) -> CpuAffinity:
    """`cpus`: a CPULIST string (all vCPUs) or a list of them (one per vCPU); with
    `nr_pcpus`, each must leave its vCPUs at least one of the host's pCPUs."""
    value = reader.value("cpus", ("string", "number", "list"),
                         "a CPU list such as \"0-3,5\" or a list of them")
    if value is None:
        return None
    if value.kind != "list":
        return _cpulist(reader, value, nr_pcpus, "every vCPU")
    assert isinstance(value.data, tuple)
    if not value.data:
        raise reader.error_at(value, "'cpus' is an empty list")
    if len(value.data) > maxvcpus:
        raise reader.error_at(value, f"'cpus' lists {len(value.data)} vCPUs but the "
                                     f"domain has at most {maxvcpus} (maxvcpus)")
    return tuple(_cpulist(reader, item, nr_pcpus, f"vCPU {vcpu}")
                 for vcpu, item in enumerate(value.data))


def _cpulist(reader: SettingsReader, value: Value, nr_pcpus: int | None,
             who: str) -> CpuList:
    if value.kind == "list":
        raise reader.error_at(value, "items of 'cpus' must be CPU lists, not lists")
    try:
        cpus = parse_cpulist(str(value.data))
    except CpuListError as err:
        raise reader.error_at(value, f"cpus: {err}") from None
    if nr_pcpus is not None and not cpus.resolve(nr_pcpus):
        have = "pCPU 0" if nr_pcpus == 1 else f"pCPUs 0-{nr_pcpus - 1}"
        raise reader.error_at(value, f"cpus: \"{cpus}\" leaves {who} no pCPU to run on: "
                                     f"the host has {have} (its 'pcpus' is {nr_pcpus})")
    return cpus


def _read_disks(reader: SettingsReader) -> tuple[DiskSpec, ...]:
    disks = []
    for item in reader.string_items("disk"):
        try:
            disk, warnings = parse_disk_spec(str(item.data), reader.base_dir_of(item))
        except DeviceSpecError as err:
            raise reader.device_error(item, err) from None
        for message in warnings:
            reader.warn_at(item, message)
        clash = next((other for other in disks if other.devid == disk.devid), None)
        if clash is not None:
            raise reader.error_at(item, f"disk: vdev '{disk.vdev}' is the same device as "
                                        f"'{clash.vdev}' (devid {disk.devid})")
        disks.append(disk)
    return tuple(disks)


def _read_vifs(reader: SettingsReader, name: str) -> tuple[VifSpec, ...]:
    vifs = []
    for devid, item in enumerate(reader.string_items("vif")):
        try:
            vif, warnings = parse_vif_spec(str(item.data), devid, name,
                                           reader.base_dir_of(item))
        except DeviceSpecError as err:
            raise reader.device_error(item, err) from None
        for message in warnings:
            reader.warn_at(item, message)
        vifs.append(vif)
    return tuple(vifs)


def _read_seed(reader: SettingsReader) -> int | None:
    value = reader.value("seed", ("number",), "a number")
    if value is None:
        return None
    assert isinstance(value.data, int)
    reader.check_range("seed", value, value.data, 0, _SEED_MAX)
    return value.data


# --- the host ------------------------------------------------------------------------

def _read_host(reader: SettingsReader, dom0: DomainConfig, pcpus: int) -> HostConfig:
    guests = []
    for item in reader.string_items("guests"):
        if not item.data:
            raise reader.error_at(item, "'guests' holds an empty path")
        guests.append(reader.resolve(item))
    tslice_ms = reader.integer("tslice_ms", CSCHED_DEFAULT_TSLICE_MS,
                               XEN_SYSCTL_CSCHED_TSLICE_MIN, XEN_SYSCTL_CSCHED_TSLICE_MAX,
                               "ms")
    return HostConfig(
        dom0=dom0, path=reader.path,
        guests=tuple(guests),
        sched=reader.choice("sched", "credit", SCHEDULERS),
        pcpus=pcpus,
        engine=reader.choice("engine", "jit", ENGINES),
        tslice_ms=tslice_ms, ratelimit_us=_read_ratelimit(reader, tslice_ms),
        console_log=reader.path_setting("console_log"), bridges=_read_bridges(reader))


def _read_bridges(reader: SettingsReader) -> tuple:
    """`bridges`: one spec per bridge (see parse_bridge_spec); a name given twice is an
    error."""
    bridges: list = []
    for item in reader.string_items("bridges"):
        try:
            bridge = parse_bridge_spec(str(item.data), reader.base_dir_of(item))
        except DeviceSpecError as err:
            raise reader.device_error(item, err) from None
        if any(other.name == bridge.name for other in bridges):
            raise reader.error_at(item, f"bridges: '{bridge.name}' is given twice")
        bridges.append(bridge)
    return tuple(bridges)


def _read_ratelimit(reader: SettingsReader, tslice_ms: int) -> int:
    """0 (no rate limit) or XEN_SYSCTL_SCHED_RATELIMIT_MIN..MAX us, and, as Xen's
    credit scheduler insists, no longer than the time slice."""
    ratelimit = reader.integer("ratelimit_us", SCHED_DEFAULT_RATELIMIT_US, 0,
                               XEN_SYSCTL_SCHED_RATELIMIT_MAX, "us")
    if ratelimit == 0:
        return 0
    value = reader.settings["ratelimit_us"].value if "ratelimit_us" in reader.settings \
        else None
    if ratelimit < XEN_SYSCTL_SCHED_RATELIMIT_MIN and value is not None:
        raise reader.error_at(value, f"'ratelimit_us' must be 0 (off) or at least "
                                     f"{XEN_SYSCTL_SCHED_RATELIMIT_MIN} us, not {ratelimit}")
    if ratelimit > tslice_ms * 1000:
        where = value if value is not None else reader.settings["tslice_ms"].value
        raise reader.error_at(where, f"'ratelimit_us' ({ratelimit} us) must not exceed "
                                     f"'tslice_ms' ({tslice_ms} ms)")
    return ratelimit
