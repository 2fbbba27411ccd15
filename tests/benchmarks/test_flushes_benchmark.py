"""benchmarks/flushes.py runs end to end and reports both ways side by side (host times
are measurements: only their presence is checked; the wipes per round are deterministic:
two per mmu_update batch before item 5, one now)."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "flushes.py"


def test_flushes_benchmark_reports_both_ways_and_one_wipe_per_batch():
    result = subprocess.run([sys.executable, "-P", str(BENCH), "--json", "--rounds", "64",
                             "--storm-rounds", "1", "--repeat", "1"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    reports = {(r["guest"], r["engine"]): r for r in json.loads(result.stdout)}
    assert set(reports) == {(g, e) for g in ("pt_remap", "hcall_storm")
                            for e in ("interp", "jit")}
    for report in reports.values():
        ways = {row["way"]: row for row in report["ways"]}
        assert list(ways) == ["two flushes", "one flush"]
        assert all(row["host_ms_per_round"] > 0 for row in ways.values())
        assert ways["two flushes"]["vs_two_flushes"] == 1.0
        assert ways["one flush"]["wipes_per_round"] <= ways["two flushes"]["wipes_per_round"]
    for engine in ("interp", "jit"):
        ways = {row["way"]: row for row in reports[("pt_remap", engine)]["ways"]}
        # One wipe per batch now; before, two (and one more at start-up).
        assert ways["one flush"]["wipes_per_round"] == 1.0
        assert ways["two flushes"]["wipes_per_round"] >= 2.0
