"""`paravisor launch dom0.cfg` and `paravisor run KERNEL`: boot a host and watch it.

launch: parse the host config (dom0.cfg), with the command line's KEY=VALUE settings
laid over it (and NAME:KEY=VALUE over guest NAME's config), boot the hypervisor and
dom0, create every guest it lists, show their consoles, apply on_poweroff/on_crash/...,
and exit when every guest has ended, printing how each ended.  Given a guest's own
config (what `xl create` takes: no `guests`, and neither dom0's name nor its kernel),
it runs that guest on a default host: dom0 with the built-in kernel, one pCPU.

run: one guest, its console on stdout untouched, the guest's shutdown code as the exit
status (a crash gives 1 and a message on stderr).

Exit statuses, the same for both (paravisor.errors.STATUS_*): 0 success (every guest
powered off with exit code 0; for run, the guest's own code); 1 a guest crashed, exited
non-zero or could never run again (deadlock); 2 bad input (a config, kernel or option);
124 the --max-seconds time limit ended the run; 130 Ctrl-C (every domain is destroyed
first).
"""

from __future__ import annotations

import filecmp
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import TextIO

from paravisor.console import ConsoleHub
from paravisor.domain import Domain, ShutdownReason
from paravisor.errors import (
    STATUS_GUEST_FAILED,
    STATUS_INTERRUPTED,
    STATUS_OK,
    STATUS_TIME_LIMIT,
    UserError,
)
from paravisor.hypervisor import Hypervisor
from paravisor.hypervisor.builder import BuildError, build_domain
from paravisor.inputfiles import InputFileError, check_input_file
from paravisor.sched import make_scheduler
from paravisor.services.console import ConsoleDaemon
from paravisor.toolstack.config import (
    DOM0_NAME,
    DomainConfig,
    HostConfig,
    domain_config_from,
    host_config_from,
    read_config_settings,
)
from paravisor.toolstack.configfiles import kernel_advice, kernel_file_limit
from paravisor.toolstack.domains import (
    Toolstack,
    apply_schedule_params,
    guest_os_dir,
    kernel_image,
)
from paravisor.toolstack.fields import SettingsReader
from paravisor.toolstack.keys import HOST_KEYS
from paravisor.toolstack.xlcfg import (
    COMMAND_LINE,
    ConfigError,
    Setting,
    apply_overrides,
    parse_override,
)
from paravisor.trace import Tracer

DOM0_MEMORY_MIB = 16
HOST_SLACK_MIB = 8
DEFAULT_RUN_MEMORY_MIB = 16
NS_PER_SECOND = 1_000_000_000


def _host_mib(memories: list[int]) -> int:
    return sum(memories) + HOST_SLACK_MIB


def builtin_dom0_kernel() -> str:
    return os.path.join(guest_os_dir(), "dom0.s")


def boot_dom0(hv: Hypervisor, cfg: DomainConfig | None) -> Domain:
    """Create and start dom0 (privileged, domid 0) from its config's kernel, or ours."""
    name = cfg.name if cfg is not None else "Domain-0"
    memory = cfg.memory if cfg is not None else DOM0_MEMORY_MIB
    kernel = (cfg.kernel if cfg is not None else None) or builtin_dom0_kernel()
    try:
        image = kernel_image(kernel, memory)
    except InputFileError as err:
        raise BuildError(f"{cfg.path}: {err}" if cfg is not None else str(err)) from None
    dom0 = hv.create_domain(name, domid=0, privileged=True)
    if cfg is not None:
        apply_schedule_params(hv, dom0, cfg)
    build_domain(hv, dom0, image, memory, (cfg.cmdline or "") if cfg else "")
    hv.unpause(dom0)
    return dom0


def launch(config_path: str, *, overrides: Sequence[str] = (), engine: str | None = None,
           stream: TextIO | None = None, log_dir: str | None = None,
           max_seconds: float | None = None, colour: bool | None = None,
           sched: str | None = None, trace: str | None = None,
           realtime: bool = False) -> int:
    """Boot the host `config_path` describes (or a default host running the guest it
    describes), `overrides` being command-line settings ([NAME:]KEY=VALUE); `sched`
    overrides its `sched`, `trace` names a Chrome trace-event file to write the
    timeline to; `realtime` runs each pCPU on its own host thread (paravisor.hypervisor.realtime;
    not deterministic).  Returns an exit status (module doc)."""
    host, guests, note = load_launch_configs(config_path, overrides)
    dom0_cfg = replace(host.dom0, memory=host.dom0.memory or DOM0_MEMORY_MIB)
    console = ConsoleHub(stream, colour=colour, log_dir=log_dir or host.console_log,
                         names=[dom0_cfg.name, *(cfg.name for cfg in guests)])
    if note:
        console.hypervisor_line(note)
    scheduler = make_scheduler(sched or host.sched, host.pcpus, tslice_ms=host.tslice_ms,
                               ratelimit_us=host.ratelimit_us)
    tracer = Tracer() if trace else None
    hv = Hypervisor(_host_mib([dom0_cfg.memory, *(g.memory for g in guests)]),
                    console=console, engine_factory=_engine(engine or host.engine),
                    scheduler=scheduler, tracer=tracer)
    dom0 = boot_dom0(hv, dom0_cfg)
    toolstack = Toolstack(hv, dom0, ConsoleDaemon(hv, dom0), bridges=host.bridges)
    for cfg in guests:
        toolstack.create(cfg)
    max_ns = None if max_seconds is None else int(max_seconds * NS_PER_SECOND)
    try:
        why = _run(hv, realtime, lambda: not toolstack.busy(), max_ns)
    except KeyboardInterrupt:
        console.hypervisor_line("interrupted: shutting every domain down")
        why = "interrupted"
    toolstack.destroy_all()
    hv.shutdown(dom0, ShutdownReason.POWEROFF)
    console.flush()
    if tracer is not None:
        _write_trace(tracer, trace, console)
    return _summary(hv, toolstack, why, console)


def load_launch_configs(config_path: str, overrides: Sequence[str] = ()
                        ) -> tuple[HostConfig, list[DomainConfig], str | None]:
    """The host and guest configs `paravisor launch config_path overrides...` runs,
    all checked before anything boots (warnings go to stderr), and a note for the
    console when `config_path` is a guest's own config, run on a default host.

    An override without NAME: applies to `config_path`; NAME:KEY=VALUE applies to the
    config whose file names its domain NAME (a guest's, or dom0's in the host config).
    A NAME that no config has is an error naming the override."""
    parsed = [parse_override(text) for text in overrides]
    settings = read_config_settings(config_path)
    own = [setting for name, setting in parsed if name is None]
    if _is_guest_config(apply_overrides(settings, own, config_path), config_path):
        host, guests, names = _guest_on_default_host(config_path, settings, parsed)
        note = (f"{config_path} is a guest's config (no 'guests'): running it on a "
                f"default host, {DOM0_NAME} with the built-in kernel")
    else:
        host, guests, names = _host_and_guests(config_path, settings, parsed)
        note = None
    for qualifier, setting in parsed:
        if qualifier is not None and qualifier not in names:
            raise ConfigError(COMMAND_LINE, 1, 1, f"no domain of this host is named "
                                                  f"'{qualifier}' (its domains: "
                                                  f"{', '.join(names)})", setting.source_line)
    return host, guests, note


Overrides = list[tuple[str | None, Setting]]


def _guest_on_default_host(path: str, settings: dict[str, Setting], parsed: Overrides
                           ) -> tuple[HostConfig, list[DomainConfig], list[str]]:
    """A default host (HostConfig's defaults, dom0 with the built-in kernel) whose one
    guest is the config at `path`; also the domain names the configs give."""
    name = _name_in(settings)
    dom0 = DomainConfig(name=DOM0_NAME, kernel=None, path=path, memory=DOM0_MEMORY_MIB,
                        maxmem=DOM0_MEMORY_MIB)
    host = HostConfig(dom0=dom0, path=path, guests=(os.path.abspath(path),))
    cfg, warnings = domain_config_from(settings, path, _overrides_for(parsed, name, True),
                                       nr_pcpus=host.pcpus)
    _warn(warnings)
    return host, [cfg], [DOM0_NAME, name]


def _host_and_guests(path: str, settings: dict[str, Setting], parsed: Overrides
                     ) -> tuple[HostConfig, list[DomainConfig], list[str]]:
    """The host config at `path` and the guest configs it lists; also the domain names
    the configs give."""
    names = [_name_in(settings) or DOM0_NAME]
    host, warnings = host_config_from(settings, path, _overrides_for(parsed, names[0], True))
    _warn(warnings)
    if not host.guests:
        raise ConfigError(path, 0, 0, "this host config lists no guests, so there is "
                                      "nothing to run: name their configs in guests = "
                                      "[\"hello.cfg\", ...]")
    guests = []
    for guest_path in host.guests:
        guest_settings = read_config_settings(guest_path)
        names.append(_name_in(guest_settings))
        cfg, warnings = domain_config_from(guest_settings, guest_path,
                                           _overrides_for(parsed, names[-1], False),
                                           nr_pcpus=host.pcpus)
        _warn(warnings)
        guests.append(cfg)
    return host, guests, names


def _overrides_for(parsed: Overrides, name: str | None, own: bool) -> list[Setting]:
    """The overrides, in command-line order, for the config whose domain is `name`:
    NAME:KEY=VALUE ones, and the unqualified ones if it is the file the command line
    gave (`own`)."""
    return [setting for qualifier, setting in parsed
            if (qualifier is None and own) or (qualifier is not None and qualifier == name)]


def _is_guest_config(settings: dict[str, Setting], path: str) -> bool:
    """A guest's own config, as `xl create` takes it: no host key, a name other than
    dom0's, and a kernel that is not dom0's."""
    name, kernel = settings.get("name"), settings.get("kernel")
    if any(key in settings for key in HOST_KEYS) or name is None or kernel is None:
        return False
    if name.value.data == DOM0_NAME or kernel.value.kind != "string":
        return False
    kernel_path = SettingsReader(settings, path).resolve(kernel.value)
    return not _same_file(kernel_path, builtin_dom0_kernel())


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b) or filecmp.cmp(a, b, shallow=False)
    except (OSError, ValueError):
        return False


def _name_in(settings: dict[str, Setting]) -> str | None:
    """The `name` a config's file gives (what NAME: in an override refers to)."""
    name = settings.get("name")
    return name.value.data if name is not None and name.value.kind == "string" else None


def _warn(warnings: list) -> None:
    for warning in warnings:
        print(warning, file=sys.stderr)


def _write_trace(tracer: Tracer, path: str, console: ConsoleHub) -> None:
    try:
        tracer.write(path)
    except OSError as err:
        raise UserError(f"cannot write the trace to {path}: {err.strerror}") from None
    console.hypervisor_line(f"trace written to {path} "
                            f"(paravisor trace summary {path}; or open it in Perfetto)")


def _summary(hv: Hypervisor, toolstack: Toolstack, why: str, console: ConsoleHub) -> int:
    if why == "deadlock":
        console.hypervisor_line("every domain is blocked with no timer pending: stopping")
    elif why == "time":
        console.hypervisor_line("time limit reached: stopping")
    status = STATUS_OK if why in ("until", "idle") else STATUS_GUEST_FAILED
    console.hypervisor_line(f"all guests ended after {hv.now / NS_PER_SECOND:.6f} s "
                            "of virtual time:")
    for ending in toolstack.endings:
        console.hypervisor_line(f"  {ending.name} (domain {ending.domid}): {ending.text}"
                                f" -> {ending.action}")
        if not ending.clean:
            status = STATUS_GUEST_FAILED
    return {"time": STATUS_TIME_LIMIT, "interrupted": STATUS_INTERRUPTED}.get(why, status)


def _run(hv: Hypervisor, realtime: bool, until, max_ns: int | None) -> str:
    if realtime:
        from paravisor.hypervisor.realtime import run_realtime
        return run_realtime(hv, until=until, max_ns=max_ns)
    return hv.run(until=until, max_ns=max_ns)


def _engine(name: str):
    if name == "interp":
        from paravisor.isa.interpreter import Interpreter
        return Interpreter
    if name == "jit":
        from paravisor.jit import JitEngine
        return JitEngine
    raise UserError(f"unknown engine {name!r} (choose interp or jit)")


def run_kernel(path: str, *, memory_mib: int = DEFAULT_RUN_MEMORY_MIB,
               engine: str = "jit", max_seconds: float | None = None,
               stream: TextIO | None = None, cmdline: str = "", sched: str = "credit",
               realtime: bool = False) -> int:
    """Run one guest kernel (image or source) on one pCPU under the scheduler `sched`
    names; its shutdown code is the exit status.  A kernel that is not a regular file
    within its limit (an image larger than `memory_mib`, say) is a UserError before
    anything is read."""
    if not os.path.exists(path):
        raise UserError(f"{path}: no such file")
    try:
        check_input_file(path, *kernel_file_limit(path, memory_mib))
    except InputFileError as err:
        raise UserError(f"{err}: {kernel_advice(err, '--memory')}") from None
    console = ConsoleHub(stream, raw=True)
    hv = Hypervisor(_host_mib([memory_mib]), console=console, engine_factory=_engine(engine),
                    scheduler=make_scheduler(sched))
    dom0 = hv.create_domain("Domain-0", domid=0, privileged=True)   # services only
    daemon = ConsoleDaemon(hv, dom0)
    toolstack = Toolstack(hv, dom0, daemon)
    name = os.path.splitext(os.path.basename(path))[0] or "guest"
    cfg = DomainConfig(name=name, kernel=os.path.abspath(path), path=path, memory=memory_mib,
                       maxmem=memory_mib, cmdline=cmdline, on_poweroff="preserve",
                       on_reboot="preserve", on_crash="preserve", on_watchdog="preserve")
    try:
        dom = toolstack.create(cfg)
    except BuildError:
        raise
    max_ns = None if max_seconds is None else int(max_seconds * NS_PER_SECOND)
    try:
        why = _run(hv, realtime, lambda: dom.is_shutdown and not hv.deferred, max_ns)
    except KeyboardInterrupt:
        why = "interrupted"
    daemon.disconnect(dom)
    console.flush()
    if not dom.is_shutdown:
        text = {"time": "time limit reached", "deadlock": "guest blocked forever",
                "interrupted": "interrupted"}.get(why, why)
        print(f"paravisor run: {name}: {text}", file=sys.stderr)
        return {"time": STATUS_TIME_LIMIT,
                "interrupted": STATUS_INTERRUPTED}.get(why, STATUS_GUEST_FAILED)
    if dom.shutdown_reason == ShutdownReason.CRASH:
        print(f"paravisor run: {name} crashed: {dom.crash_message}", file=sys.stderr)
        return STATUS_GUEST_FAILED
    return dom.shutdown_code & 0xFF
