"""The files a config names, checked when the config is loaded, so that a kernel, guest
config, disk or log directory of the wrong kind or size is an error at its setting
(file, line and column) instead of a read that never ends.

What each must be:
- a kernel: an existing regular file; an ELF image no larger than the domain's memory,
  a .s/.c source no larger than MAX_KERNEL_SOURCE_BYTES (kernel_file_limit);
- a guest config (`guests`): an existing regular file of at most MAX_CONFIG_BYTES;
and where they exist (a missing one stays the error of whoever opens it, or is created:
a disk with `size=`, the console_log directory):
- a disk target: a regular image file or a block device (as xl's phy: allows);
- console_log: a directory.
pcap paths are written, not read: netback opens them without waiting (pcap.py).  Those
who read a file check again as they open it (paravisor.inputfiles): a name may be
pointed elsewhere between the two.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING

from paravisor.inputfiles import InputFileError, check_input_file, file_kind

if TYPE_CHECKING:
    from paravisor.toolstack.config import DomainConfig, HostConfig
    from paravisor.toolstack.fields import SettingsReader
    from paravisor.toolstack.xlcfg import Value

MIB = 1 << 20
KERNEL_SOURCE_SUFFIXES = (".s", ".S", ".c")   # kernels built with our toolchain on use
MAX_KERNEL_SOURCE_BYTES = 4 * MIB   # some 200 times our largest kernel source
MAX_CONFIG_BYTES = 1 * MIB          # an xl config is a few hundred bytes
CONFIG_LIMIT_TEXT = f"the {MAX_CONFIG_BYTES // MIB} MiB a config file may be"


def kernel_file_limit(path: str, memory_mib: int) -> tuple[str, int, str]:
    """(what it is, its size limit in bytes, that limit in words) for the kernel file of
    a domain with `memory_mib`: a source is built first, an image must fit in memory."""
    if path.endswith(KERNEL_SOURCE_SUFFIXES):
        return ("kernel source", MAX_KERNEL_SOURCE_BYTES,
                f"the {MAX_KERNEL_SOURCE_BYTES // MIB} MiB a kernel source may be")
    return "kernel image", memory_mib * MIB, f"the domain's memory ({memory_mib} MiB)"


def kernel_advice(err: InputFileError, memory_knob: str) -> str:
    """What to do about a kernel file refused with `err`; `memory_knob` is what sets the
    domain's memory ("'memory'" in a config, "--memory" on the command line)."""
    if not err.too_large:
        return "name an ELF image, or a .s/.c source to build"
    if err.what == "kernel image":
        return f"give a smaller image or raise {memory_knob}"
    return "build it first (paravisor cc / paravisor as) and give the image"


def check_domain_files(reader: SettingsReader, cfg: DomainConfig) -> None:
    """The kernel and the disk targets of `cfg`, read from `reader`'s file."""
    if cfg.kernel is not None and "kernel" in reader.settings:
        _check_file(reader, reader.settings["kernel"].value, cfg.kernel,
                    *kernel_file_limit(cfg.kernel, cfg.memory),
                    lambda err: kernel_advice(err, "'memory'"), required=True)
    for item, disk in zip(reader.string_items("disk"), cfg.disk, strict=True):
        mode = _mode(disk.target)
        if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISBLK(mode)):
            raise reader.error_at(item, f"disk: target {disk.target} is {file_kind(mode)}: "
                                        f"a disk must be a regular image file or a block "
                                        f"device")


def check_host_files(reader: SettingsReader, host: HostConfig) -> None:
    """The guest configs `host` lists and its console_log directory."""
    for item, path in zip(reader.string_items("guests"), host.guests, strict=True):
        _check_file(reader, item, path, "guest config", MAX_CONFIG_BYTES,
                    CONFIG_LIMIT_TEXT, lambda _: "'guests' lists xl config files",
                    required=True)
    mode = _mode(host.console_log) if host.console_log is not None else None
    if mode is not None and not stat.S_ISDIR(mode):
        raise reader.error_at(reader.settings["console_log"].value,
                              f"console_log {host.console_log} is {file_kind(mode)}: it "
                              f"must name a directory, which gets one NAME.log per domain")


def _check_file(reader: SettingsReader, value: Value, path: str, what: str, limit: int,
                limit_text: str, advice: Callable[[InputFileError], str], *,
                required: bool = False) -> None:
    """If `path` exists it must be a regular file of at most `limit` bytes; else an
    error at `value`, ending with advice(err).  A `required` file that does not exist
    is an error at `value` too."""
    try:
        check_input_file(path, what, limit, limit_text)
    except InputFileError as err:
        raise reader.error_at(value, f"{err}: {advice(err)}") from None
    except FileNotFoundError:
        if required:
            raise reader.error_at(value, f"{what} {path} does not exist") from None
    except (OSError, ValueError):
        pass   # unreadable or no path at all (a NUL): its opener says so


def _mode(path: str) -> int | None:
    """st_mode of `path`, or None where there is nothing to stat."""
    try:
        return os.stat(path).st_mode
    except (OSError, ValueError):
        return None
