"""The JIT's environment flags, read in one place (like Numba's config module).

    PARAVISOR_DUMP_IR=1        print each module's LLVM IR (before optimisation) to stderr
    PARAVISOR_DUMP_OPT_IR=1    print each module's IR after optimisation
    PARAVISOR_DUMP_ASM=1       print each module's host assembly
    PARAVISOR_JIT_OPT=N        LLVM optimisation level 0..3 (default 1)
    PARAVISOR_JIT_THRESHOLD=N  interpreted executions before a block is compiled (default 1000)
    PARAVISOR_JIT_REGION=N     most blocks in one region (one LLVM function, default 64)
    PARAVISOR_JIT_BATCH=N      most regions compiled into one LLVM module (default 16)

A bad value is a UserError naming the variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from paravisor.errors import UserError


def _flag(env: dict[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() not in ("", "0", "no", "false", "off")


def _int(env: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text, 0)
    except ValueError:
        raise UserError(f"{name}={text!r}: expected an integer") from None
    if not lo <= value <= hi:
        raise UserError(f"{name}={value}: must be between {lo} and {hi}")
    return value


@dataclass(frozen=True)
class JitConfig:
    """Tuning and debugging knobs of one JitEngine."""
    dump_ir: bool = False
    dump_opt_ir: bool = False
    dump_asm: bool = False
    opt_level: int = 1
    # Cold executions of a block before it is translated.  LLVM costs ~1 ms per block, the
    # interpreter ~0.1 us per instruction: code that runs fewer than ~1000 times (boot,
    # XenStore handshakes, printf) is cheaper to interpret.  16 made the ping demo take
    # 16.8 s instead of 4.5 s (docs/jit.md, "Tiering").
    threshold: int = 1000
    region_blocks: int = 64   # blocks per region (one LLVM function)
    batch_regions: int = 16   # regions per LLVM module

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> JitConfig:
        """The configuration the PARAVISOR_* variables of `env` (default os.environ) ask for."""
        env = dict(os.environ if env is None else env)
        return cls(
            dump_ir=_flag(env, "PARAVISOR_DUMP_IR"),
            dump_opt_ir=_flag(env, "PARAVISOR_DUMP_OPT_IR"),
            dump_asm=_flag(env, "PARAVISOR_DUMP_ASM"),
            opt_level=_int(env, "PARAVISOR_JIT_OPT", 1, 0, 3),
            threshold=_int(env, "PARAVISOR_JIT_THRESHOLD", cls.threshold, 0, 1 << 30),
            region_blocks=_int(env, "PARAVISOR_JIT_REGION", 64, 1, 4096),
            batch_regions=_int(env, "PARAVISOR_JIT_BATCH", 16, 1, 4096),
        )
