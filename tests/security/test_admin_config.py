"""F5, files an admin names: a config (or `paravisor run`) that names something other
than a regular file of a sensible size (/dev/zero, a directory, a FIFO, an image larger
than the domain's memory, a huge kernel source) is refused before anything is read:
exit status 2 and a message naming the config file and line, never a hang, a read that
never ends or a traceback.

Every run is a fresh `paravisor` process with a time-out and an address-space cap, so a
regression that reads /dev/zero fails here instead of eating the machine.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from paravisor.services.blkback import DiskImage
from paravisor.services.netback.pcap import PcapWriter
from paravisor.toolstack.config import load_domain_config
from paravisor.toolstack.domains import guest_os_dir

TIMEOUT_S = 30                 # a refused file is refused in well under a second
ADDRESS_SPACE_CAP = 4 << 30    # bytes: a host that starts reading /dev/zero dies early
HELLO = os.path.join(guest_os_dir(), "hello.s")

# kind -> what the message says about it
KINDS = {
    "dev_zero": "is a character device, not a regular file",
    "directory": "is a directory, not a regular file",
    "fifo": "is a FIFO, not a regular file",
    "big_image": "larger than the domain's memory (16 MiB)",
    "huge_source": "larger than the 4 MiB a kernel source may be",
}
NOT_FILES = ("dev_zero", "directory", "fifo")


def _cap_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))


def paravisor(*args: str) -> subprocess.CompletedProcess:
    """`paravisor ARGS...`; a run that outlasts TIMEOUT_S fails the test."""
    try:
        return subprocess.run([sys.executable, "-P", "-m", "paravisor.cli", *args],
                              capture_output=True, text=True, timeout=TIMEOUT_S,
                              preexec_fn=_cap_address_space)
    except subprocess.TimeoutExpired:
        pytest.fail(f"paravisor {' '.join(args)} still running after {TIMEOUT_S} s "
                    f"(reading forever, or blocked on an open)")


def make(kind: str, tmp_path: Path) -> str:
    """A path of `kind` (see KINDS) under tmp_path; sparse files take no disk space."""
    if kind == "dev_zero":
        return "/dev/zero"
    path = tmp_path / {"directory": "dir", "fifo": "fifo", "big_image": "big.elf",
                       "huge_source": "huge.s"}[kind]
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        with open(path, "wb") as f:
            f.truncate((64 << 20) if kind == "big_image" else (1 << 30))
    return str(path)


def refused(result: subprocess.CompletedProcess, *fragments: str) -> bool:
    return (result.returncode == 2 and "Traceback" not in result.stderr
            and all(fragment in result.stderr for fragment in fragments))


def host_config(tmp_path: Path, guest: str | None = None, **dom0: str) -> Path:
    """dom0.cfg with `dom0` settings (line 2 onwards) and, when `guest` is given, a guest
    config g.cfg whose text follows its name line."""
    lines = ['name = "Domain-0"'] + [f"{key} = {value}" for key, value in dom0.items()]
    if guest is not None:
        (tmp_path / "g.cfg").write_text(f'name = "g"\n{guest}\n')
        lines.append('guests = ["g.cfg"]')
    path = tmp_path / "dom0.cfg"
    path.write_text("\n".join(lines) + "\n")
    return path


# --- kernels -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_run_refuses_a_kernel_that_is_not_a_file_of_a_sensible_size(tmp_path, kind):
    result = paravisor("run", make(kind, tmp_path), "--memory", "16")
    assert refused(result, KINDS[kind]), (result.returncode, result.stderr)


@pytest.mark.parametrize("kind", KINDS)
def test_launch_refuses_such_a_guest_kernel_at_its_config_line(tmp_path, kind):
    cfg = host_config(tmp_path, f'kernel = "{make(kind, tmp_path)}"\nmemory = 16')
    result = paravisor("launch", str(cfg))
    assert refused(result, f"{tmp_path / 'g.cfg'}:2:", KINDS[kind]), result.stderr


def test_launch_refuses_such_a_dom0_kernel_at_its_config_line(tmp_path):
    cfg = host_config(tmp_path, kernel='"/dev/zero"')
    result = paravisor("launch", str(cfg))
    assert refused(result, f"{cfg}:2:", KINDS["dev_zero"]), result.stderr


# --- config files --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", NOT_FILES)
def test_launch_refuses_a_host_config_that_is_not_a_file(tmp_path, kind):
    path = make(kind, tmp_path)
    result = paravisor("launch", path)
    assert refused(result, f"{path}: error: cannot read config file", KINDS[kind]), \
        result.stderr


@pytest.mark.parametrize("kind", NOT_FILES)
def test_launch_refuses_a_guests_entry_that_is_not_a_file(tmp_path, kind):
    path = make(kind, tmp_path)
    cfg = host_config(tmp_path, guests=f'["{path}"]')
    result = paravisor("launch", str(cfg))
    assert refused(result, f"{cfg}:2:", f"guest config {path}", KINDS[kind]), result.stderr


def test_a_config_file_larger_than_a_megabyte_is_refused(tmp_path):
    cfg = tmp_path / "dom0.cfg"
    with open(cfg, "wb") as f:
        f.truncate(2 << 20)
    result = paravisor("launch", str(cfg))
    assert refused(result, "larger than the 1 MiB a config file may be"), result.stderr


# --- disks, logs, captures -----------------------------------------------------------------

@pytest.mark.parametrize("kind", NOT_FILES)
def test_launch_refuses_a_disk_that_is_neither_an_image_nor_a_block_device(tmp_path, kind):
    cfg = host_config(tmp_path, f'kernel = "{HELLO}"\n'
                                f'disk = ["file:{make(kind, tmp_path)},xvda,w"]')
    result = paravisor("launch", str(cfg))
    assert refused(result, f"{tmp_path / 'g.cfg'}:3:", "a disk must be a regular image "
                                                       "file or a block device"), \
        result.stderr


def test_a_missing_disk_image_with_size_is_still_created(tmp_path):
    (tmp_path / "g.cfg").write_text(f'name = "g"\nkernel = "{HELLO}"\n'
                                    'disk = ["file:new.img,xvda,w,size=1M"]\n')
    cfg, _ = load_domain_config(str(tmp_path / "g.cfg"))
    assert cfg.disk[0].size == 1 << 20


def test_console_log_must_name_a_directory(tmp_path):
    cfg = host_config(tmp_path, console_log='"/dev/null"')
    result = paravisor("launch", str(cfg))
    assert refused(result, f"{cfg}:2:", "console_log /dev/null is a character device"), \
        result.stderr
    result = paravisor("launch", str(host_config(tmp_path, guest=f'kernel = "{HELLO}"')),
                       "--log-dir", "/dev/null")
    assert refused(result, "console log directory /dev/null"), result.stderr


def test_a_log_file_that_is_a_fifo_is_skipped_without_blocking(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    os.mkfifo(logs / "g.log")
    cfg = host_config(tmp_path, f'kernel = "{HELLO}"')
    result = paravisor("launch", str(cfg), "--log-dir", str(logs), "--engine", "interp")
    assert result.returncode == 0, result.stderr
    assert f"console log {logs / 'g.log'} is a FIFO, not a regular file" in result.stdout
    assert (logs / "Domain-0.log").is_file()


def _returns_promptly(fn) -> Exception | None:
    """Run fn() in a thread; fail if it is still blocked after a few seconds.  Returns
    what it raised (None if nothing)."""
    outcome: list[Exception | None] = []

    def body() -> None:
        try:
            fn()
            outcome.append(None)
        except Exception as err:
            outcome.append(err)
    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "blocked (a FIFO opened without O_NONBLOCK?)"
    return outcome[0]


@pytest.mark.parametrize("kind", NOT_FILES)
def test_blkback_refuses_such_a_disk_without_blocking(tmp_path, kind):
    path = make(kind, tmp_path)
    err = _returns_promptly(lambda: DiskImage(path, readonly=True))
    assert isinstance(err, (ValueError, OSError)), err


def test_a_pcap_fifo_without_a_reader_is_an_error_not_a_hang(tmp_path):
    os.mkfifo(tmp_path / "cap.pcap")
    err = _returns_promptly(lambda: PcapWriter(str(tmp_path / "cap.pcap"), lambda: 0))
    assert isinstance(err, OSError) and "no reader" in str(err), err
