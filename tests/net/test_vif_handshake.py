"""vif nodes as libxl lays them out (written by the toolstack for every `vif`), the
xenbus handshake with a Python netfront, teardown, and the host's `bridges` setting."""

import pytest

from paravisor.abi.consts import XenbusState
from paravisor.services.xenstore.tree import XenStoreError
from paravisor.testing.netfront import BROADCAST, NetBed, ether_frame
from paravisor.testing.toolstack import create_guest
from paravisor.toolstack.config import parse_host_config
from paravisor.toolstack.devices import VifSpec
from paravisor.toolstack.xlcfg import ConfigError

S = XenbusState


def test_vif_nodes_and_permissions_follow_libxl(tmp_path):
    vif = VifSpec(devid=0, mac="00:16:3e:01:02:03", bridge="br0", ip="10.0.0.2")
    hv, toolstack, dom = create_guest(tmp_path, vif=(vif,))
    h, d = toolstack.xenstore.dom0_handle, dom.domid
    back, front = f"/local/domain/0/backend/vif/{d}/0", f"/local/domain/{d}/device/vif/0"
    assert h.get_perms(back) == ["n0", f"r{d}"]
    assert h.get_perms(front) == [f"n{d}", "r0"]
    expected_back = {"frontend": front, "frontend-id": str(d), "online": "1",
                     "script": "vif-bridge", "mac": "00:16:3e:01:02:03", "bridge": "br0",
                     "handle": "0", "type": "vif", "ip": "10.0.0.2",
                     "feature-rx-copy": "1", "feature-rx-flip": "0", "feature-sg": "1",
                     "state": str(int(S.XenbusStateInitWait))}
    for key, value in expected_back.items():
        assert h.read_str(f"{back}/{key}") == value, key
    expected_front = {"backend": back, "backend-id": "0", "handle": "0",
                      "mac": "00:16:3e:01:02:03", "state": str(int(S.XenbusStateInitialising))}
    for key, value in expected_front.items():
        assert h.read_str(f"{front}/{key}") == value, key
    assert (d, 0) in toolstack.netback.devices
    guest = toolstack.xenstore.handle(d)
    with pytest.raises(XenStoreError) as err:
        guest.write(f"{back}/bridge", "other")
    assert err.value.errno == "EACCES"
    hv.destroy(dom)
    assert not h.exists(f"/local/domain/0/backend/vif/{d}")
    assert toolstack.netback.devices == {}


def test_handshake_connects_and_closes(tmp_path):
    bed = NetBed(nr_guests=1)
    front = bed.vif(bed.guests[0], bridge="br0")
    vif = bed.netback.devices[(front.domid, 0)]
    assert front.backend_state == str(int(S.XenbusStateConnected))
    assert vif.tx is not None and vif in vif.bridge.ports
    front.set_state(S.XenbusStateClosing)
    assert front.backend_state == str(int(S.XenbusStateClosing))
    front.set_state(S.XenbusStateClosed)
    assert front.backend_state == str(int(S.XenbusStateClosed))
    assert vif.tx is None and vif not in vif.bridge.ports and vif.port is None


def test_a_frontend_without_rx_copy_is_refused():
    bed = NetBed(nr_guests=1)
    front = bed.vif(bed.guests[0], connect=False)
    front.connect(rx_copy=False)
    assert front.backend_state == str(int(S.XenbusStateClosed))
    assert "rx-copy" in bed.backend(front.domid, 0, "hotplug-error")


def test_bogus_ring_refs_fail_the_device_not_the_daemon():
    bed = NetBed(nr_guests=2)
    front = bed.vif(bed.guests[0], connect=False)
    front.tx_ref = 4000                                  # never granted
    front.connect()
    assert front.backend_state == str(int(S.XenbusStateClosed))
    other = bed.vif(bed.guests[1])                       # the daemon still serves others
    assert other.backend_state == str(int(S.XenbusStateConnected))
    assert other.send(ether_frame(BROADCAST, other.mac, b"still here")) == [0]


def test_host_bridges_setting_parses_and_round_trips(tmp_path):
    path = str(tmp_path / "dom0.cfg")
    host, _ = parse_host_config("bridges = ['br0,pcap=br0.pcap', "
                                "'br1,uplink=127.0.0.1:5555@5556']\n", path)
    assert [b.name for b in host.bridges] == ["br0", "br1"]
    assert host.bridges[0].pcap == str(tmp_path / "br0.pcap")
    assert host.bridges[1].uplink == ("127.0.0.1", 5555, 5556)
    assert parse_host_config(host.to_xl(), path)[0] == host


@pytest.mark.parametrize("text, message", [
    ("bridges = ['br0,pcap']", "needs a value"),
    ("bridges = ['br0,uplink=localhost:99999@1']", "HOST:PORT@LOCALPORT"),
    ("bridges = ['br0', 'br0']", "given twice"),
    ("bridges = ['br0,mtu=9000']", "unknown bridge key 'mtu'"),
])
def test_bad_bridges_settings_name_file_and_line(tmp_path, text, message):
    path = str(tmp_path / "dom0.cfg")
    with pytest.raises(ConfigError) as err:
        parse_host_config(f"pcpus = 1\n{text}\n", path)
    assert message in str(err.value) and f"{path}:2:" in str(err.value)
