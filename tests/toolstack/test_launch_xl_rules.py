"""xl.cfg rules users rely on, through `paravisor launch` as a user types it: a key set
again keeps its last value (with a warning naming both lines), `+=` appends, and
`KEY=VALUE` after the config overrides it as `xl create cfg KEY=VALUE` does (and
`NAME:KEY=VALUE` a guest's config).  Mistakes name their place: the file and line, or
the command line."""

from pathlib import Path

import pytest

from paravisor.cli import main

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "guest_os" / "hello.s"
DOM0 = ROOT / "guest_os" / "dom0.s"


def _host(tmp_path: Path, guest: str = "", host: str = "") -> Path:
    """dom0.cfg listing one guest, `hello` (hello.s, 2 MiB), each with extra lines."""
    (tmp_path / "hello.cfg").write_text(
        f'name = "hello"\nkernel = "{HELLO}"\nmemory = 2\n{guest}')
    (tmp_path / "dom0.cfg").write_text(
        f'name = "Domain-0"\nkernel = "{DOM0}"\nmemory = 4\nguests = ["hello.cfg"]\n{host}')
    return tmp_path / "dom0.cfg"


def _launch(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["launch", *map(str, args), "--colour", "never", "--engine", "interp"])
    out, err = capsys.readouterr()
    return status, out, err


def _pages(out: str, name: str = "hello") -> str:
    return next(line for line in out.splitlines()
                if line.startswith(name) and "pages of memory" in line)


# --- a key set again -----------------------------------------------------------------

def test_a_key_set_again_takes_the_last_value_with_a_warning_naming_both_lines(
        tmp_path, capsys):
    config = _host(tmp_path, guest="memory = 4\n")
    status, out, err = _launch(capsys, config)
    assert status == 0, err
    assert "I have 1024 pages of memory" in _pages(out)          # 4 MiB
    assert (f"{tmp_path / 'hello.cfg'}:4: warning: 'memory' is set again (first at "
            f"line 3): the value at line 4 is used, as xl does") in err


# --- += ------------------------------------------------------------------------------

def test_plus_equals_appends_to_a_list_and_to_a_string(tmp_path, capsys):
    (tmp_path / "hi.cfg").write_text(f'name = "hi"\nkernel = "{HELLO}"\nmemory = 2\n')
    config = _host(tmp_path, guest='cmdline = "hel"\ncmdline += "lo there"\n',
                   host='guests += ["hi.cfg"]\n')
    status, out, err = _launch(capsys, config)
    assert status == 0, err
    assert "hello    | Hello from hello there" in out      # the guest prints its cmdline
    assert "hi       | Hello from a PV32 guest" in out
    assert "warning" not in err


def test_plus_equals_of_a_list_to_a_string_names_its_line(tmp_path, capsys):
    config = _host(tmp_path, guest='cmdline = "x"\ncmdline += ["y"]\n')
    status, out, err = _launch(capsys, config)
    assert status == 2 and out == ""
    assert (f"{tmp_path / 'hello.cfg'}:5:12: error: '+=' joins a string to a string or "
            f"a list to a list, not a list to a string ('cmdline' is set at line 4)") in err


# --- KEY=VALUE on the command line -----------------------------------------------------

def test_overrides_apply_to_the_host_config_and_name_colon_to_a_guest(tmp_path, capsys):
    config = _host(tmp_path)
    status, out, err = _launch(capsys, config, "memory=8", "hello:memory=4",
                               'hello:cmdline="from the command line"')
    assert status == 0, err
    assert "Domain-0 | domain 0: running, 2048 pages" in out         # dom0: 8 MiB
    assert "I have 1024 pages of memory" in _pages(out)
    assert "hello    | Hello from from the command line" in out
    assert err == ""


def test_an_override_replaces_a_file_value_silently_and_a_bare_word_is_a_string(
        tmp_path, capsys):
    config = _host(tmp_path, host='sched = "credit"\n')
    status, out, err = _launch(capsys, config, "sched=rr", "hello:cmdline=word")
    assert status == 0, err
    assert "hello    | Hello from word" in out
    assert err == ""                       # overriding is what the user asked for


def test_plus_equals_on_the_command_line_appends_to_the_file(tmp_path, capsys):
    (tmp_path / "hi.cfg").write_text(f'name = "hi"\nkernel = "{HELLO}"\nmemory = 2\n')
    config = _host(tmp_path, guest='cmdline = "one"\n')
    status, out, err = _launch(capsys, config, f'guests+=["{tmp_path / "hi.cfg"}"]',
                               'hello:cmdline+=" two"')
    assert status == 0, err
    assert "hello    | Hello from one two" in out
    assert "hi       | Hello from a PV32 guest" in out


def test_options_may_come_between_overrides(tmp_path, capsys):
    config = _host(tmp_path)
    status = main(["launch", str(config), "hello:memory=4", "--engine", "interp",
                   "hello:cmdline=later", "--colour", "never"])
    out = capsys.readouterr().out
    assert status == 0
    assert "hello    | Hello from later" in out
    assert "I have 1024 pages of memory" in _pages(out)


def test_a_relative_path_in_an_override_is_taken_from_the_current_directory(
        tmp_path, capsys, monkeypatch):
    config = _host(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "mine.s").write_text(HELLO.read_text().replace("Goodbye.", "So long."))
    monkeypatch.chdir(work)
    status, out, err = _launch(capsys, config, "hello:kernel=mine.s")
    assert status == 0, err
    assert "hello    | So long." in out


@pytest.mark.parametrize("override, message, caret", [
    ("memory=lots", "'memory' must be a number, not a string", 7),
    ("hello:memory=0", "'memory' must be between 1 and 4096 MiB, not 0", 13),
    ("hello:memroy=4", "unknown key 'memroy' (did you mean 'memory'?)", 6),
    ("memory", "'memory' is not a KEY=VALUE setting (for a guest, NAME:KEY=VALUE)", 0),
    ('name="x', "unterminated string in the value of 'name' (missing closing \")", 5),
    ("ghost:memory=4", "no domain of this host is named 'ghost' (its domains: Domain-0, "
                       "hello)", 0),
    ("hello:kernel=nowhere.s", "kernel source", 13),
])
def test_a_bad_override_is_an_error_naming_the_command_line(tmp_path, capsys, override,
                                                             message, caret):
    status, out, err = _launch(capsys, _host(tmp_path), override)
    assert status == 2 and out == ""
    assert err.startswith(f"paravisor launch: command line: error: {message}")
    assert err.splitlines()[1:] == [f"    {override}", "    " + " " * caret + "^"]


def test_an_unsupported_key_in_an_override_warns_naming_it(tmp_path, capsys):
    status, out, err = _launch(capsys, _host(tmp_path), "hello:vnc=1")
    assert status == 0
    assert ("command line: warning: hello:vnc=1: key 'vnc' is not supported by "
            "paravisor and is ignored") in err


# --- mistakes name their file and line, before anything boots --------------------------

def test_a_missing_kernel_names_the_config_file_and_line(tmp_path, capsys):
    config = _host(tmp_path)
    (tmp_path / "hello.cfg").write_text('name = "hello"\nmemory = 2\nkernel = "gone.s"\n')
    status, out, err = _launch(capsys, config)
    assert status == 2 and out == ""                     # nothing booted
    assert err.startswith(f"paravisor launch: {tmp_path / 'hello.cfg'}:3:10: error: "
                          f"kernel source {tmp_path / 'gone.s'} does not exist")


def test_cpus_out_of_range_names_its_line_before_anything_boots(tmp_path, capsys):
    config = _host(tmp_path, guest='vcpus = 2\ncpus = ["0", "2-3"]\n', host="pcpus = 2\n")
    status, out, err = _launch(capsys, config)
    assert status == 2 and out == ""                     # dom0 did not boot either
    assert err.startswith(f"paravisor launch: {tmp_path / 'hello.cfg'}:5:14: error: cpus: "
                          f"\"2-3\" leaves vCPU 1 no pCPU to run on: the host has pCPUs "
                          f"0-1 (its 'pcpus' is 2)")


def test_dom0_cpus_out_of_range_names_its_line(tmp_path, capsys):
    config = _host(tmp_path, host='cpus = "1"\n')
    status, out, err = _launch(capsys, config)
    assert status == 2 and out == ""
    assert f"{config}:5:8: error: cpus: \"1\" leaves every vCPU no pCPU" in err
