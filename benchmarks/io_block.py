"""The block half of benchmarks/io.py: a guest's blkfront against blkback, vs the host.

A guest (benchmarks/kernels/blkbench.c, built with the driver library) reads or writes
an image file through the split driver; the guest prints a line as it starts and as it
finishes its I/O, and a console stream here notes the wall-clock time each line
arrives.  The same bytes are then read or written directly on the host with os.pread /
os.pwrite in requests of the same size (88 sectors, 11 pages).  Throughput is bytes over
wall-clock seconds; the ratio split/host is what the benchmark reports.
"""

from __future__ import annotations

import io
import os
import time

from paravisor.toolchain.cc import build_program
from paravisor.toolchain.cc.driver import drivers_dir
from paravisor.toolstack.launch import launch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL = os.path.join(ROOT, "benchmarks", "kernels", "blkbench.c")
SECTOR = 512
CHUNK = 88 * SECTOR


class StampedStream(io.StringIO):
    """A console stream that notes when each `blkbench:` / `netbench:` line arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps: dict[str, float] = {}

    def write(self, text: str) -> int:
        now = time.perf_counter()
        for word in ("start", "done"):
            if f"bench: {word}" in text:
                self.stamps.setdefault(word, now)
        return super().write(text)


def build_kernel(source: str, directory: str, holdoff: bool) -> str:
    """An ELF of `source` linked with the driver library; without `holdoff` the driver
    sources are compiled in with RING_NOTIFY_ALWAYS (they then take the library's place)."""
    sources, defines = [source], []
    if not holdoff:
        folder = drivers_dir()
        sources += sorted(os.path.join(folder, name) for name in os.listdir(folder)
                          if name.endswith((".c", ".s")))
        defines = [("RING_NOTIFY_ALWAYS", "1")]
    path = os.path.join(directory, os.path.basename(source).replace(".c", "") +
                        ("" if holdoff else "-always") + ".elf")
    with open(path, "wb") as f:
        f.write(build_program(sources, defines=defines))
    return path


def write_host(directory: str, kernel: str, image: str, cmdline: str,
               engine: str = "jit") -> str:
    """A host config: dom0 and one guest with `image` as its xvda; its path."""
    with open(os.path.join(directory, "blk-guest.cfg"), "w") as f:
        f.write(f'name = "blkbench"\nkernel = "{kernel}"\nmemory = 8\n'
                f'cmdline = "{cmdline}"\ndisk = ["file:{image},xvda,w"]\n')
    path = os.path.join(directory, "blk-host.cfg")
    with open(path, "w") as f:
        f.write(f'name = "Domain-0"\nkernel = "{ROOT}/guest_os/dom0.s"\nmemory = 8\n'
                f'engine = "{engine}"\nguests = ["blk-guest.cfg"]\n')
    return path


def guest_seconds(config: str) -> float:
    """Wall-clock seconds between the guest's start and done lines."""
    out = StampedStream()
    status = launch(config, stream=out, colour=False)
    text = out.getvalue()
    if status != 0 or "start" not in out.stamps or "done" not in out.stamps:
        raise SystemExit(f"the block benchmark guest failed:\n{text}")
    return out.stamps["done"] - out.stamps["start"]


def host_seconds(image: str, nbytes: int, write: bool) -> float:
    """Wall-clock seconds to read (or write and fsync) `nbytes` of `image` directly."""
    buffer = b"\x5a" * CHUNK
    fd = os.open(image, os.O_RDWR)
    try:
        start = time.perf_counter()
        for offset in range(0, nbytes, CHUNK):
            size = min(CHUNK, nbytes - offset)
            if write:
                os.pwrite(fd, buffer[:size], offset)
            else:
                os.pread(fd, size, offset)
        if write:
            os.fsync(fd)
        return time.perf_counter() - start
    finally:
        os.close(fd)


def random_read_iops(config: str, count: int) -> float:
    """4 KiB random reads per wall-clock second through the split driver."""
    return count / guest_seconds(config)


def block_results(directory: str, mib: int, holdoff: bool) -> dict:
    """Sequential read and write throughput (split and host) and random-read IOPS."""
    kernel = build_kernel(KERNEL, directory, holdoff)
    image = os.path.join(directory, "bench.img")
    nbytes = mib << 20
    with open(image, "wb") as f:
        f.truncate(nbytes)
    results = {}
    for mode in ("write", "read"):
        config = write_host(directory, kernel, image, f"{mode} {nbytes // 4096}")
        split = guest_seconds(config)
        host = host_seconds(image, nbytes, mode == "write")
        results[f"block_{mode}_mbps"] = round(nbytes / split / 1e6, 2)
        results[f"host_{mode}_mbps"] = round(nbytes / host / 1e6, 1)
        results[f"block_{mode}_over_host"] = round(host / split, 5)
    count = 1000
    config = write_host(directory, kernel, image, f"randread {count}")
    results["block_randread_iops"] = round(random_read_iops(config, count), 1)
    return results
