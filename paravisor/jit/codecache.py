"""Compiled code: the LLVM life cycle and the index of translations.

Life cycle of a `JitModule` (as in Numba's codegen): create it, add region functions
(IR), then `finalize()` once: verify, optimise, compile into the engine's MCJIT
instance and resolve each function's address.  Adding after finalizing is an error.

`CodeCache` owns one TargetMachine and one MCJIT engine (an MCJIT engine owns its
TargetMachine: it is never shared, and the cache is kept alive while its code can run),
and indexes translations by (machine address, virtual pc) of the blocks they can start
at.  `drop_frame` forgets every translation of a machine frame; the machine code itself
stays mapped (MCJIT cannot free one module's code) but nothing can reach it any more.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field

from llvmlite import binding as llvm
from llvmlite import ir

from paravisor.isa.table import PAGE_SHIFT
from paravisor.jit.config import JitConfig

_initialised = False


def _init_llvm() -> None:
    global _initialised
    if not _initialised:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _initialised = True


@dataclass
class TranslationStats:
    """What the code cache did, for benchmarks and docs."""
    modules: int = 0
    regions: int = 0
    blocks: int = 0
    instructions: int = 0
    seconds: float = 0.0          # IR building + optimisation + code generation
    invalidated_frames: int = 0
    lowered: Counter[str] = field(default_factory=Counter)   # mnemonic -> times compiled

    @property
    def ms_per_module(self) -> float:
        return 1000 * self.seconds / self.modules if self.modules else 0.0


class JitModule:
    """One LLVM module under construction (see the module docstring)."""

    def __init__(self, cache: CodeCache, name: str) -> None:
        self.cache = cache
        self.ir = ir.Module(name)
        self.ir.triple = cache.triple
        self.ir.data_layout = cache.data_layout
        self.functions: list[str] = []
        self.finalized = False

    def add_function(self, name: str) -> None:
        """Record that the IR of function `name` was added to `self.ir`."""
        if self.finalized:
            raise RuntimeError(f"module {self.ir.name}: adding {name} after finalize()")
        self.functions.append(name)

    def finalize(self) -> dict[str, int]:
        """Verify, optimise and compile; the host address of each added function."""
        if self.finalized:
            raise RuntimeError(f"module {self.ir.name} is already finalized")
        self.finalized = True
        return self.cache.compile(self)


@dataclass
class CodeCache:
    config: JitConfig
    stats: TranslationStats = field(default_factory=TranslationStats)

    def __post_init__(self) -> None:
        _init_llvm()
        target = llvm.Target.from_default_triple()
        self.triple = llvm.get_process_triple()
        # Code generation at LLVM's -O0 (fast instruction selection) for level 1: it is
        # most of the compile time, and the IR is already optimised.
        codegen_level = max(1, self.config.opt_level) if self.config.opt_level else 0
        self._tm = target.create_target_machine(opt=codegen_level, jit=True)
        self.data_layout = str(self._tm.target_data)
        self._engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self._tm)
        self._modules: list[llvm.ModuleRef] = []   # keep compiled modules alive
        self._serial = 0
        self.entries: dict[tuple[int, int], int] = {}        # (maddr, vpc) -> code address
        self._by_frame: dict[int, set[tuple[int, int]]] = {}

    # --- LLVM life cycle ------------------------------------------------------------------

    def new_module(self) -> JitModule:
        self._serial += 1
        return JitModule(self, f"pv_m{self._serial}")

    def function_name(self) -> str:
        self._serial += 1
        return f"pv_r{self._serial}"

    def compile(self, module: JitModule) -> dict[str, int]:
        text = str(module.ir)
        if self.config.dump_ir:
            print(f"; --- IR of {module.ir.name}\n{text}", file=sys.stderr)
        ref = llvm.parse_assembly(text)
        ref.verify()
        self._optimise(ref)
        if self.config.dump_opt_ir:
            print(f"; --- optimised IR of {module.ir.name}\n{ref}", file=sys.stderr)
        if self.config.dump_asm:
            print(f"# --- assembly of {module.ir.name}\n{self._tm.emit_assembly(ref)}",
                  file=sys.stderr)
        self._engine.add_module(ref)
        self._engine.finalize_object()
        self._modules.append(ref)
        return {name: self._engine.get_function_address(name) for name in module.functions}

    def _optimise(self, ref: llvm.ModuleRef) -> None:
        """Level 1 is a short pipeline (SROA puts guest registers in host registers,
        then instcombine and simplifycfg), ~4x cheaper than LLVM's O1; 2 and 3 are
        LLVM's own pipelines."""
        level = self.config.opt_level
        if level == 0:
            return
        builder = llvm.create_pass_builder(self._tm, llvm.PipelineTuningOptions(
            speed_level=level))
        if level >= 2:
            builder.getModulePassManager().run(ref, builder)
            return
        passes = llvm.create_new_module_pass_manager()
        passes.add_sroa_pass()
        passes.add_instruction_combine_pass()
        passes.add_simplify_cfg_pass()
        passes.run(ref, builder)

    # --- the translation index -------------------------------------------------------------

    def add_entry(self, maddr: int, vpc: int, code: int) -> None:
        self.entries[(maddr, vpc)] = code
        self._by_frame.setdefault(maddr >> PAGE_SHIFT, set()).add((maddr, vpc))

    def lookup(self, maddr: int, vpc: int) -> int | None:
        return self.entries.get((maddr, vpc))

    def has_frame(self, mfn: int) -> bool:
        return mfn in self._by_frame

    def frames(self) -> list[int]:
        """Machine frames that hold translated code."""
        return list(self._by_frame)

    def drop_frame(self, mfn: int) -> bool:
        """Forget every translation that starts in frame `mfn`; True if there were any."""
        keys = self._by_frame.pop(mfn, None)
        if not keys:
            return False
        for key in keys:
            del self.entries[key]
        self.stats.invalidated_frames += 1
        return True
