"""The timeline: the summary's arithmetic on a hand-made trace, `paravisor launch
--trace` and `paravisor trace summary` end to end with real spinner guests, and the
errors a user can make."""

from __future__ import annotations

import json
import os
import re

import pytest

from paravisor.cli import main
from paravisor.errors import UserError
from paravisor.toolstack.domains import guest_os_dir
from paravisor.trace.summary import format_summary, load_trace, summarise


def _run(domid, pcpu, start_us, dur_us, end):
    return {"name": f"d{domid}/vcpu0", "cat": "run", "ph": "X", "ts": start_us,
            "dur": dur_us, "pid": 0, "tid": pcpu, "args": {"domid": domid, "vcpu": 0,
                                                          "end": end}}


def _instant(domid, what, ts_us):
    cat = "sched" if what in ("park", "unpark", "boost") else what
    return {"name": what, "cat": cat, "ph": "i", "s": "t", "ts": ts_us, "pid": 1,
            "tid": domid * 1000, "args": {"domid": domid, "vcpu": 0}}


HAND_MADE = {
    "traceEvents": [
        _instant(1, "wake", 0), _instant(2, "wake", 0),
        _run(1, 0, 0, 30, "runnable"),             # d2 waits 0..30 (latency 30 us)
        _run(2, 0, 30, 10, "blocked"),
        _run(1, 0, 40, 20, "runnable"),
        _instant(2, "wake", 50),                   # d2 waits 50..60 (latency 10 us)
        _run(2, 0, 60, 5, "blocked"),
        _instant(1, "park", 65),                   # parked: not waiting 65..90
        _instant(1, "unpark", 90),
        _run(1, 0, 95, 5, "runnable"),             # d1 waits 60..65 and 90..95
    ],
    "otherData": {"scheduler": "credit", "pcpus": 1, "end_ns": 100_000,
                  "domains": {"1": {"name": "one", "weight": 256, "cap": 50},
                              "2": {"name": "two", "weight": 512, "cap": 0}}},
}


def test_the_summary_of_a_hand_made_trace():
    one, two = summarise(HAND_MADE).domains
    assert (one.name, one.weight, one.cap, one.cpu_ns) == ("one", 256, 50, 55_000)
    assert one.wait_ns == 10_000 + 5_000 + 5_000        # 30..40, 60..65, 90..95
    assert (one.wakes, one.latency_p50_ns) == (1, 0)
    assert (two.cpu_ns, two.wait_ns, two.wakes) == (15_000, 40_000, 2)
    assert (two.latency_p50_ns, two.latency_max_ns) == (10_000, 30_000)
    assert one.pcpu_share == pytest.approx(0.55) and two.host_share == pytest.approx(0.15)
    table = format_summary(summarise(HAND_MADE))
    assert re.search(r"^two\s+2\s+512\s+0\s+0\.015\s+15\.0\s+15\.0\s+0\.040\s+2\s+10\.0\s+30\.0$",
                     table, re.M), table


@pytest.mark.parametrize("content, why", [
    (None, "cannot read"), ("{not json", "not a JSON trace"),
    ('{"traceEvents": []}', "not a paravisor trace")])
def test_bad_trace_files_are_user_errors(tmp_path, content, why):
    path = tmp_path / "t.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError, match=why):
        load_trace(str(path))
    assert main(["trace", "summary", str(path)]) != 0


SPINNER = os.path.join(guest_os_dir(), "spinner.s")


def _host_config(tmp_path) -> str:
    """Two pCPUs: a light and a heavy spinner (1:3) pinned to pCPU 0, a capped one on
    pCPU 1, each spinning for 100 ms."""
    guests = {"light": 'cpu_weight = 256\ncpus = "0"', "heavy": 'cpu_weight = 768\ncpus = "0"',
              "capped": 'cap = 20\ncpus = "1"'}
    for name, extra in guests.items():
        (tmp_path / f"{name}.cfg").write_text(
            f'name = "{name}"\nkernel = "{SPINNER}"\nmemory = 4\ncmdline = "100"\n{extra}\n')
    host = tmp_path / "host.cfg"
    host.write_text('memory = 8\npcpus = 2\ntslice_ms = 10\n'
                    'guests = ["light.cfg", "heavy.cfg", "capped.cfg"]\n')
    return str(host)


def test_launch_trace_shows_weights_and_caps_and_is_deterministic(tmp_path, capsys):
    config = _host_config(tmp_path)
    files = [tmp_path / "a.json", tmp_path / "b.json"]
    for path in files:
        assert main(["launch", config, "--colour", "never", "--trace", str(path)]) == 0
    assert files[0].read_bytes() == files[1].read_bytes()
    trace = json.loads(files[0].read_text())
    tracks = {(e["pid"], e["tid"]) for e in trace["traceEvents"] if e.get("cat") == "run"}
    assert {tid for pid, tid in tracks if pid == 0} == {0, 1}
    assert any(e.get("cat") == "hypercall" for e in trace["traceEvents"])
    capsys.readouterr()
    assert main(["trace", "summary", str(files[0])]) == 0
    table = capsys.readouterr().out
    rows = {m[1]: m for m in re.finditer(
        r"^(\w+)\s+\d+\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", table, re.M)}
    assert (rows["light"][2], rows["heavy"][2], rows["capped"][3]) == ("256", "768", "20")
    light, heavy = float(rows["light"][4]), float(rows["heavy"][4])
    assert heavy > 1.5 * light                          # weights at work on pCPU 0
    end_ms = trace["otherData"]["end_ns"] / 1e6
    assert float(rows["capped"][4]) <= 0.20 * end_ms + 10   # the cap, plus one slice


def test_an_unwritable_trace_path_is_a_user_error(tmp_path, capsys):
    config = _quick(tmp_path)
    status = main(["launch", config, "--colour", "never", "--trace",
                   str(tmp_path / "no" / "such" / "dir.json")])
    assert status != 0
    assert "cannot write the trace" in capsys.readouterr().err


def _quick(tmp_path) -> str:
    """_host_config with guests that spin for 1 ms only."""
    config = _host_config(tmp_path)
    for name in ("light", "heavy", "capped"):
        cfg = tmp_path / f"{name}.cfg"
        cfg.write_text(cfg.read_text().replace('cmdline = "100"', 'cmdline = "1"'))
    return config


def test_sched_flag_overrides_the_config(tmp_path, capsys):
    config = _quick(tmp_path)
    trace = tmp_path / "rr.json"
    assert main(["launch", config, "--colour", "never", "--sched", "rr",
                 "--trace", str(trace)]) == 0
    assert json.loads(trace.read_text())["otherData"]["scheduler"] == "rr"
    capsys.readouterr()
    assert main(["trace", "summary", str(trace)]) == 0
    assert capsys.readouterr().out.startswith("rr scheduler, 2 pCPU(s)")


def test_an_affinity_outside_the_host_is_refused(tmp_path, capsys):
    config = _quick(tmp_path)
    light = tmp_path / "light.cfg"
    light.write_text(light.read_text().replace('cpus = "0"', 'cpus = "5"'))
    assert main(["launch", config, "--colour", "never"]) == 2
    out, err = capsys.readouterr()
    assert out == ""                    # refused when the config is read: nothing booted
    line = light.read_text().splitlines().index('cpus = "5"') + 1
    assert f"{light}:{line}:8: error: cpus: \"5\" leaves every vCPU no pCPU to run on" in err
