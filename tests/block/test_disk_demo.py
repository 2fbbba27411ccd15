"""End to end: guest_os/disk_demo.c, a C guest using the driver library's blkfront,
launched with dom0, XenStore and blkback through `paravisor launch`'s machinery.  The
console, the exit status and the image file on the host are all checked."""

import io
import subprocess
import sys
from pathlib import Path

import pytest

from paravisor.toolstack.launch import launch

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "guest_os" / "disk_demo.c"
DOM0 = ROOT / "guest_os" / "dom0.s"
SECTOR = 512


def write_configs(folder: Path, disk: str) -> Path:
    """A host config with dom0 and the demo guest whose disk spec is `disk`."""
    (folder / "guest.cfg").write_text(
        f'name = "disk-guest"\nkernel = "{DEMO}"\nmemory = 8\ndisk = ["{disk}"]\n')
    host = folder / "host.cfg"
    host.write_text(f'name = "Domain-0"\nkernel = "{DOM0}"\nmemory = 8\n'
                    'guests = ["guest.cfg"]\n')
    return host


def run(host: Path, engine: str = "interp") -> tuple[int, str]:
    out = io.StringIO()
    status = launch(str(host), engine=engine, stream=out, max_seconds=30, colour=False)
    return status, out.getvalue()


def expected_sector(s: int) -> bytes:
    """What disk_demo.c writes into sector s."""
    data = bytearray((s * 7 + i) & 0xFF for i in range(SECTOR))
    text = f"disk-demo sector {s}".encode() + b"\0"
    data[:len(text)] = text
    return bytes(data)


@pytest.mark.parametrize("engine", ["interp", "jit"])
def test_demo_writes_flushes_reads_back_discards_and_closes(tmp_path, engine):
    host = write_configs(tmp_path, "file:demo.img,xvda,w,size=1M")
    status, console = run(host, engine)
    assert status == 0, console
    for line in ("device/vbd/51712: 2048 sectors of 512 bytes, rw, flush yes, discard yes",
                 "wrote sectors 0..99 (11 + 2 pages in 2 requests)", "flushed",
                 "read back 100 sectors: they match",
                 "discarded sectors 96..99; they read as zeros",
                 "device closed; all OK"):
        assert f"disk-guest | disk-demo: {line}\n" in console
    assert "disk-guest (domain 1): poweroff -> destroy" in console   # exit code 0
    image = (tmp_path / "demo.img").read_bytes()
    assert len(image) == 1 << 20
    for s in range(96):
        assert image[s * SECTOR:(s + 1) * SECTOR] == expected_sector(s), f"sector {s}"
    assert image[96 * SECTOR:] == bytes(len(image) - 96 * SECTOR)


def test_an_existing_image_is_used_as_it_is_despite_size(tmp_path):
    (tmp_path / "demo.img").write_bytes(b"\xee" * (2 << 20))
    status, console = run(write_configs(tmp_path, "file:demo.img,xvda,w,size=1M"))
    assert status == 0, console
    assert "4096 sectors of 512 bytes" in console
    image = (tmp_path / "demo.img").read_bytes()
    assert len(image) == 2 << 20 and image[100 * SECTOR:] == b"\xee" * ((2 << 20) - 51200)
    assert image[:SECTOR] == expected_sector(0)


def test_a_read_only_disk_refuses_the_write_and_the_guest_says_so(tmp_path):
    original = bytes(range(256)) * (4096 * 2)            # 2 MiB of a known pattern
    (tmp_path / "ro.img").write_bytes(original)
    status, console = run(write_configs(tmp_path, "file:ro.img,xvda,r"))
    assert status == 0, console
    assert "4096 sectors of 512 bytes, ro" in console
    assert "disk-demo: write to the read-only disk: error -30\n" in console     # -EROFS
    assert "disk-demo: read-only disk OK\n" in console
    assert "disk-guest (domain 1): poweroff -> destroy" in console
    assert (tmp_path / "ro.img").read_bytes() == original


def test_a_missing_image_without_size_stays_an_error_the_guest_reports(tmp_path):
    status, console = run(write_configs(tmp_path, "file:absent.img,xvda,w"))
    assert not (tmp_path / "absent.img").exists()
    assert "blkfront: device/vbd/51712: " in console          # blkback's hotplug-error
    assert "disk-demo: connecting the disk failed: error -19\n" in console   # -ENODEV
    assert "poweroff (exit code 2)" in console
    assert status == 1                                         # a guest exited non-zero


def test_the_example_configs_run_from_the_command_line(tmp_path):
    # The checked-in examples, copied so the image lands in tmp_path, not the checkout.
    for name in ("disk-demo.cfg", "disk-guest.cfg"):
        text = (ROOT / "examples" / name).read_text()
        text = text.replace('"../guest_os/', f'"{ROOT}/guest_os/')
        (tmp_path / name).write_text(text)
    # -P: the installed paravisor, not the checkout (which lacks paravisor.toolchain)
    result = subprocess.run([sys.executable, "-P", "-m", "paravisor.cli", "launch",
                             str(tmp_path / "disk-demo.cfg"), "--engine", "interp"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "disk-demo: device/vbd/51712: 2048 sectors" in result.stdout
    assert "device closed; all OK" in result.stdout
    assert (tmp_path / "disk-demo.img").read_bytes()[:SECTOR] == expected_sector(0)
