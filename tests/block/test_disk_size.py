"""paravisor's `size=` disk parameter: parsed with K/M/G suffixes, errors naming the
config file and pointing at the text, and the image created (sparse, zero-filled) at
domain creation only when it is missing."""

import os
from pathlib import Path

import pytest

from paravisor.errors import UserError
from paravisor.hypervisor.builder import BuildError
from paravisor.toolstack.config import load_domain_config
from paravisor.toolstack.devices import DeviceSpecError, parse_disk_spec
from paravisor.toolstack.domains import create_disk_image

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "size"), [
    ("size=4M", 4 << 20), ("size=512", 512), ("size=8K", 8192), ("size=1G", 1 << 30),
    ("size=2m", 2 << 20), ("size=2048G", 2 << 40)])
def test_sizes_with_suffixes(text, size):
    disk, warnings = parse_disk_spec(f"file:disk.img,xvda,w,{text}", "/base")
    assert (disk.size, disk.target, warnings) == (size, "/base/disk.img", [])


def test_without_size_there_is_none_and_the_spec_round_trips():
    assert parse_disk_spec("file:disk.img,xvda,w", "/b")[0].size is None
    disk = parse_disk_spec("vdev=xvdb, size=1M, target=/x/d.img", "/b")[0]
    assert disk.to_spec() == ("format=raw, vdev=xvdb, access=rw, size=1048576, "
                              "target=/x/d.img")
    assert parse_disk_spec(disk.to_spec(), "/b")[0] == disk


@pytest.mark.parametrize(("text", "message"), [
    ("size=", "is not a number"), ("size=4T", "is not a number"),
    ("size=-1M", "is not a number"), ("size=0", "positive multiple of 512"),
    ("size=1000", "positive multiple of 512"), ("size=4097G", "at most 2048G")])
def test_bad_sizes_are_errors_at_their_offset(text, message):
    spec = f"file:disk.img,xvda,w,{text}"
    with pytest.raises(DeviceSpecError, match=message) as info:
        parse_disk_spec(spec, "/b")
    assert info.value.offset == spec.index("size=")


def test_a_bad_size_in_a_config_names_the_file_and_line(tmp_path):
    cfg = tmp_path / "guest.cfg"
    cfg.write_text('name = "g"\nkernel = "k.s"\ndisk = ["file:d.img,xvda,w,size=lots"]\n')
    with pytest.raises(UserError) as info:
        load_domain_config(str(cfg))
    assert str(cfg) in str(info.value) and ":3:" in str(info.value)
    assert "size 'lots'" in str(info.value)


def config_with_disk(tmp_path: Path, spec: str):
    cfg = tmp_path / "guest.cfg"
    cfg.write_text(f'name = "g"\nkernel = "k.s"\ndisk = ["{spec}"]\n')
    (tmp_path / "k.s").write_text("")   # a config's kernel must exist when it is loaded
    config, _ = load_domain_config(str(cfg))
    return config, config.disk[0]


def test_a_missing_image_is_created_sparse_and_zeroed(tmp_path):
    config, disk = config_with_disk(tmp_path, "file:new.img,xvda,w,size=64K")
    create_disk_image(config, disk)
    image = tmp_path / "new.img"
    assert image.read_bytes() == bytes(64 << 10)
    assert os.stat(image).st_blocks * 512 < 64 << 10      # sparse: no data blocks


def test_an_existing_image_or_no_size_leaves_the_file_alone(tmp_path):
    (tmp_path / "old.img").write_bytes(b"keep")
    config, disk = config_with_disk(tmp_path, "file:old.img,xvda,w,size=1M")
    create_disk_image(config, disk)
    assert (tmp_path / "old.img").read_bytes() == b"keep"
    config, disk = config_with_disk(tmp_path, "file:none.img,xvda,w")
    create_disk_image(config, disk)
    assert not (tmp_path / "none.img").exists()


def test_an_image_that_cannot_be_created_is_an_error_naming_the_config(tmp_path):
    config, disk = config_with_disk(tmp_path, "file:no/such/dir/d.img,xvda,w,size=1M")
    with pytest.raises(BuildError) as info:
        create_disk_image(config, disk)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'guest.cfg'}: cannot create disk image ")
    assert "No such file or directory" in message


def test_the_example_guest_asks_for_a_1m_image_next_to_its_config():
    config, _ = load_domain_config(str(ROOT / "examples" / "disk-guest.cfg"))
    (disk,) = config.disk
    assert disk.target == str(ROOT / "examples" / "disk-demo.img")
    assert (disk.size, disk.vdev, disk.readonly) == (1 << 20, "xvda", False)
    assert "examples/*.img" in (ROOT / ".gitignore").read_text().splitlines()
