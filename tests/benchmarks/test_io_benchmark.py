"""benchmarks/io.py runs end to end and reports every figure the issue asks for (the
values are measurements: only their presence and sanity are checked, never timings)."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "io.py"
KEYS = {"block_read_over_host", "block_write_over_host", "net_mbps", "ping_rtt_us_p50",
        "block_randread_iops", "notifications"}


def test_io_benchmark_reports_every_figure_with_and_without_hold_off():
    result = subprocess.run([sys.executable, "-P", str(BENCH), "--json", "--mib", "1",
                             "--frames", "50", "--pings", "3"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(result.stdout)
    assert KEYS <= figures.keys() and KEYS <= figures["no_holdoff"].keys()
    for run in (figures, figures["no_holdoff"]):
        assert run["frames_received"] == run["frames_sent"] == 50
        assert 0 < run["block_read_over_host"] and 0 < run["block_write_over_host"]
        assert run["net_mbps"] > 0 and run["ping_rtt_us_p50"] > 0
    # Without hold-off every push notifies: strictly more event sends for the same work.
    assert figures["no_holdoff"]["notifications"] > figures["notifications"]
