"""The domain and host configuration model: defaults, ranges, xl's rules (cmdline,
actions, cpus), path resolution, warnings for ignored keys and suggestions for typos."""

import pytest

from paravisor.toolstack.config import (
    DomainConfig,
    load_domain_config,
    load_host_config,
    parse_domain_config,
    parse_host_config,
)
from paravisor.toolstack.cpulist import parse_cpulist
from paravisor.toolstack.xlcfg import COMMAND_LINE, ConfigError, parse_override

PATH = "/etc/paravisor/guest.cfg"
GUEST = 'name = "g1"\nkernel = "k.elf"\n'


def guest(extra: str = "") -> DomainConfig:
    config, warnings = parse_domain_config(GUEST + extra, PATH)
    assert warnings == []
    return config


def guest_error(extra: str, base: str = GUEST) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_domain_config(base + extra, PATH)
    return info.value


# --- defaults and the reference example ----------------------------------------------

def test_minimal_guest_takes_xl_defaults():
    assert guest() == DomainConfig(
        name="g1", kernel="/etc/paravisor/k.elf", path=PATH, type="pv", memory=32,
        maxmem=32, vcpus=1, maxvcpus=1, cpus=None, cpu_weight=256, cap=0, cmdline=None,
        on_poweroff="destroy", on_reboot="restart", on_crash="destroy",
        on_watchdog="destroy", disk=(), vif=(), max_grant_frames=64,
        max_maptrack_frames=1024, max_event_channels=1023, seed=None)


def test_reference_example_from_xen_notes():
    config, warnings = parse_domain_config(
        'name   = "guest1"\ntype   = "pv"\nkernel = "/boot/mini-os.gz"\nmemory = 32\n'
        'vcpus  = 1\ncpu_weight = 256\ncap    = 0\n'
        "disk   = [ '/srv/guest1.img,raw,xvda,rw' ]\n"
        "vif    = [ 'mac=00:16:3e:00:00:01,bridge=xenbr0' ]\n"
        'on_crash = "destroy"\n', PATH)
    assert warnings == []
    assert config.kernel == "/boot/mini-os.gz"
    assert [(d.target, d.vdev, d.devid, d.readonly) for d in config.disk] == [
        ("/srv/guest1.img", "xvda", 51712, False)]
    assert [(v.devid, v.mac, v.bridge) for v in config.vif] == [
        (0, "00:16:3e:00:00:01", "xenbr0")]


def test_maxmem_and_maxvcpus_default_to_memory_and_vcpus():
    config = guest("memory = 64\nvcpus = 4\n")
    assert (config.maxmem, config.maxvcpus) == (64, 4)


def test_vifs_get_devids_in_list_order_and_distinct_default_macs():
    config = guest("vif = [ '', 'bridge=br1', '' ]\n")
    assert [v.devid for v in config.vif] == [0, 1, 2]
    assert len({v.mac for v in config.vif}) == 3


# --- ranges and types ----------------------------------------------------------------

@pytest.mark.parametrize("setting, line_col, words", [
    ("memory = 0", (3, 10), "'memory' must be between 1 and 4096 MiB, not 0"),
    ("memory = 64\nmaxmem = 32", (4, 10), "'maxmem' (32 MiB) must be at least 'memory'"),
    ("vcpus = 33", (3, 9), "'vcpus' must be between 1 and 32"),
    ("vcpus = 2\nmaxvcpus = 1", (4, 12), "'maxvcpus' (1) must be at least 'vcpus' (2)"),
    ("cpu_weight = 0", (3, 14), "'cpu_weight' must be between 1 and 65535"),
    ("cpu_weight = 65536", (3, 14), "between 1 and 65535"),
    ("cap = 101", (3, 7), "'cap' must be between 0 and 100 percent of a pCPU"),
    ("cap = -1", (3, 7), "'cap' must be between 0 and 100"),
    ("max_grant_frames = 0", (3, 20), "'max_grant_frames' must be between 1"),
    ("max_event_channels = 0", (3, 22), "'max_event_channels' must be between 1"),
    ("seed = -3", (3, 8), "'seed' must be between 0"),
    ('memory = "64"', (3, 10), "'memory' must be a number, not a string"),
    ("kernel2 = 1", (3, 1), "unknown key 'kernel2' (did you mean 'kernel'?)"),
    ("on_crash = 5", (3, 12), "'on_crash' must be a quoted string, not a number"),
    ("disk = 'x.img,,xvda'", (3, 8), "'disk' must be a list of quoted strings"),
    ("disk = [ 5 ]", (3, 10), "items of 'disk' must be quoted strings, not a number"),
    ("cpus = [ [1] ]", (3, 10), "items of 'cpus' must be CPU lists"),
])
def test_range_and_type_errors_point_at_the_value(setting, line_col, words):
    err = guest_error(setting + "\n")
    assert words in err.message
    assert (err.line, err.col) == line_col


def test_cap_upper_bound_scales_with_maxvcpus():
    assert guest("maxvcpus = 4\ncap = 400\n").cap == 400
    assert "between 0 and 400" in guest_error("maxvcpus = 4\ncap = 401\n").message


def test_missing_name_and_missing_kernel_are_file_errors():
    err = guest_error("", base='kernel = "k"\n')
    assert (err.line, str(err)) == (0, f"{PATH}: error: no 'name': every domain needs "
                                       f"name = \"NAME\"")
    assert "no 'kernel'" in guest_error("", base='name = "x"\n').message


@pytest.mark.parametrize("name, words", [
    ("bad name", "may only hold letters"), ("a/b", "may only hold letters"),
    ("", "may only hold letters"), ("x" * 65, "longer than 64"), ("42", "all digits"),
])
def test_bad_domain_names(name, words):
    err = guest_error("", base=f'name = "{name}"\nkernel = "k"\n')
    assert words in err.message
    assert (err.line, err.col) == (1, 8)


# --- xl's rules ----------------------------------------------------------------------

@pytest.mark.parametrize("setting, words", [
    ('type = "hvm"', 'type "hvm": only pv domains are supported'),
    ('type = "pvh"', "only pv domains are supported"),
    ('type = "kvm"', "unknown type"),
    ('builder = "hvm"', 'builder "hvm": only pv domains are supported'),
])
def test_only_pv_domains(setting, words):
    assert words in guest_error(setting + "\n").message


def test_builder_generic_is_pv():
    assert guest('builder = "generic"\ntype = "pv"\n').type == "pv"


@pytest.mark.parametrize("keys, cmdline", [
    ('extra = "console=hvc0"', "console=hvc0"),
    ('root = "/dev/xvda1"', "root=/dev/xvda1"),
    ('root = "/dev/xvda1"\nextra = "ro quiet"', "root=/dev/xvda1 ro quiet"),
    ('cmdline = "a b"', "a b"),
])
def test_cmdline_is_built_as_xl_builds_it(keys, cmdline):
    assert guest(keys + "\n").cmdline == cmdline


def test_cmdline_wins_over_root_and_extra_with_a_warning():
    config, warnings = parse_domain_config(
        GUEST + 'extra = "x"\ncmdline = "c"\n', PATH)
    assert config.cmdline == "c"
    assert [str(w) for w in warnings] == [
        f"{PATH}:4: warning: 'root' and 'extra' are ignored because 'cmdline' is set"]


def test_supported_event_actions():
    config = guest('on_poweroff = "preserve"\non_reboot = "destroy"\n'
                   'on_crash = "restart"\non_watchdog = "preserve"\n')
    assert (config.on_poweroff, config.on_reboot, config.on_crash,
            config.on_watchdog) == ("preserve", "destroy", "restart", "preserve")


@pytest.mark.parametrize("action", ["rename-restart", "coredump-destroy",
                                    "coredump-restart", "soft-reset"])
def test_xl_actions_paravisor_lacks_name_the_supported_ones(action):
    err = guest_error(f'on_crash = "{action}"\n')
    assert err.message == (f'on_crash = "{action}" is not supported by paravisor '
                           f"(supported: destroy, restart, preserve)")


def test_unknown_action_is_an_error():
    assert "'explode' is not a valid on_reboot" in guest_error(
        'on_reboot = "explode"\n').message


def test_cpus_string_is_hard_affinity_for_every_vcpu():
    config = guest('vcpus = 2\ncpus = "0-3,^1"\n')
    assert config.cpus == parse_cpulist("0-3,^1")
    assert config.hard_affinity(1, nr_pcpus=8) == {0, 2, 3}
    assert guest('cpus = "all,^0"\n').hard_affinity(0, nr_pcpus=3) == {1, 2}
    assert guest("cpus = 2\n").hard_affinity(0, nr_pcpus=4) == {2}


def test_cpus_list_pins_vcpus_one_by_one():
    config = guest('vcpus = 3\ncpus = ["2", "3-8,^5"]\n')
    assert config.hard_affinity(0, nr_pcpus=16) == {2}
    assert config.hard_affinity(1, nr_pcpus=16) == {3, 4, 6, 7, 8}
    assert config.hard_affinity(2, nr_pcpus=4) == {0, 1, 2, 3}   # unlisted: unpinned


def test_unpinned_domain_may_use_every_pcpu():
    assert guest().hard_affinity(0, nr_pcpus=2) == {0, 1}


@pytest.mark.parametrize("setting, words", [
    ('cpus = "0-"', "'0-' is not a CPU list item"),
    ('cpus = "3-1"', "range runs backwards"),
    ('cpus = "node:1"', "NUMA node lists are not supported"),
    ('cpus = ""', "empty CPU list"),
    ('cpus = "5000"', "CPU numbers go up to 4095"),
    ('cpus = "' + "9" * 5000 + '"', "CPU numbers go up to 4095"),
    ('cpus = ["1", "2"]', "'cpus' lists 2 vCPUs but the domain has at most 1"),
    ("cpus = []", "'cpus' is an empty list"),
])
def test_bad_cpu_lists(setting, words):
    assert words in guest_error(setting + "\n").message


def test_two_disks_with_the_same_device_number_clash():
    err = guest_error("disk = [ 'a,,xvda', 'b,,d0p0' ]\n")
    assert err.message == "disk: vdev 'd0p0' is the same device as 'xvda' (devid 51712)"


def test_device_spec_errors_point_inside_the_string():
    err = guest_error("disk = [ 'a.img,raw,xvda,bad' ]\n")
    assert (err.line, err.col) == (3, 10 + 1 + len("a.img,raw,xvda,"))
    assert "unknown disk access 'bad'" in err.message
    escaped = guest_error('disk = [ "a\\\\b,raw,xvda,bad" ]\n')
    assert (escaped.line, escaped.col) == (3, 10)   # escapes: point at the quote


# --- paths, warnings, suggestions ----------------------------------------------------

def test_relative_paths_resolve_against_the_config_directory():
    config = guest("disk = [ '../img/d.img,,xvda' ]\nvif = [ 'pcap=n.pcap' ]\n")
    assert config.kernel == "/etc/paravisor/k.elf"
    assert config.disk[0].target == "/etc/img/d.img"
    assert config.vif[0].pcap == "/etc/paravisor/n.pcap"
    absolute = parse_domain_config('name = "a"\nkernel = "/boot/k"\n', PATH)[0]
    assert absolute.kernel == "/boot/k"


def test_unsupported_keys_warn_with_file_and_line_and_are_ignored():
    config, warnings = parse_domain_config(
        GUEST + 'bootloader = "pygrub"\nvnc = 1\npci = [ "01:00.0" ]\n', PATH)
    assert config == guest()
    assert [str(w) for w in warnings] == [
        f"{PATH}:3: warning: key 'bootloader' is not supported by paravisor and is ignored",
        f"{PATH}:4: warning: key 'vnc' is not supported by paravisor and is ignored",
        f"{PATH}:5: warning: key 'pci' is not supported by paravisor and is ignored"]


def test_device_warnings_carry_the_line_of_the_item():
    _, warnings = parse_domain_config(
        GUEST + "disk = [\n 'a,,xvda',\n 'b,,xvdb,discard' ]\n", PATH)
    assert [(w.line, w.message) for w in warnings] == [
        (5, "disk flag 'discard' is not supported by paravisor and is ignored")]


@pytest.mark.parametrize("typo, suggestion", [
    ("memroy", "memory"), ("on_crahs", "on_crash"), ("vpcus", "vcpus"),
    ("bootloder", "bootloader"), ("cpu_wieght", "cpu_weight"),
])
def test_unknown_keys_suggest_the_closest_known_key(typo, suggestion):
    err = guest_error(f"{typo} = 1\n")
    assert err.message == f"unknown key '{typo}' (did you mean '{suggestion}'?)"
    assert (err.line, err.col) == (3, 1)


def test_unknown_key_with_nothing_close_has_no_suggestion():
    assert guest_error("zzzzqqq = 1\n").message == "unknown key 'zzzzqqq'"


def test_host_keys_in_a_guest_config_say_where_they_belong():
    err = guest_error('sched = "rr"\n')
    assert err.message == ("key 'sched' is a host setting: it belongs in the file given "
                           "to 'paravisor launch'")


# --- the host config -----------------------------------------------------------------

HOST_PATH = "/srv/pv/dom0.cfg"


def test_host_defaults_and_builtin_dom0():
    host, warnings = parse_host_config("", HOST_PATH)
    assert warnings == []
    assert (host.dom0.name, host.dom0.kernel, host.dom0.memory) == ("Domain-0", None, 32)
    assert (host.guests, host.sched, host.pcpus, host.engine) == ((), "credit", 1, "jit")
    assert (host.tslice_ms, host.ratelimit_us, host.console_log) == (30, 1000, None)
    assert host.path == HOST_PATH


def test_host_settings_and_guest_paths():
    host = parse_host_config(
        'kernel = "dom0.s"\nmemory = 64\nguests = [ "g1.cfg", "/abs/g2.cfg" ]\n'
        'sched = "rr"\npcpus = 4\nengine = "jit"\ntslice_ms = 10\nratelimit_us = 0\n'
        'console_log = "logs"\n', HOST_PATH)[0]
    assert (host.dom0.kernel, host.dom0.memory) == ("/srv/pv/dom0.s", 64)
    assert host.guests == ("/srv/pv/g1.cfg", "/abs/g2.cfg")
    assert (host.sched, host.pcpus, host.engine) == ("rr", 4, "jit")
    assert (host.tslice_ms, host.ratelimit_us, host.console_log) == (10, 0, "/srv/pv/logs")


@pytest.mark.parametrize("text, words", [
    ('sched = "credit2"', "'credit2' is not a valid sched (supported: credit, rr)"),
    ('engine = "qemu"', "'qemu' is not a valid engine (supported: jit, interp)"),
    ("pcpus = 0", "'pcpus' must be between 1 and 256"),
    ("tslice_ms = 1001", "'tslice_ms' must be between 1 and 1000 ms"),
    ("ratelimit_us = 50", "'ratelimit_us' must be 0 (off) or at least 100 us"),
    ("ratelimit_us = 500001", "'ratelimit_us' must be between 0 and 500000 us"),
    ("tslice_ms = 1\nratelimit_us = 1001", "'ratelimit_us' (1001 us) must not exceed"),
    ('guests = [ "" ]', "'guests' holds an empty path"),
    ('guests = "g.cfg"', "'guests' must be a list"),
    ('console_log = ""', "'console_log' is an empty path"),
    ("pcpu = 2", "unknown key 'pcpu' (did you mean 'pcpus'?)"),
])
def test_host_errors(text, words):
    with pytest.raises(ConfigError) as info:
        parse_host_config(text + "\n", HOST_PATH)
    assert words in info.value.message


# --- xl's rules for repeated keys, and overrides -------------------------------------

def test_a_key_set_again_keeps_the_last_value_and_warns_naming_both_lines():
    config, warnings = parse_domain_config(GUEST + "memory = 8\nvcpus = 2\nmemory = 16\n",
                                           PATH)
    assert config.memory == 16
    assert [str(w) for w in warnings] == [
        f"{PATH}:5: warning: 'memory' is set again (first at line 3): the value at line 5 "
        f"is used, as xl does"]


def test_overrides_are_laid_over_the_file_and_their_errors_name_the_command_line(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    overrides = [parse_override(text)[1] for text in
                 ("memory=64", "kernel=k/other.elf", "disk+=['d.img,raw,xvdb,w']", "vnc=1")]
    config, warnings = parse_domain_config(GUEST + "disk = ['/x.img,raw,xvda,w']\n", PATH,
                                           overrides)
    assert config.memory == 64
    assert config.kernel == str(tmp_path / "k" / "other.elf")     # from the current dir
    assert [d.target for d in config.disk] == ["/x.img", str(tmp_path / "d.img")]
    assert [str(w) for w in warnings] == [
        "command line: warning: vnc=1: key 'vnc' is not supported by paravisor and is "
        "ignored"]
    with pytest.raises(ConfigError) as info:
        parse_domain_config(GUEST, PATH, [parse_override("guests=['a.cfg']")[1]])
    assert (info.value.path, info.value.col) == (COMMAND_LINE, 1)
    assert "key 'guests' is a host setting" in info.value.message


# --- files ---------------------------------------------------------------------------

def test_load_reads_files_and_resolves_against_their_directory(tmp_path):
    cfg = tmp_path / "sub" / "g.cfg"
    cfg.parent.mkdir()
    cfg.write_text('name = "g"\nkernel = "k.elf"\nvnc = 1\n')
    (tmp_path / "sub" / "k.elf").write_bytes(b"")
    config, warnings = load_domain_config(str(cfg))
    assert config.kernel == str(tmp_path / "sub" / "k.elf")
    assert [w.line for w in warnings] == [3]
    host_cfg = tmp_path / "dom0.cfg"
    host_cfg.write_text('guests = [ "sub/g.cfg" ]\n')
    assert load_host_config(str(host_cfg))[0].guests == (str(cfg),)


def test_a_missing_kernel_or_guest_config_is_an_error_at_its_line(tmp_path):
    cfg = tmp_path / "g.cfg"
    cfg.write_text('name = "g"\nmemory = 4\nkernel = "gone.s"\n')
    with pytest.raises(ConfigError) as info:
        load_domain_config(str(cfg))
    assert (info.value.path, info.value.line, info.value.col) == (str(cfg), 3, 10)
    assert info.value.message == f"kernel source {tmp_path / 'gone.s'} does not exist"
    host_cfg = tmp_path / "dom0.cfg"
    host_cfg.write_text('memory = 4\nguests = [ "g.cfg",\n  "nope.cfg" ]\n')
    with pytest.raises(ConfigError) as info:
        load_host_config(str(host_cfg))
    assert (info.value.line, info.value.col) == (3, 3)
    assert info.value.message == f"guest config {tmp_path / 'nope.cfg'} does not exist"


def test_missing_file_is_a_config_error_naming_it(tmp_path):
    missing = str(tmp_path / "nope.cfg")
    with pytest.raises(ConfigError) as info:
        load_domain_config(missing)
    assert str(info.value) == f"{missing}: error: no such config file"


def test_directory_and_binary_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_host_config(str(tmp_path))
    assert "cannot read config file" in info.value.message
    binary = tmp_path / "b.cfg"
    binary.write_bytes(b'name = "\xff"\n')
    with pytest.raises(ConfigError) as info:
        load_domain_config(str(binary))
    assert info.value.message == "not a text file (not UTF-8 at byte 8)"
