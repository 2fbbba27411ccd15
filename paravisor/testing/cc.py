"""Helpers for tests of paravisor cc (and for anyone's tests that want a C guest):
build a C program from text and run it as a guest, capturing its console."""

from __future__ import annotations

import io
import os
import tempfile

from paravisor.toolchain.cc.driver import build_program


def build_c(source: str, *, opt: int = 1, name: str = "prog.c",
            folder: str | None = None) -> str:
    """Write `source` to a temporary folder, build it; the image's path."""
    folder = folder or tempfile.mkdtemp(prefix="pvcc-")
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(source)
    image = build_program([path], opt=opt)
    elf = os.path.splitext(path)[0] + ".elf"
    with open(elf, "wb") as f:
        f.write(image)
    return elf


def run_image(elf: str, *, engine: str = "interp", max_seconds: float = 5.0) -> tuple[int,
                                                                                        str]:
    """Run a guest image with `paravisor run`'s machinery: (exit status, console)."""
    from paravisor.toolstack.launch import run_kernel
    out = io.StringIO()
    status = run_kernel(elf, engine=engine, max_seconds=max_seconds, stream=out,
                        memory_mib=4)
    return status, out.getvalue()


def run_c(source: str, *, opt: int = 1, engine: str = "interp",
          max_seconds: float = 5.0) -> tuple[int, str]:
    """Build and run the C program `source`: (main's result & 0xff, console text)."""
    with tempfile.TemporaryDirectory(prefix="pvcc-") as folder:
        elf = build_c(source, opt=opt, folder=folder)
        return run_image(elf, engine=engine, max_seconds=max_seconds)
