"""Properties: no input makes the config readers fail other than with ConfigError /
DeviceSpecError, and every DomainConfig / HostConfig survives to_xl() and back."""

import os
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paravisor.toolstack.config import (
    MAX_VCPUS,
    DomainConfig,
    HostConfig,
    parse_domain_config,
    parse_host_config,
)
from paravisor.toolstack.cpulist import parse_cpulist
from paravisor.toolstack.devices import (
    DeviceSpecError,
    parse_disk_spec,
    parse_vif_spec,
)
from paravisor.toolstack.keys import DOMAIN_KEYS, HOST_KEYS, UNSUPPORTED_KEYS
from paravisor.toolstack.xlcfg import ConfigError, parse_xl

PATH = "/etc/pv/guest.cfg"

# Fragments that xl text is made of, so random joins reach past the first token.
FRAGMENTS = st.sampled_from(sorted(DOMAIN_KEYS | HOST_KEYS) + sorted(UNSUPPORTED_KEYS)[:5] + [
    " = ", "=", " ", "\n", ";", ",", "[", "]", "#", '"', "'", "\\", "-", "0x", "07", "08",
    "1", "32", "999999", '"pv"', '"hvm"', '"destroy"', '"coredump-restart"', '"0-3,^1"',
    '"file:d.img,xvda,w"', '"x,,xvdb,r"', '"mac=00:16:3e:00:00:01"', '"rate=1MB/s@2ms"',
    '"bridge=br0,ip=1.2.3.4"', '"all"', '"g"', '"credit"', '"jit"', '"k.elf"',
])
XL_LIKE_TEXT = st.lists(FRAGMENTS, max_size=40).map("".join)
ANY_TEXT = st.one_of(st.text(string.printable), st.text(), XL_LIKE_TEXT)


@given(ANY_TEXT)
def test_arbitrary_text_gives_a_config_or_a_config_error(text):
    for parse in (parse_domain_config, parse_host_config):
        try:
            config, warnings = parse(text, PATH)
        except ConfigError as err:
            assert err.path == PATH and err.message
            assert str(err).startswith(PATH + ":")
        else:
            assert all(str(w).startswith(PATH + ":") for w in warnings)
            assert config.path == PATH


@given(ANY_TEXT)
def test_syntax_errors_point_inside_the_text(text):
    try:
        parse_xl(text, PATH)
    except ConfigError as err:
        lines = text.split("\n")
        assert 1 <= err.line <= len(lines)
        assert 1 <= err.col <= len(lines[err.line - 1]) + 1


SPEC_TEXT = st.one_of(
    st.text(string.printable, max_size=40),
    st.lists(st.sampled_from([
        ",", "=", " ", "xvda", "hdc:cdrom", "raw", "qcow2", "r", "rw", "file:", "tap:",
        "aio:", "nbd:", "target=", "vdev=", "format=", "access=", "devtype=", "/img",
        "mac=", "00:16:3e:00:00:0", "rate=", "10Mb/s", "@", "20ms", "bridge=", "mtu=",
        "ip=", "1.2.3.4", "trusted", "discard", "backend=", "d1p2", "x"]),
        max_size=12).map("".join))


@given(SPEC_TEXT)
def test_device_specs_give_a_spec_or_a_device_spec_error(spec):
    for parse in (lambda s: parse_disk_spec(s, "/cfg"),
                  lambda s: parse_vif_spec(s, 0, "g", "/cfg")):
        try:
            parse(spec)
        except DeviceSpecError as err:
            assert 0 <= err.offset <= len(spec)


# --- round trip ----------------------------------------------------------------------

NAMES = st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True).filter(
    lambda name: not name.isdigit())
ABS_PATHS = st.text(min_size=1, max_size=20).map(lambda p: os.path.normpath("/" + p))
CPULISTS = st.lists(
    st.tuples(st.booleans(), st.sampled_from(["all", "3", "0-7", "2-2", "4095", "10-12"])),
    min_size=1, max_size=4).map(
    lambda items: parse_cpulist(",".join(("^" if neg else "") + it for neg, it in items)))
VDEVS = st.sampled_from(["xvda", "xvdb3", "xvdq", "xvdtq37", "sda", "sdp15", "hda",
                         "hdd63", "d5p200"])
WORDS = st.text(st.characters(blacklist_characters=",", blacklist_categories=("Cs",)),
                min_size=1, max_size=10).map(str.strip).filter(bool)
IFNAMES = st.from_regex(r"[A-Za-z0-9_.-]{1,15}", fullmatch=True)


@st.composite
def disks(draw):
    vdevs = draw(st.lists(VDEVS, unique=True, max_size=3))
    specs = []
    for vdev in vdevs:
        access = draw(st.sampled_from(["r", "w"]))
        backend = draw(st.one_of(st.none(), IFNAMES))
        extra = f",backend={backend}" if backend else ""
        spec = f"vdev={vdev},access={access}{extra},target={draw(ABS_PATHS)}"
        specs.append(parse_disk_spec(spec, "/")[0])
    return tuple(specs)


@st.composite
def vifs(draw, name):
    result = []
    for devid in range(draw(st.integers(0, 3))):
        parts = draw(st.lists(st.sampled_from([
            "mac=00:16:3E:aa:bb:0c", "bridge=br-1", "ip=10.1.2.3 10.1.2.4", "mtu=1500",
            "rate=10Mb/s", "rate=4294967295Kb/s@4294967295us", "rate=7B/s@3s",
            "type=ioemu", "vifname=vif.7"]), unique_by=lambda p: p.split("=")[0]))
        for key in ("model", "script", "backend", "pcap"):
            if draw(st.booleans()):
                parts.append(f"{key}={draw(WORDS)}")
        result.append(parse_vif_spec(",".join(parts), devid, name, "/etc/pv")[0])
    return tuple(result)


@st.composite
def domain_configs(draw, dom0=False):
    name = draw(NAMES)
    memory = draw(st.integers(1, 4096))
    vcpus = draw(st.integers(1, MAX_VCPUS))
    maxvcpus = draw(st.integers(vcpus, MAX_VCPUS))
    cpus = draw(st.one_of(st.none(), CPULISTS,
                          st.lists(CPULISTS, min_size=1, max_size=maxvcpus).map(tuple)))
    actions = st.sampled_from(["destroy", "restart", "preserve"])
    return DomainConfig(
        name=name, kernel=draw(st.one_of(st.none(), ABS_PATHS) if dom0 else ABS_PATHS),
        path=PATH, memory=memory, maxmem=draw(st.integers(memory, 4096)), vcpus=vcpus,
        maxvcpus=maxvcpus, cpus=cpus, cpu_weight=draw(st.integers(1, 65535)),
        cap=draw(st.integers(0, 100 * maxvcpus)), cmdline=draw(st.one_of(st.none(),
                                                                        st.text())),
        on_poweroff=draw(actions), on_reboot=draw(actions), on_crash=draw(actions),
        on_watchdog=draw(actions), disk=draw(disks()), vif=draw(vifs(name)),
        max_grant_frames=draw(st.integers(1, (1 << 31) - 1)),
        max_maptrack_frames=draw(st.integers(0, 4096)),
        max_event_channels=draw(st.integers(1, 1 << 17)),
        seed=draw(st.one_of(st.none(), st.integers(0, (1 << 63) - 1))))


@given(domain_configs())
def test_domain_config_round_trips_through_xl_text(config):
    parsed, warnings = parse_domain_config(config.to_xl(), PATH)
    assert warnings == []
    assert parsed == config


@given(domain_configs(dom0=True), st.lists(ABS_PATHS, max_size=3),
       st.sampled_from(["credit", "rr"]), st.integers(1, 256), st.sampled_from(["jit", "interp"]),
       st.integers(1, 1000), st.one_of(st.none(), ABS_PATHS), st.data())
def test_host_config_round_trips_through_xl_text(dom0, guests, sched, pcpus, engine,
                                                  tslice_ms, console_log, data):
    ratelimit = data.draw(st.one_of(st.just(0), st.integers(100, min(500_000,
                                                                     tslice_ms * 1000))))
    host = HostConfig(dom0=dom0, path=PATH, guests=tuple(guests), sched=sched, pcpus=pcpus,
                      engine=engine, tslice_ms=tslice_ms, ratelimit_us=ratelimit,
                      console_log=console_log)
    if not all(dom0.hard_affinity(vcpu, pcpus) for vcpu in range(dom0.maxvcpus)):
        # dom0's `cpus` leaves a vCPU none of the host's pCPUs: refused at its line
        with pytest.raises(ConfigError, match="no pCPU to run on") as info:
            parse_host_config(host.to_xl(), PATH)
        assert info.value.source_line.startswith("cpus = ")
        return
    parsed, warnings = parse_host_config(host.to_xl(), PATH)
    assert warnings == []
    assert parsed == host
