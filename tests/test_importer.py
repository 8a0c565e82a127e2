"""Plain-text and Markdown scripts: read as people write them, never hanging, never crashing."""

from __future__ import annotations

import time

import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from player.cli import cli
from player.errors import ScriptError
from player.importer import import_script, parse_pause
from player.script import load_session
from player.timeline import TimingOptions, build_timeline

FIXTURES = sorted(p for p in (ROOT / "tests" / "data" / "imports").glob("*") if ".expected." not in p.name)


@pytest.mark.parametrize(
    "cue, seconds",
    [("5s", 5), ("pause 5s", 5), ("PAUSE:5", 5), ("pause", 5), ("Pause 5 seconds", 5), ("pause for 10 seconds", 10),
     ("10 seconds of silence", 10), ("2 minutes of silence", 120), ("Pause", 5), ("long pause", 15),
     ("thirty seconds", 30), ("pause for forty-five seconds", 45), ("a minute of silence", 60),
     ("1:15–1:45: silence for reflection", 30), ("music fades", None), ("speak softly", None)],
)
def test_pause_cues(cue, seconds):
    assert parse_pause(cue) == seconds


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_each_fixture_becomes_exactly_the_expected_script(path):
    imported = import_script(path)
    expected_path = path.with_name(path.name + ".expected.yaml")
    expected = yaml.safe_load(expected_path.read_text(encoding="utf-8"))
    assert imported.data == expected
    # and the same timeline as the YAML script would give
    ours = build_timeline(imported.session, TimingOptions(), 150)
    theirs = build_timeline(load_session(expected_path), TimingOptions(), 150)
    strip = lambda t: [(e.kind, e.purpose, e.bell, e.text, e.length, e.section) for e in t.events]  # noqa: E731
    assert strip(ours) == strip(theirs)


def test_there_are_enough_fixtures():
    assert len(FIXTURES) >= 30


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_convert_round_trips_to_yaml_that_validates(tmp_path, path):
    out = tmp_path / "converted.yaml"
    result = CliRunner().invoke(cli, ["convert", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    converted = load_session(out)
    imported = import_script(path).session
    assert (converted.title, converted.summary, converted.mode) == (imported.title, imported.summary, imported.mode)
    a = build_timeline(converted, TimingOptions(), 150)
    b = build_timeline(imported, TimingOptions(), 150)
    assert [(e.kind, e.text, e.length) for e in a.events] == [(e.kind, e.text, e.length) for e in b.events]


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def test_windows_line_endings_a_bom_rtl_and_emoji(tmp_path):
    text = "\ufeff# שלום 🌿\r\n\r\nBreathe in. 🌬️ (pause 2 seconds) Breathe out.\r\n\r\nמה שלומך?\r\n"
    data = import_script(write(tmp_path, "odd.md", text)).data
    assert data["title"] == "שלום 🌿"
    assert data["title"] == "שלום 🌿"  # shown, never spoken: kept as written
    assert data["steps"] == [{"say": "Breathe in. [2s] Breathe out."}, {"say": "מה שלומך?"}]  # the emoji is not


def test_only_pause_cues(tmp_path):
    data = import_script(write(tmp_path, "pauses.txt", "(Pause)\n\n...\n\n(long pause)\n")).data
    assert data["steps"] == [{"pause": "5s"}, {"pause": "3s"}, {"pause": "15s"}]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.md", "", "nothing to play: no text or cues were found"),
        ("directions.md", "(speak softly)\n\n*slowly*\n", "nothing to play: no text or cues were found"),
        ("binary.txt", b"GIF89a\x00\x01\x02", "this is not a text file (it holds binary data)"),
        ("latin1.txt", b"caf\xe9 au lait\n", "not UTF-8 text; save the file as UTF-8"),
        ("big.md", "Breathe.\n" * 130_000, "file is 1,170,000 bytes; scripts are limited to 1 MB"),
    ],
)
def test_unplayable_files_give_one_clear_error(tmp_path, name, content, message):
    with pytest.raises(ScriptError) as info:
        import_script(write(tmp_path, name, content))
    assert [p.message for p in info.value.problems] == [message]


def test_an_unknown_cue_is_a_warning_or_with_strict_an_error(tmp_path):
    path = write(tmp_path, "cue.md", "# Title\n\nHello.\n\n[music fades]\n")
    imported = import_script(path)
    assert [(w.line, w.message) for w in imported.warnings] == [(5, "unrecognised cue [music fades], left out")]
    with pytest.raises(ScriptError) as info:
        import_script(path, strict=True)
    assert str(info.value) == f"{path}:5: unrecognised cue [music fades], left out"


def test_placeholders_make_a_couple_session_and_are_checked(tmp_path):
    ok = import_script(write(tmp_path, "c.md", "{a}, tell {b} about your day.\n\n[talk 1m]\n"))
    assert ok.session.mode == "couple"
    with pytest.raises(ScriptError) as info:
        import_script(write(tmp_path, "bad.md", "Hello {name}.\n"))
    assert "unknown placeholder {name}" in str(info.value)


@pytest.mark.parametrize(
    "line",
    ["[" * 50_000, "(" * 50_000 + ")" * 50_000, "*" * 100_000, "_a" * 50_000, "**[" + "x" * 100_000,
     "pause for " + "twenty " * 20_000, "#" * 50_000 + " title", "1:" * 50_000, "[a](" * 30_000,
     "- " * 50_000 + "x", "(" + "10 seconds of " * 10_000 + ")", "# a" + " " * 200_000 + "b",
     "## " + "# " * 100_000 + "x"],
)
def test_long_adversarial_lines_parse_quickly(tmp_path, line):
    path = write(tmp_path, "evil.md", f"# T\n\n{line}\n")
    start = time.perf_counter()
    try:
        import_script(path)
    except ScriptError:
        pass
    assert time.perf_counter() - start < 2.0


def test_deeply_nested_markdown(tmp_path):
    nested = "\n".join("  " * i + f"- level {i}" for i in range(500)) + "\n" + ">" * 500 + " quoted\n"
    data = import_script(write(tmp_path, "deep.md", "# Deep\n\n" + nested)).data
    assert data["steps"][0] == {"say": "level 0"} and len(data["steps"]) == 501


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list("#*_[]()-:.…{}ab 0123456789 pausecondsilnt\n\r\t—–!?\"'`>|~/\\")) |
               st.characters(), max_size=400))
def test_fuzz_never_raises_anything_but_a_script_error(tmp_path, text):
    path = tmp_path / "fuzz.md"
    path.write_bytes(text.encode("utf-8", errors="replace"))  # lone surrogates cannot be UTF-8
    try:
        import_script(path)
    except ScriptError:
        pass


def test_front_matter_problems_are_one_clear_error_at_the_right_line(tmp_path):
    for text, line in [("---\ntitle: !custom Evening\n---\nHello.\n", 2),
                       ("---\ntitle: T\nsummary: &x S\n---\nHello.\n", 3)]:
        with pytest.raises(ScriptError) as info:
            import_script(write(tmp_path, "fm.md", text))
        assert [p.line for p in info.value.problems] == [line], info.value


def test_notes_and_warnings_name_their_own_line(tmp_path):
    path = write(tmp_path, "lines.md", "# T\n\nFirst line,\n(eyes closed) second line,\nthird [odd cue] line.\n")
    imported = import_script(path)
    assert [(n.line, n.message) for n in imported.notes] == [(4, "direction (eyes closed)")]
    assert [(w.line, w.message) for w in imported.warnings] == [(5, "unrecognised cue [odd cue], left out")]
