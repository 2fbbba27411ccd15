"""benchmarks/hcost.py runs end to end and reports every way side by side (host times are
measurements: only their presence is checked; the virtual-time figures are deterministic,
so the effect of preemption on the sleeper is)."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "hcost.py"


def test_hcost_benchmark_reports_each_way_and_the_ratio():
    result = subprocess.run([sys.executable, "-P", str(BENCH), "--json", "--rounds", "2",
                             "--repeat", "1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    ways = {row["way"]: row for row in report["ways"]}
    assert list(ways) == ["charged", "never preempted", "free"]
    for row in ways.values():
        assert row["host_s_per_mflush"] > 0 and row["over_free"] > 0
    assert ways["free"]["over_free"] == 1.0
    assert ways["charged"]["preemptions"] > 0
    assert ways["never preempted"]["preemptions"] == ways["free"]["preemptions"] == 0
    # Preempted, the storm lets the sleeper run on time; unpreempted, it does not.
    assert (ways["charged"]["sleeper_worst_late_us"]
            < ways["never preempted"]["sleeper_worst_late_us"])
