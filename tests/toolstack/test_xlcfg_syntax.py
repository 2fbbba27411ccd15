"""xl.cfg syntax (xl.cfg(5) "SYNTAX"): value forms, separators, comments, escapes, and
the exact position and wording of every syntax error."""

import pytest

from paravisor.errors import SourceError
from paravisor.toolstack.xlcfg import (
    COMMAND_LINE,
    ConfigError,
    apply_overrides,
    parse_override,
    parse_xl,
    quote_string,
    render_value,
)


def plain(text: str) -> dict:
    return {key: setting.value.plain() for key, setting in parse_xl(text, "t.cfg").items()}


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_xl(text, "t.cfg")
    return info.value


# --- value forms ---------------------------------------------------------------------

def test_strings_in_double_and_single_quotes():
    assert plain('a = "x y"\nb = \'z "q"\'\n') == {"a": "x y", "b": 'z "q"'}


def test_string_escapes():
    text = r'a = "l1\nl2\tT\\ \" \' \r"'
    assert plain(text) == {"a": "l1\nl2\tT\\ \" ' \r"}


def test_hash_inside_a_string_is_not_a_comment():
    assert plain('a = "x # y" # real comment') == {"a": "x # y"}


@pytest.mark.parametrize("text, number", [
    ("10", 10), ("0", 0), ("010", 8), ("0x1F", 31), ("0XfF", 255), ("-5", -5),
    ("-0x10", -16), ("-010", -8), ("9223372036854775807", (1 << 63) - 1),
    ("-9223372036854775808", -(1 << 63)),
])
def test_numbers_decimal_octal_hex_negative(text, number):
    assert plain(f"n = {text}") == {"n": number}


def test_lists_nest_span_lines_and_allow_comments_and_trailing_comma():
    text = ("disk = [ 'a',   # first\n"
            "         'b',\n"
            "         [1, 0x2,],\n"
            "]\n")
    assert plain(text) == {"disk": ["a", "b", [1, 2]]}


def test_empty_list():
    assert plain("vif = [ ]") == {"vif": []}


def test_semicolons_newlines_blank_and_empty_statements():
    text = 'name="h0"; type="hvm";;\n\n  ; memory = 4 ;\r\n# only a comment\n'
    assert plain(text) == {"name": "h0", "type": "hvm", "memory": 4}


def test_empty_file_and_comment_only_file_have_no_settings():
    assert plain("") == {}
    assert plain("# nothing\n   \n") == {}


def test_settings_keep_key_and_value_positions():
    settings = parse_xl('\n  memory =\t64\nvif = [\n  "mac=x"]', "t.cfg")
    memory = settings["memory"]
    assert (memory.line, memory.col) == (2, 3)
    assert (memory.value.line, memory.value.col) == (2, 12)
    item = settings["vif"].value.data[0]
    assert (item.line, item.col, item.source_line) == (4, 3, '  "mac=x"]')


def test_verbatim_marks_strings_without_escapes():
    settings = parse_xl('a = "plain"\nb = "esc\\n"', "t.cfg")
    assert settings["a"].value.verbatim
    assert not settings["b"].value.verbatim


def test_a_key_set_again_takes_its_last_value_and_remembers_every_line():
    settings = parse_xl("a = 1\nb = 2\na = 'x'\na = 3\n", "t.cfg")
    assert settings["a"].value.plain() == 3
    assert settings["a"].set_at == (1, 3, 4)
    assert settings["b"].set_at == (2,)


def test_plus_equals_appends_to_a_list_or_a_string_as_xl_does():
    text = ("vif = ['mac=1']\nvif += ['mac=2', 'mac=3']\n"
            "extra = 'console=hvc0'\nextra += ' quiet'\n")
    settings = parse_xl(text, "t.cfg")
    assert plain(text) == {"vif": ["mac=1", "mac=2", "mac=3"],
                           "extra": "console=hvc0 quiet"}
    assert [item.line for item in settings["vif"].value.data] == [1, 2, 2]
    assert settings["vif"].set_at == (1,)          # appending is not setting again
    assert not settings["extra"].value.verbatim    # offsets no longer map to one line


def test_plus_equals_on_an_unset_key_sets_it():
    assert plain("disk += ['a,xvda']\ns += 'x'") == {"disk": ["a,xvda"], "s": "x"}


def test_settings_keep_file_order():
    assert list(plain("z = 1\na = 2\nm = 3")) == ["z", "a", "m"]


# --- errors, with exact positions ----------------------------------------------------

@pytest.mark.parametrize("text, line, col, words", [
    ('a = 1\nname = "x\n', 2, 8, "unterminated string in the value of 'name'"),
    ("name = 'x", 1, 8, "unterminated string"),
    ("disk = [ 'a',\n  'b'\n", 1, 8, "unterminated list in the value of 'disk' (missing ']')"),
    ('a = "x\\qy"', 1, 7, "unknown escape '\\q'"),
    ("a = 08", 1, 5, "invalid number '08'"),
    ("a = 0x", 1, 5, "invalid number '0x'"),
    ("a = 12abc", 1, 5, "invalid number '12abc'"),
    ("a = 9223372036854775808", 1, 5, "out of range"),
    ("a = pv", 1, 5, "write \"pv\" in quotes"),
    ("a =", 1, 4, "key 'a' has no value"),
    ("a = ; b = 1", 1, 5, "key 'a' has no value"),
    ("= 3", 1, 1, "missing key before '='"),
    ("3 = 4", 1, 1, "expected a key"),
    ("memory 32", 1, 8, "expected '=' or '+=' after key 'memory'"),
    ("memory + = 32", 1, 8, "expected '=' or '+=' after key 'memory', found '+'"),
    ("m = 1\nm += 2", 2, 6, "'+=' cannot be used with a number: it joins a string to a "
                            "string or a list to a list (write m = 2)"),
    ("n += 4", 1, 6, "'+=' cannot be used with a number"),
    ("m = 1\nm += '2'", 2, 6, "'+=' joins a string to a string or a list to a list, not "
                              "a string to a number ('m' is set at line 1)"),
    ("m = 'x'\nm += [2]", 2, 6, "not a list to a string ('m' is set at line 1)"),
    ("m = [1]\nm += 'x'", 2, 6, "not a string to a list"),
    ('a = "x" "y"', 1, 9, "after the value of 'a'"),
    ("a = 1 2", 1, 7, "separate settings with a newline or ';'"),
    ("a = [1 2]", 1, 8, "expected ',' or ']'"),
    ("a = [,]", 1, 6, "expected a list element or ']'"),
    ("a = [1,,2]", 1, 8, "found ','"),
    ("a = @", 1, 5, "expected a value for 'a'"),
    ("  ~garbage", 1, 3, "expected a key"),
    ("a = -", 1, 5, "expected a value"),
])
def test_syntax_errors_name_position_and_key(text, line, col, words):
    err = error_of(text)
    assert (err.path, err.line, err.col) == ("t.cfg", line, col)
    assert words in err.message


def test_error_renders_like_a_compiler_with_source_line_and_caret():
    err = error_of('name = "guest"\nmemory = 0x\n')
    assert str(err) == ("t.cfg:2:10: error: invalid number '0x' in the value of 'memory' "
                        "(numbers are decimal, 0octal or 0xhex)\n"
                        "    memory = 0x\n"
                        "             ^")


def test_config_error_is_a_source_error_with_status_2():
    err = error_of("=")
    assert isinstance(err, SourceError)
    assert err.status == 2


def test_whole_file_errors_render_without_position():
    err = ConfigError("x.cfg", 0, 0, "no such config file")
    assert str(err) == "x.cfg: error: no such config file"


def test_huge_decimal_number_is_an_error_not_a_crash():
    err = error_of("a = " + "9" * 5000)
    assert "out of range" in err.message


# --- rendering -----------------------------------------------------------------------

def test_quote_string_round_trips_every_escape():
    text = 'q"s\'b\\n\nt\tr\r#'
    assert plain(f"a = {quote_string(text)}") == {"a": text}


def test_render_value_writes_nested_lists():
    rendered = render_value(["a", 1, ["b", -2]])
    assert rendered == '[ "a", 1, [ "b", -2 ] ]'
    assert plain(f"x = {rendered}") == {"x": ["a", 1, ["b", -2]]}


def test_render_value_refuses_booleans():
    with pytest.raises(TypeError):
        render_value(True)


# --- KEY=VALUE on the command line ----------------------------------------------------

@pytest.mark.parametrize("text, domain, key, value, append", [
    ("memory=64", None, "memory", 64, False),
    ("hello:memory=0x10", "hello", "memory", 16, False),
    ('extra="a b"', None, "extra", "a b", False),
    ("vif+=['bridge=br1']", None, "vif", ["bridge=br1"], True),
    ("spin-light.2:cpus = 0-3", "spin-light.2", "cpus", "0-3", False),   # a bare word
    ("sched=rr", None, "sched", "rr", False),
    ("cmdline+= quiet", None, "cmdline", "quiet", True),
])
def test_an_override_is_domain_key_and_value(text, domain, key, value, append):
    name, setting = parse_override(text)
    assert (name, setting.key, setting.value.plain(), setting.append) == (
        domain, key, value, append)
    assert setting.value.origin == COMMAND_LINE and setting.source_line == text
    assert setting.set_at == ()              # replacing from the command line: no warning


@pytest.mark.parametrize("text, col, words", [
    ("memory", 1, "'memory' is not a KEY=VALUE setting"),
    ("=4", 1, "is not a KEY=VALUE setting"),
    ('name="x', 6, "unterminated string"),
    ("disk=['a'", 6, "unterminated list"),
    ("a:b:c=1", 1, "is not a KEY=VALUE setting"),
])
def test_a_malformed_override_is_an_error_showing_the_argument(text, col, words):
    with pytest.raises(ConfigError) as info:
        parse_override(text)
    err = info.value
    assert (err.path, err.col) == (COMMAND_LINE, col) and words in err.message
    assert str(err).startswith(f"command line: error: {err.message}\n    {text}\n")


def test_overrides_replace_or_append_as_if_written_last():
    settings = parse_xl("memory = 8\nvif = ['a']\nextra = 'x'\n", "t.cfg")
    merged = apply_overrides(settings, [parse_override(text)[1] for text in
                                        ("memory=16", "vif+=['b']", "extra+=' y'", "cap=5")],
                             "t.cfg")
    assert {key: setting.value.plain() for key, setting in merged.items()} == {
        "memory": 16, "vif": ["a", "b"], "extra": "x y", "cap": 5}
    assert merged["memory"].set_at == (1,)       # the file set it once
    with pytest.raises(ConfigError) as info:
        apply_overrides(settings, [parse_override("extra+=['y']")[1]], "t.cfg")
    assert info.value.path == COMMAND_LINE
    assert "not a list to a string ('extra' is set at t.cfg:3)" in info.value.message
