"""`paravisor cc`: a C99 compiler (integers, no floating point) for PV32 guests.

pcpp preprocesses, pycparser parses; the type checker, IR, register allocator and
code generator are ours (docs/cc.md).  Python API:

    compile_c(text, path, opt=1, include_dirs=(), defines=()) -> assembly text
    build_program(paths, opt=1, ...) -> ELF image bytes (C and .s sources, linked
        with the freestanding runtime in guest_os/libc)
"""

from __future__ import annotations

from .driver import build_program, compile_c, compile_object, runtime_objects
from .sources import CompileError

__all__ = ["CompileError", "build_program", "compile_c", "compile_object",
           "runtime_objects"]
