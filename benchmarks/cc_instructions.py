"""Instruction counts of benchmark kernels: paravisor cc (-O0, -O1) on PV32 against
the host's gcc (-O0, -O2) on x86-64, as a rough yardstick (docs/cc.md).

    python benchmarks/cc_instructions.py

Each kernel (guest_os/libc/bench/*.c) runs REPEAT times from main; a kernel's cost is
the retired-instruction difference between REPEAT=2 and REPEAT=1, which cancels
start-up and printf.  PV32 counts come from the interpreter (exact retired
instructions); host counts from valgrind's callgrind (Ir), when gcc and valgrind are
installed.  The ratios printed are PV32 / x86-64: different ISAs, so only a yardstick.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile

from paravisor.toolchain.cc.driver import build_program, libc_dir


def pv32_instructions(source: str, opt: int, repeat: int) -> int:
    """Retired instructions of the whole program built with -DREPEAT=`repeat`."""
    from paravisor.console import ConsoleHub
    from paravisor.hypervisor import Hypervisor
    from paravisor.isa.interpreter import Interpreter
    from paravisor.services.console import ConsoleDaemon
    from paravisor.toolstack.config import DomainConfig
    from paravisor.toolstack.domains import Toolstack

    with tempfile.TemporaryDirectory() as folder:
        elf = os.path.join(folder, "bench.elf")
        with open(elf, "wb") as f:
            f.write(build_program([source], opt=opt, defines=[("REPEAT", str(repeat))]))
        hv = Hypervisor(12, console=ConsoleHub(io.StringIO(), raw=True),
                        engine_factory=Interpreter)
        dom0 = hv.create_domain("Domain-0", domid=0, privileged=True)
        toolstack = Toolstack(hv, dom0, ConsoleDaemon(hv, dom0))
        cfg = DomainConfig(name="bench", kernel=elf, path=elf, memory=4, maxmem=4,
                           on_poweroff="preserve", on_crash="preserve")
        dom = toolstack.create(cfg)
        hv.run(until=lambda: dom.is_shutdown and not hv.deferred)
        return dom.vcpus[0].cpu.instret


def host_instructions(source: str, opt: str, repeat: int) -> int | None:
    """Instructions (callgrind's Ir) of the host build, or None without gcc/valgrind."""
    if not (shutil.which("gcc") and shutil.which("valgrind")):
        return None
    with tempfile.TemporaryDirectory() as folder:
        exe = os.path.join(folder, "bench")
        build = subprocess.run(["gcc", opt, "-w", f"-DREPEAT={repeat}", "-o", exe, source],
                               capture_output=True, text=True)
        if build.returncode != 0:
            return None
        run = subprocess.run(["valgrind", "--tool=callgrind",
                              f"--callgrind-out-file={folder}/out", exe],
                             capture_output=True, text=True)
        found = re.search(r"Collected : (\d+)", run.stderr)
        return int(found.group(1)) if found else None


def kernel_cost(measure, *args) -> int | None:
    one, two = measure(*args, 1), measure(*args, 2)
    return None if one is None or two is None else two - one


def main() -> int:
    folder = os.path.join(libc_dir(), "bench")
    rows = []
    print(f"{'kernel':<8} {'pv32 -O0':>10} {'pv32 -O1':>10} {'gcc -O0':>10} {'gcc -O2':>10}"
          f" {'O1/gccO0':>9} {'O1/gccO2':>9}")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".c"):
            continue
        source = os.path.join(folder, name)
        ours = [kernel_cost(pv32_instructions, source, opt) for opt in (0, 1)]
        host = [kernel_cost(host_instructions, source, opt) for opt in ("-O0", "-O2")]
        ratios = [f"{ours[1] / h:9.2f}" if h else f"{'-':>9}" for h in host]
        cells = [f"{v:>10}" if v is not None else f"{'-':>10}" for v in (*ours, *host)]
        print(f"{name[:-2]:<8} {' '.join(cells)} {' '.join(ratios)}")
        rows.append((name, ours, host))
    return 0


if __name__ == "__main__":
    sys.exit(main())
