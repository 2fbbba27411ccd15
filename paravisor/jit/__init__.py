"""The JIT-compiled virtual CPU: PV32 -> LLVM IR (llvmlite) -> host code, with a
software TLB and block chaining in native code.  See docs/jit.md."""

from paravisor.jit.engine import JitEngine

__all__ = ["JitEngine"]
