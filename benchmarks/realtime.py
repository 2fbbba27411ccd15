"""Wall-clock speed-up of `--realtime` (one host thread per pCPU) over the deterministic loop.

    python benchmarks/realtime.py [--json] [--seconds S]

Two CPU-bound guests (guest_os/spinner.s with cmdline "0": spin forever) and dom0 on 2
pCPUs, JIT engine, credit scheduler, stopped by the launch's time limit after S seconds
of virtual time (default 60): the same host is launched once deterministically and once
with --realtime, in this one process, and the host wall-clock time of each whole launch
(boot, JIT warm-up, run, teardown) is measured.

Two more runs separate the effects: --realtime at the deterministic loop's 100 us
quantum (realtime uses 10 ms), and the deterministic loop at realtime's quantum.  Most of
`speedup` comes from the longer quantum (each quantum costs Python work under the lock
and the GIL); `threads_speedup` (deterministic at the same quantum / realtime) is what
the host threads themselves give.  Measured on the 2-core development machine, 60 s:
deterministic ~17 s, --realtime ~1.3 s, deterministic at 10 ms ~1.8 s (threads ~1.4x);
at 100 us --realtime is slower than the deterministic loop (~0.7x).

--json prints {"seconds", "deterministic_s", "realtime_s", "speedup", "realtime_100us_s",
"speedup_100us", "deterministic_same_quantum_s", "threads_speedup"} instead of the table.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import time

from paravisor.hypervisor import loop as loop_module
from paravisor.hypervisor import realtime as realtime_module
from paravisor.hypervisor.loop import QUANTUM_NS
from paravisor.toolstack.launch import launch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_host(directory: str) -> str:
    """A host config (2 pCPUs, JIT, dom0 and two endless spinners); its path."""
    for name in ("spin-a", "spin-b"):
        with open(os.path.join(directory, f"{name}.cfg"), "w") as f:
            f.write(f'name = "{name}"\nkernel = "{ROOT}/guest_os/spinner.s"\n'
                    'memory = 4\ncmdline = "0"\n')
    path = os.path.join(directory, "host.cfg")
    with open(path, "w") as f:
        f.write(f'name = "Domain-0"\nkernel = "{ROOT}/guest_os/dom0.s"\nmemory = 8\n'
                'pcpus = 2\nengine = "jit"\nsched = "credit"\n'
                'guests = ["spin-a.cfg", "spin-b.cfg"]\n')
    return path


def timed_launch(config: str, realtime: bool, seconds: float) -> float:
    """Wall-clock seconds of one launch that runs `seconds` of virtual time."""
    out = io.StringIO()
    start = time.perf_counter()
    launch(config, stream=out, colour=False, realtime=realtime, max_seconds=seconds)
    elapsed = time.perf_counter() - start
    if "time limit reached" not in out.getvalue():
        raise SystemExit(f"the spinners did not run to the time limit:\n{out.getvalue()}")
    return elapsed


def realtime_at_loop_quantum(config: str, seconds: float) -> float:
    """--realtime with the deterministic loop's quantum (100 us) instead of its own 10 ms:
    separates the gain of parallelism from the gain of fewer, longer unlocked runs."""
    saved = realtime_module.REALTIME_QUANTUM_NS
    realtime_module.REALTIME_QUANTUM_NS = QUANTUM_NS
    try:
        return timed_launch(config, True, seconds)
    finally:
        realtime_module.REALTIME_QUANTUM_NS = saved


def deterministic_at_realtime_quantum(config: str, seconds: float) -> float:
    """The deterministic loop with --realtime's quantum: the same work per lock
    round-trip, so realtime's gain over this is what the host threads themselves give."""
    saved = loop_module.QUANTUM_NS
    loop_module.QUANTUM_NS = realtime_module.REALTIME_QUANTUM_NS
    try:
        return timed_launch(config, False, seconds)
    finally:
        loop_module.QUANTUM_NS = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="virtual seconds to run (default 60)")
    args = parser.parse_args()
    if not args.seconds > 0:
        parser.error("--seconds must be positive")
    with tempfile.TemporaryDirectory() as directory:
        config = write_host(directory)
        det_s = timed_launch(config, False, args.seconds)
        rt_s = timed_launch(config, True, args.seconds)
        small_s = realtime_at_loop_quantum(config, args.seconds)
        det_same_s = deterministic_at_realtime_quantum(config, args.seconds)
    result = {"seconds": args.seconds, "deterministic_s": round(det_s, 3),
              "realtime_s": round(rt_s, 3),
              "speedup": round(det_s / rt_s, 2),
              "realtime_100us_s": round(small_s, 3), "speedup_100us": round(det_s / small_s, 2),
              "deterministic_same_quantum_s": round(det_same_s, 3),
              "threads_speedup": round(det_same_s / rt_s, 2)}
    if args.json:
        print(json.dumps(result))
        return
    print(f"two spinners, {args.seconds:g} s of virtual time on 2 pCPUs, JIT "
          f"(host cores: {os.cpu_count()})")
    print(f"  deterministic  {det_s:8.3f} s")
    print(f"  --realtime     {rt_s:8.3f} s")
    print(f"  speed-up       {det_s / rt_s:8.2f}x")
    print(f"  --realtime at the loop's 100 us quantum: {small_s:.3f} s "
          f"({det_s / small_s:.2f}x)")
    print(f"  deterministic at realtime's quantum: {det_same_s:.3f} s; the threads "
          f"themselves give {det_same_s / rt_s:.2f}x")


if __name__ == "__main__":
    main()
