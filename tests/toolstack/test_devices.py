"""Disk specs (xl-disk-configuration(5)), vdev numbers (xen-vbd-interface(7)) and vif
specs (xl-network-configuration(5)), checked against the manuals' own examples."""

import pytest

from paravisor.toolstack.devices import (
    DeviceSpecError,
    DiskSpec,
    VifRate,
    default_mac,
    parse_disk_spec,
    parse_vif_spec,
    vdev_to_devid,
)

BASE = "/cfg"


def disk(spec: str) -> DiskSpec:
    parsed, warnings = parse_disk_spec(spec, BASE)
    assert warnings == []
    return parsed


def disk_error(spec: str) -> DeviceSpecError:
    with pytest.raises(DeviceSpecError) as info:
        parse_disk_spec(spec, BASE)
    return info.value


# --- disks: the manual's equivalent forms --------------------------------------------

@pytest.mark.parametrize("spec", [
    "/dev/vg/guest-volume,,hda",
    "/dev/vg/guest-volume,raw,hda,rw",
    "format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume",
    "raw:/dev/vg/guest-volume,hda,w",
    "  /dev/vg/guest-volume , raw , hda , rw",
    "vdev=hda,/dev/vg/guest-volume",
    ",,hda,target=/dev/vg/guest-volume",
])
def test_disk_manual_example_forms_are_equivalent(spec):
    assert disk(spec) == DiskSpec(target="/dev/vg/guest-volume", vdev="hda",
                                  devid=3 << 8, readonly=False)


def test_disk_legacy_file_prefix_form():
    parsed = disk("file:disk.img,xvda,w")
    assert parsed == DiskSpec(target="/cfg/disk.img", vdev="xvda", devid=202 << 8)


@pytest.mark.parametrize("prefix", ["phy:", "tap:aio:", "tap2:", "aio:", "ioemu:",
                                    "tapdisk:"])
def test_disk_deprecated_prefixes_are_stripped(prefix):
    assert disk(f"{prefix}/img,xvdb,r").target == "/img"


@pytest.mark.parametrize("access, readonly", [
    ("r", True), ("ro", True), ("w", False), ("rw", False), ("", False)])
def test_disk_access_values(access, readonly):
    parsed = disk(f"/img,raw,xvda,{access}")
    assert parsed.readonly is readonly
    assert parsed.access == ("ro" if readonly else "rw")


def test_disk_relative_target_resolves_against_config_dir():
    assert disk("images/../d.img,,xvda").target == "/cfg/d.img"


def test_disk_target_equals_eats_the_rest_including_commas():
    assert disk("vdev=xvda, target=/odd,name.img").target == "/odd,name.img"


def test_disk_backend_is_kept():
    assert disk("/img,,xvda,backend=Domain-0").backend == "Domain-0"


def test_disk_ignored_flags_and_parameters_warn():
    parsed, warnings = parse_disk_spec("/img,,xvda,discard,backendtype=qdisk", BASE)
    assert parsed.vdev == "xvda"
    assert warnings == [
        "disk flag 'discard' is not supported by paravisor and is ignored",
        "disk parameter 'backendtype' is not supported by paravisor and is ignored"]


@pytest.mark.parametrize("spec, words, offset", [
    ("/img,raw", "disk has no vdev", 0),
    (",,xvda", "disk has no target", 0),
    ("/img,qcow2,xvda", "disk format 'qcow2' is not supported", 5),
    ("qcow2:/img,xvda", "disk format 'qcow2' is not supported", 0),
    ("/img,foo,xvda", "unknown disk format 'foo'", 5),
    ("/img,raw,xvda,x", "unknown disk access 'x'", 14),
    ("/img,raw,xvda,rw,extra", "too many positional disk parameters at 'extra'", 17),
    ("/img,raw,xvda,format=raw", "disk parameter 'format' is given twice", 14),
    ("/img,,xvda,vdve=xvdb", "unknown disk parameter 'vdve' (did you mean 'vdev'?)", 11),
    ("/img,,hdc,cdrom", "cdrom devices are not supported", 10),
    ("/img,,hdc,devtype=cdrom", "cdrom devices are not supported", 18),
    ("raw:/root/image.iso,hdc:cdrom,ro", "cdrom devices are not supported", 24),
    ("/img,,xvda,devtype=floppy", "unknown devtype 'floppy'", 19),
    ("nbd:host:1234,xvda", "block scripts", 0),
    ("/img,,xvda,script=block-x", "block scripts are not supported", 11),
    ("weird:/img,xvda", "unknown deprecated disk prefix 'weird:'", 0),
    ("/img,,floppy0", "disk vdev 'floppy0' is not a disk name", 6),
    ("/img,,xvda,=x", "malformed disk parameter '=x'", 11),
])
def test_disk_errors_name_the_mistake_and_where(spec, words, offset):
    err = disk_error(spec)
    assert words in err.message
    assert err.offset == offset


def test_disk_name_with_colon_and_letter_is_a_target_not_a_prefix():
    assert disk("disk:1.img,,xvda").target == "/cfg/disk:1.img"


def test_disk_to_spec_parses_back_equal():
    original = disk("ro.img,,xvdc3,r,backend=dd")
    assert disk(original.to_spec()) == original


# --- vdev numbers (xen-vbd-interface(7)) ---------------------------------------------

@pytest.mark.parametrize("vdev, devid", [
    ("xvda", 202 << 8), ("d0", 202 << 8), ("d0p0", 202 << 8),
    ("xvdb2", 202 << 8 | 1 << 4 | 2), ("d1p2", 202 << 8 | 1 << 4 | 2),
    ("xvdp15", 202 << 8 | 15 << 4 | 15),
    ("xvdq", 1 << 28 | 16 << 8), ("xvda16", 1 << 28 | 16),
    ("xvdtq37", 1 << 28 | 536 << 8 | 37), ("d536p37", 1 << 28 | 536 << 8 | 37),
    ("xvdaa", 1 << 28 | 26 << 8),
    ("sdb3", 8 << 8 | 1 << 4 | 3), ("sda", 8 << 8),
    ("hda", 3 << 8), ("hdb1", 3 << 8 | 1 << 6 | 1),
    ("hdc2", 22 << 8 | 2), ("hdd63", 22 << 8 | 1 << 6 | 63),
])
def test_vdev_devids_follow_xen_vbd_interface(vdev, devid):
    assert vdev_to_devid(vdev) == devid


@pytest.mark.parametrize("vdev", [
    "xvd", "xvda0", "xvda01", "xvda256", "sdq", "sda16", "hde", "hda64", "xvdA",
    "d1048576", "xvdaaaaaaa", "d0p256", "vda", "",
])
def test_bad_vdevs_are_rejected(vdev):
    with pytest.raises(ValueError):
        vdev_to_devid(vdev)


# --- vifs ----------------------------------------------------------------------------

def vif(spec: str, devid: int = 0):
    parsed, warnings = parse_vif_spec(spec, devid, "guest1", BASE)
    assert warnings == []
    return parsed


def vif_error(spec: str) -> DeviceSpecError:
    with pytest.raises(DeviceSpecError) as info:
        parse_vif_spec(spec, 0, "guest1", BASE)
    return info.value


def test_vif_manual_examples():
    parsed = vif("mac=00:16:3E:74:3d:76,model=rtl8139,bridge=xenbr0")
    assert (parsed.mac, parsed.model, parsed.bridge) == ("00:16:3e:74:3d:76", "rtl8139",
                                                         "xenbr0")
    assert vif("mac=00:16:3e:5f:48:e4,bridge=xenbr1", devid=1).bridge == "xenbr1"


def test_vif_empty_spec_takes_defaults():
    parsed = vif("", devid=3)
    assert parsed.devid == 3
    assert parsed.bridge == "xenbr0"
    assert parsed.mac == default_mac("guest1", 3)


def test_default_mac_is_deterministic_in_xens_oui():
    mac = default_mac("guest1", 0)
    assert mac == default_mac("guest1", 0)
    assert mac.startswith("00:16:3e:")
    assert int(mac.split(":")[3], 16) < 0x80   # xl clears the top bit of octet 3
    assert default_mac("guest1", 1) != mac
    assert default_mac("guest2", 0) != mac


@pytest.mark.parametrize("rate, bytes_per_sec, interval_us, per_interval", [
    ("10Mb/s", 1_250_000, 50_000, 62_500),
    ("250KB/s", 250_000, 50_000, 12_500),
    ("1MB/s@20ms", 1_000_000, 20_000, 20_000),   # the manual: 20,000 bytes per 20 ms
    ("8b/s@1s", 1, 1_000_000, 1),
    ("3GB/s@500us", 3_000_000_000, 500, 1_500_000),
])
def test_vif_rates_from_the_manual(rate, bytes_per_sec, interval_us, per_interval):
    parsed = vif(f"rate={rate}").rate
    assert parsed == VifRate(bytes_per_sec, interval_us)
    assert parsed.bytes_per_interval == per_interval


def test_vif_all_supported_keys():
    parsed = vif("ip=10.0.0.2 10.0.0.3, vifname=vif1.0, mtu=9000, script=vif-route, "
                 "backend=Domain-0, type=ioemu, pcap=cap/out.pcap")
    assert parsed.ip == "10.0.0.2 10.0.0.3"
    assert (parsed.vifname, parsed.mtu, parsed.script) == ("vif1.0", 9000, "vif-route")
    assert (parsed.backend, parsed.type, parsed.pcap) == ("Domain-0", "ioemu",
                                                          "/cfg/cap/out.pcap")


def test_vif_ignored_keys_warn():
    parsed, warnings = parse_vif_spec("bridge=br0,trusted,gatewaydev=eth0", 0, "g", BASE)
    assert parsed.bridge == "br0"
    assert warnings == [
        "vif key 'trusted' is not supported by paravisor and is ignored",
        "vif key 'gatewaydev' is not supported by paravisor and is ignored"]


@pytest.mark.parametrize("spec, words, offset", [
    ("mac=00:16:3e:00:00", "is not a MAC address", 4),
    ("mac=01:16:3e:00:00:00", "multicast", 4),
    ("bridge=xenbr0,brigde=x", "unknown vif key 'brigde' (did you mean 'bridge'?)", 14),
    ("bridge", "vif key 'bridge' needs a value", 0),
    ("bridge=a,bridge=b", "vif key 'bridge' is given twice", 9),
    ("bridge=this-name-is-too-long", "is not an interface name", 7),
    ("vifname=a b", "is not an interface name", 8),
    ("ip=10.0.0.300", "vif ip:", 3),
    ("ip=", "no address given", 3),
    ("mtu=20", "is not an MTU", 4),
    ("rate=10Mbit", "is not a rate", 5),
    ("rate=10Mb/s@20", "is not an interval", 5),
    ("rate=0MB/s", "must be positive", 5),
    ("rate=99999999999B/s", "must fit in 32 bits", 5),
    ("type=tap", "is not a vif type", 5),
    ("model=", "empty value", 6),
])
def test_vif_errors_name_the_mistake_and_where(spec, words, offset):
    err = vif_error(spec)
    assert words in err.message
    assert err.offset == offset


def test_vif_to_spec_parses_back_equal():
    original = vif("rate=4294967295Kb/s@7us,mtu=1400,ip=1.2.3.4,pcap=/p,type=ioemu,"
                   "model=e1000,script=s,backend=b,vifname=v")
    assert vif(original.to_spec()) == original
