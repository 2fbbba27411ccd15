"""The toolstack writes the vbd nodes of every `disk` (as libxl lays them out) and the
block backend it starts picks them up; a missing image closes the device with an error."""

import pytest

from paravisor.abi.consts import XenbusState
from paravisor.services.xenstore.tree import XenStoreError
from paravisor.testing.toolstack import create_guest
from paravisor.toolstack.devices import DiskSpec


def test_vbd_nodes_and_permissions_follow_libxl(tmp_path):
    image = tmp_path / "d.img"
    image.write_bytes(bytes(64 * 1024))
    disk = DiskSpec(target=str(image), vdev="xvda", devid=51712, readonly=True)
    _hv, toolstack, dom = create_guest(tmp_path, disk=(disk,))
    h, d = toolstack.xenstore.dom0_handle, dom.domid
    back, front = f"/local/domain/0/backend/vbd/{d}/51712", f"/local/domain/{d}/device/vbd/51712"
    assert h.get_perms(back) == ["n0", f"r{d}"]
    assert h.get_perms(front) == [f"n{d}", "r0"]
    assert h.read_str(f"{back}/frontend") == front
    assert h.read_str(f"{back}/frontend-id") == str(d)
    assert h.read_str(f"{back}/params") == str(image)
    assert h.read_str(f"{back}/mode") == "r"
    assert h.read_str(f"{back}/type") == "file"
    assert h.read_str(f"{front}/backend") == back
    assert h.read_str(f"{front}/backend-id") == "0"
    assert h.read_str(f"{front}/virtual-device") == "51712"
    assert h.read_str(f"{front}/device-type") == "disk"
    assert h.read_str(f"{front}/state") == str(int(XenbusState.XenbusStateInitialising))
    # blkback found the device, opened the image and waits for the frontend.
    assert h.read_str(f"{back}/state") == str(int(XenbusState.XenbusStateInitWait))
    assert h.read_str(f"{back}/sectors") == "128"
    assert (d, 51712) in toolstack.blkback.devices


def test_a_guest_may_write_its_frontend_but_not_the_backend(tmp_path):
    image = tmp_path / "d.img"
    image.write_bytes(bytes(4096))
    disk = DiskSpec(target=str(image), vdev="xvdb", devid=51728)
    _hv, toolstack, dom = create_guest(tmp_path, disk=(disk,))
    guest = toolstack.xenstore.handle(dom.domid)
    guest.write(f"/local/domain/{dom.domid}/device/vbd/51728/ring-ref", "8")
    assert guest.read_str(f"/local/domain/0/backend/vbd/{dom.domid}/51728/mode") == "w"
    with pytest.raises(XenStoreError) as err:
        guest.write(f"/local/domain/0/backend/vbd/{dom.domid}/51728/params", "/etc/passwd")
    assert err.value.errno == "EACCES"


def test_a_missing_image_closes_the_device_with_an_error(tmp_path):
    disk = DiskSpec(target=str(tmp_path / "absent.img"), vdev="xvda", devid=51712)
    _hv, toolstack, dom = create_guest(tmp_path, disk=(disk,))
    h = toolstack.xenstore.dom0_handle
    back = f"/local/domain/0/backend/vbd/{dom.domid}/51712"
    assert h.read_str(f"{back}/state") == str(int(XenbusState.XenbusStateClosed))
    assert "absent.img" in h.read_str(f"{back}/hotplug-error")
    assert h.read_str(f"{back}/hotplug-status") == "error"
    assert not (tmp_path / "absent.img").exists()       # never created


def test_destroying_the_domain_removes_its_backend(tmp_path):
    image = tmp_path / "d.img"
    image.write_bytes(bytes(4096))
    disk = DiskSpec(target=str(image), vdev="xvda", devid=51712)
    hv, toolstack, dom = create_guest(tmp_path, disk=(disk,))
    toolstack.destroy_all()
    assert not toolstack.blkback.devices
    assert not toolstack.xenstore.dom0_handle.exists(f"/local/domain/0/backend/vbd/{dom.domid}")
