"""Guest CPU speed: compute kernels (PV32 assembly under benchmarks/kernels/, run bare
metal) on the interpreter and on the JIT, next to the same algorithms in C built with
the host `cc -O2`, measured side by side in one run.

    python benchmarks/cpu.py [--json] [--scale F] [--only NAME,...]

Per kernel: guest MIPS on each engine, the JIT's speed-up over the interpreter, JIT time
over native time for the same work, and the JIT's translation time.  The JIT's time
includes its translation (and its interpreted warm-up); "steady" leaves translation out.
Every engine's result is checked against the interpreter's, and the guest's against the
C program's.  --parallel also times two JIT vCPUs in two threads (is the GIL released?).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

from paravisor.hypervisor.builder import parse_image
from paravisor.isa.baremetal import BareMetalMachine, StopReason
from paravisor.isa.engine import CPUState
from paravisor.isa.interpreter import Interpreter
from paravisor.isa.memory import MachineMemory
from paravisor.isa.table import Ring
from paravisor.jit import JitEngine
from paravisor.toolchain.ld import build_image

KERNELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels")
MEMORY_FRAMES = 1024            # 4 MiB of machine memory, paging off
RESULT_REG = 3                  # a0: the repetitions in, the checksum out


@dataclass(frozen=True)
class Kernel:
    name: str
    interp_reps: int            # repetitions for the interpreter (~0.5 s)
    jit_reps: int               # repetitions for the JIT (long enough to time)
    native_reps: int            # repetitions for the C version


KERNELS = (
    Kernel("sieve", 20, 3000, 20000),
    Kernel("crc32", 10, 1500, 5000),
    Kernel("matmul", 20, 3000, 50000),
    Kernel("memcpy", 10, 1500, 5000),
    Kernel("fib", 8, 1000, 20000),
    Kernel("hcall", 20, 100, 200000),
)


@dataclass
class GuestRun:
    seconds: float
    instructions: int
    result: int
    translate_ms: float = 0.0


def run_guest(name: str, engine_name: str, reps: int) -> GuestRun:
    """Run kernel `name` bare metal with a0 = reps until it halts."""
    image = parse_image(build_image([os.path.join(KERNELS_DIR, name + ".s")]), name)
    memory = MachineMemory(MEMORY_FRAMES)
    for vaddr, data, _memsz, _writable in image.segments:
        memory.write(vaddr, data)
    cpu = CPUState(pc=image.entry, ring=Ring.HYPERVISOR)
    cpu.regs[RESULT_REG] = reps
    engine = JitEngine(memory) if engine_name == "jit" else Interpreter(memory)
    machine = BareMetalMachine(memory, cpu, engine)
    started = time.perf_counter()
    stop = machine.run(1 << 62)
    seconds = time.perf_counter() - started
    if stop is not StopReason.HALT:
        raise RuntimeError(f"{name} on {engine_name} stopped: {stop} {machine.trap}")
    translate = engine.stats.seconds * 1000 if engine_name == "jit" else 0.0
    return GuestRun(seconds, cpu.instret, cpu.regs[RESULT_REG], translate)


def build_native(name: str, workdir: str) -> str | None:
    cc = shutil.which("cc")
    if cc is None:
        return None
    exe = os.path.join(workdir, name)
    subprocess.run([cc, "-O2", "-o", exe, os.path.join(KERNELS_DIR, name + ".c"),
                    os.path.join(KERNELS_DIR, "harness.c")], check=True)
    return exe


def run_native(exe: str, reps: int) -> tuple[float, int]:
    """(seconds per repetition, result of the last one)."""
    out = subprocess.run([exe, str(reps)], check=True, capture_output=True, text=True).stdout
    ns, result = out.split()
    return float(ns) / 1e9 / reps, int(result)


def measure(kernel: Kernel, scale: float, workdir: str) -> dict:
    interp_reps = max(1, round(kernel.interp_reps * scale))
    jit_reps = max(1, round(kernel.jit_reps * scale))
    interp = run_guest(kernel.name, "interp", interp_reps)
    check = run_guest(kernel.name, "jit", interp_reps)
    if (check.result, check.instructions) != (interp.result, interp.instructions):
        raise RuntimeError(f"{kernel.name}: the JIT disagrees with the interpreter")
    jit = run_guest(kernel.name, "jit", jit_reps)
    row = {
        "name": kernel.name,
        "interp_mips": interp.instructions / interp.seconds / 1e6,
        "jit_mips": jit.instructions / jit.seconds / 1e6,
        "jit_steady_mips": jit.instructions / (jit.seconds - jit.translate_ms / 1000) / 1e6,
        "translate_ms": jit.translate_ms,
        "jit_time_over_native": None,
    }
    row["jit_over_interp"] = row["jit_mips"] / row["interp_mips"]
    exe = build_native(kernel.name, workdir)
    if exe is not None:
        per_rep, native_result = run_native(exe, max(1, round(kernel.native_reps * scale)))
        one = run_guest(kernel.name, "jit", 1)
        _, native_one = run_native(exe, 1)
        if native_one != one.result:
            raise RuntimeError(f"{kernel.name}: C gives {native_one}, the guest {one.result}")
        row["jit_time_over_native"] = (jit.seconds / jit_reps) / per_rep
    return row


def prepared_machine(name: str, reps: int) -> tuple[JitEngine, CPUState, int]:
    """A JIT machine for kernel `name` whose hot code is already compiled."""
    image = parse_image(build_image([os.path.join(KERNELS_DIR, name + ".s")]), name)
    memory = MachineMemory(MEMORY_FRAMES)
    for vaddr, data, _memsz, _writable in image.segments:
        memory.write(vaddr, data)
    engine = JitEngine(memory)
    warm = CPUState(pc=image.entry, ring=Ring.HYPERVISOR)
    warm.regs[RESULT_REG] = 20
    engine.run(warm, 1 << 40)
    cpu = CPUState(pc=image.entry, ring=Ring.HYPERVISOR)
    cpu.regs[RESULT_REG] = reps
    return engine, cpu, image.entry


def measure_parallel(scale: float) -> dict:
    """Two vCPUs (two engines) running fib in two threads at once, against one after the
    other: native code is entered through ctypes.CFUNCTYPE, which releases the GIL."""
    reps = max(1, round(3000 * scale))

    def timed(machines, parallel: bool) -> float:
        threads = [threading.Thread(target=engine.run, args=(cpu, 1 << 40))
                   for engine, cpu, _ in machines]
        started = time.perf_counter()
        for t in threads:
            t.start()
            if not parallel:
                t.join()
        for t in threads:
            t.join()
        return time.perf_counter() - started

    sequential = timed([prepared_machine("fib", reps) for _ in range(2)], parallel=False)
    parallel = timed([prepared_machine("fib", reps) for _ in range(2)], parallel=True)
    return {"sequential_s": sequential, "parallel_s": parallel,
            "speedup": sequential / parallel, "cpus": os.cpu_count()}


def render(rows: list[dict]) -> str:
    lines = [f"{'kernel':8} {'interp MIPS':>11} {'JIT MIPS':>9} {'(steady)':>9} "
             f"{'JIT/interp':>10} {'JIT/native time':>15} {'translate ms':>12}"]
    for r in rows:
        native = (f"{r['jit_time_over_native']:.2f}" if r["jit_time_over_native"] is not None
                  else "n/a (no cc)")
        lines.append(f"{r['name']:8} {r['interp_mips']:11.1f} {r['jit_mips']:9.1f} "
                     f"{r['jit_steady_mips']:9.1f} "
                     f"{r['jit_over_interp']:10.1f} {native:>15} {r['translate_ms']:12.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every repetition count (default 1)")
    parser.add_argument("--only", default="", help="comma-separated kernel names")
    parser.add_argument("--parallel", action="store_true",
                        help="also measure two JIT vCPUs in two threads (GIL released?)")
    args = parser.parse_args(argv)
    wanted = {n for n in args.only.split(",") if n}
    unknown = wanted - {k.name for k in KERNELS}
    if unknown:
        parser.error(f"unknown kernel(s): {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory() as workdir:
        rows = [measure(k, args.scale, workdir) for k in KERNELS
                if not wanted or k.name in wanted]
    report: dict = {"kernels": rows}
    if args.parallel:
        report["parallel"] = measure_parallel(args.scale)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render(rows))
        if args.parallel:
            p = report["parallel"]
            print(f"two JIT vCPUs in two threads: {p['sequential_s']:.3f} s one after the "
                  f"other, {p['parallel_s']:.3f} s together ({p['speedup']:.2f}x on "
                  f"{p['cpus']} CPUs)")
        if shutil.which("cc") is None:
            print("note: no host cc, so no native comparison", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
