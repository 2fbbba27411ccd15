"""From C sources to objects and images: the driver behind `paravisor cc` and
`paravisor run prog.c`.  A program is linked as crt0.o (first: it holds _start),
the program's objects, then the runtime library (guest_os/libc/*.c, compiled once per
process and cached), then, with archive semantics, the split-driver library
(guest_os/drivers/*.c and *.s) and the network stack (guest_os/net/*.c): an object is
linked only if the program needs one of its symbols, so programs that use neither do not
grow."""

from __future__ import annotations

import functools
import os

from paravisor.toolchain.asm import assemble, read_source
from paravisor.toolchain.ld import DEFAULT_BASE, link

from .unit import compile_unit

LIBC_SOURCES = ("string.c", "stdio.c", "stdlib.c", "hypercalls.c")


def libc_dir() -> str:
    import paravisor.guest_os as pkg
    return os.path.join(os.path.dirname(os.path.abspath(pkg.__file__)), "libc")


def drivers_dir() -> str:
    import paravisor.guest_os as pkg
    return os.path.join(os.path.dirname(os.path.abspath(pkg.__file__)), "drivers")


def compile_c(text: str, path: str, *, opt: int = 1, include_dirs: list[str] = (),
              defines: list[tuple[str, str]] = ()) -> str:
    """C source text (the contents of `path`) into PV32 assembly text."""
    return compile_unit(text, path, opt=opt, include_dirs=include_dirs, defines=defines)


def compile_object(path: str, *, opt: int = 1, include_dirs: list[str] = (),
                   defines: list[tuple[str, str]] = ()) -> bytes:
    """A .c or .s file into an ELF object."""
    text = read_source(path)
    if path.endswith((".s", ".S")):
        return assemble(text, path)
    asm = compile_c(text, path, opt=opt, include_dirs=include_dirs, defines=defines)
    return assemble(asm, os.path.splitext(path)[0] + ".s")


@functools.lru_cache(maxsize=4)
def runtime_objects(opt: int = 1) -> tuple[tuple[str, bytes], ...]:
    """crt0 and the libc objects, compiled once per process."""
    folder = libc_dir()
    crt0 = os.path.join(folder, "crt0.s")
    objects = [(crt0, assemble(read_source(crt0), crt0))]
    for name in LIBC_SOURCES:
        path = os.path.join(folder, name)
        objects.append((path, compile_object(path, opt=opt)))
    return tuple(objects)


@functools.lru_cache(maxsize=4)
def driver_objects(opt: int = 1) -> tuple[tuple[str, bytes], ...]:
    """The split-driver library and the network stack (every .c and .s in
    guest_os/drivers/, then guest_os/net/, sorted by name), compiled once per process;
    linked with archive semantics."""
    paths = []
    for folder in (drivers_dir(), os.path.join(os.path.dirname(drivers_dir()), "net")):
        if os.path.isdir(folder):
            paths += [os.path.join(folder, n) for n in sorted(os.listdir(folder))
                      if n.endswith((".c", ".s"))]
    return tuple((path, compile_object(path, opt=opt)) for path in paths)


def build_program(paths: list[str], *, opt: int = 1, include_dirs: list[str] = (),
                  defines: list[tuple[str, str]] = (), base: int = DEFAULT_BASE,
                  runtime: bool = True) -> bytes:
    """Compile and link C (and assembly) sources into a guest image whose entry is
    crt0's _start, which calls `int main(void)` and powers off with its result."""
    objects = []
    if runtime:
        crt0, *lib = runtime_objects(1)
        objects.append(crt0)
    for path in paths:
        objects.append((path, compile_object(path, opt=opt, include_dirs=include_dirs,
                                             defines=defines)))
    if runtime:
        objects.extend(lib)
    return link(objects, base, "_start", libraries=driver_objects(1) if runtime else ())
