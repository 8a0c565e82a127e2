"""The command line: output, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
import wave

import pytest
from click.testing import CliRunner
from conftest import run_env

from player.cli import cli
from player.library import bundled_paths


@pytest.fixture
def run(fake_engine):
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_list_shows_every_bundled_session(run):
    result = run("list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) >= 7
    assert any(line.startswith("arriving ") and "solo" in line and "min" in line for line in lines)


def test_list_json(run):
    rows = json.loads(run("list", "--json").output)
    assert {tuple(sorted(r)) for r in rows} == {("id", "minutes", "mode", "summary", "tags", "title")}
    arriving = next(r for r in rows if r["id"] == "arriving")
    assert arriving["mode"] == "solo" and 2 < arriving["minutes"] < 4 and arriving["tags"]


def test_show_json_is_estimated_then_exact_after_render(run):
    before = json.loads(run("show", "arriving", "--json").output)
    assert before["estimated"] is True and before["id"] == "arriving"
    assert run("render", "arriving").exit_code == 0
    after = json.loads(run("show", "arriving", "--json").output)
    assert after["estimated"] is False
    assert [e["kind"] for e in after["events"]] == [e["kind"] for e in before["events"]]
    kinds = {e["kind"] for e in after["events"]}
    assert kinds <= {"section", "say", "silence", "bell"}


def test_show_text(run):
    result = run("show", "daily-check-in", "--partner-a", "Sam", "--partner-b", "Alex")
    assert result.exit_code == 0
    assert result.output.startswith("Daily Check In (couple, ")
    assert "Sam" in result.output and "── " in result.output and "silence  talk" in result.output


def test_first_picks_who_begins_and_events_say_who_speaks(run):
    def talkers(*extra):
        data = json.loads(run("show", "daily-check-in", "--json", *extra).output)
        return [(e["speaker"], e["listener"]) for e in data["events"] if e["purpose"] in ("talk", "respond")]

    assert talkers()[0] == ("a", "b")
    assert talkers("--first", "b")[0] == ("b", "a")
    assert talkers("--first", "b") == [(s, listener) for listener, s in talkers()]
    bad = CliRunner().invoke(cli, ["show", "daily-check-in", "--first", "c"])
    assert bad.exit_code == 2 and "'c' is not one of 'a', 'b'" in bad.output


def test_render_counts_and_a_warm_render_does_nothing(run, fake_engine):
    first = run("render", "arriving")
    synthesized = int(first.output.split()[0])
    assert synthesized > 5 and first.output.endswith(" clips synthesized, 0 already cached.\n")
    asked = len(fake_engine.texts)
    second = run("render", "arriving")
    assert second.output == f"0 clips synthesized, {synthesized} already cached.\n"
    assert len(fake_engine.texts) == asked


def test_render_needs_sessions_or_all(run):
    result = CliRunner().invoke(cli, ["render"])
    assert result.exit_code == 2 and "name one or more sessions, or give --all" in result.output


def test_export_writes_a_wav_and_says_so(run, tmp_path):
    target = tmp_path / "out.wav"
    result = run("export", "arriving", "-o", str(target), "--pause-scale", "0.1")
    assert result.exit_code == 0
    assert result.output.startswith(f"Wrote {target} (") and result.output.endswith(" MB)\n")
    with wave.open(str(target)) as wav:
        assert wav.getnframes() > 22050 * 30


def test_unknown_session(run):
    result = CliRunner().invoke(cli, ["show", "nope"])
    assert result.exit_code == 1
    assert result.output == "Error: no session named 'nope' (see 'guided list')\n"


def test_export_to_a_folder_fails_before_synthesis(run, tmp_path, fake_engine):
    result = CliRunner().invoke(cli, ["export", "arriving", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path} is a folder; give a file name, e.g. {tmp_path}/session.wav\n"
    assert fake_engine.texts == []


def test_validate(run, write_script):
    good = write_script("title: T\nsummary: S\nsteps: [bell]\n", "good.yaml")
    bad = write_script("title: T\nsummary: S\nsteps:\n  - pause: never\n", "bad.yaml")
    ok = CliRunner().invoke(cli, ["validate", str(good)])
    assert (ok.exit_code, ok.output) == (0, f"{good}: valid (1 steps)\n")
    result = CliRunner().invoke(cli, ["validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:4: pause needs a duration like 45s, 2m or 1m30s, not 'never'" in result.output
    assert result.output.endswith("Error: 1 of 2 scripts have problems\n")


def test_invalid_script_is_never_synthesized(run, write_script, fake_engine):
    bad = write_script("title: T\nsummary: S\nsteps:\n  - say: Hello.\n  - pause: never\n")
    result = CliRunner().invoke(cli, ["render", str(bad)])
    assert result.exit_code == 1 and "pause needs a duration" in result.output
    assert fake_engine.texts == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["play", "arriving", "--rate", "20"], "Invalid value for '--rate'"),
        (["play", "arriving", "--volume", "2"], "Invalid value for '--volume'"),
        (["play", "arriving", "--pause-scale", "9"], "Invalid value for '--pause-scale'"),
        (["play", "arriving", "--partner-a", ""], "a name is 1 to 40 characters, not 0"),
        (["export", "arriving"], "Missing option '-o'"),
    ],
)
def test_bad_options_are_usage_errors(run, args, message):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and message in result.output


def test_voices(run):
    rows = json.loads(run("voices", "--json").output)
    assert rows == [{"id": "fake/one", "name": "Fake One", "languages": ["en"], "engine": "pyttsx3", "default": True},
                    {"id": "fake/two", "name": "Fake Two", "languages": ["en"], "engine": "pyttsx3", "default": False}]
    assert run("voices").output.startswith("pyttsx3 (the default engine):\n* fake/one  Fake One  (en)\n  fake/two")


def test_unknown_voice_is_one_line(run):
    result = CliRunner().invoke(cli, ["render", "arriving", "--voice", "zzz"])
    assert result.exit_code == 1
    assert result.output == "Error: unknown voice 'zzz'; valid ids (see 'guided voices'): fake/one, fake/two\n"


def test_cache_info_and_clear(run, tmp_path):
    run("render", "arriving")
    info = json.loads(run("cache", "info", "--json").output)
    assert info["path"] == str(tmp_path / "cache") and info["clips"] > 5
    cleared = run("cache", "clear")
    assert cleared.output == f"Removed {info['clips']} clips.\n"
    assert json.loads(run("cache", "info", "--json").output)["clips"] == 0


def test_cache_dir_option_wins(run, tmp_path):
    run("--cache-dir", str(tmp_path / "elsewhere"), "render", "arriving")
    assert list((tmp_path / "elsewhere").rglob("*.wav"))
    assert not (tmp_path / "cache").exists()


def all_commands(group=cli, prefix=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from all_commands(command, prefix + (name,))
        yield prefix + (name,), command


@pytest.mark.parametrize("path, command", list(all_commands()), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_has_help_with_examples(path, command):
    result = CliRunner().invoke(cli, [*path, "-h"])
    assert result.exit_code == 0
    assert command.help and len(command.help.split("\n")[0]) > 10
    if not hasattr(command, "commands") and path[0] != "cache":
        assert "Examples:" in result.output


def test_top_level_help_and_version():
    result = CliRunner().invoke(cli, ["-h"])
    assert result.exit_code == 0
    for name in ["list", "show", "validate", "render", "play", "export", "voices", "cache"]:
        assert f"  {name} " in result.output
    assert "docs/script-format.md" in result.output
    assert CliRunner().invoke(cli, ["--version"]).output.startswith("guided, version ")


def test_show_fits_a_session_to_minutes(run):
    data = json.loads(run("show", "four-practices", "--minutes", "15", "--json").output)
    assert abs(data["duration_s"] - 900) < 1
    impossible = CliRunner().invoke(cli, ["show", "four-practices", "--minutes", "2"])
    assert impossible.exit_code == 1
    assert impossible.output.startswith("Error: four-practices cannot last 2 minutes: with its speech unchanged")
    both = CliRunner().invoke(cli, ["show", "arriving", "--minutes", "3", "--pause-scale", "2"])
    assert both.exit_code == 2 and "give --minutes or --pause-scale, not both" in both.output


def test_play_from_an_unknown_section_is_a_usage_error(run):
    result = CliRunner().invoke(cli, ["play", "arriving", "--from", "nowhere"])
    assert result.exit_code == 2
    assert "no step or section 'nowhere' in arriving (sections: " in result.output


def test_export_mp3_with_captions(run, tmp_path):
    result = run("export", "arriving", "-o", str(tmp_path / "a.mp3"), "--captions", str(tmp_path / "a.vtt"),
                 "--pause-scale", "0.1")
    assert result.exit_code == 0
    assert result.output.endswith(f" MB) and {tmp_path / 'a.vtt'}\n")
    assert (tmp_path / "a.vtt").read_text().startswith("WEBVTT\n\n00:00:00.000 --> 00:00:0")


@pytest.mark.slow
def test_export_all_writes_a_playlist(run, tmp_path):
    folder = tmp_path / "all"
    folder.mkdir()
    result = run("export", "--all", "-o", str(folder), "--format", "ogg", "--captions", "srt", "--pause-scale", "0.05")
    assert result.exit_code == 0, result.output
    playlist = (folder / "guided.m3u8").read_text().splitlines()
    count = len(bundled_paths())
    assert playlist[0] == "#EXTM3U" and len(playlist) == 1 + 2 * count
    at = playlist.index("arriving.ogg")
    assert playlist[at - 1].startswith("#EXTINF:") and playlist[at - 1].endswith(",guided - Arriving")
    assert len(list(folder.glob("*.ogg"))) == count and len(list(folder.glob("*.srt"))) == count


def test_bad_caption_targets(run, tmp_path):
    wrong = CliRunner().invoke(cli, ["export", "arriving", "-o", str(tmp_path / "a.wav"), "--captions",
                                     str(tmp_path / "a.txt")])
    assert wrong.exit_code == 1 and wrong.output == "Error: captions are written as .vtt or .srt, not '.txt'\n"
    assert not (tmp_path / "a.wav").exists()


@pytest.mark.parametrize("flags, name", [([], "mine.yaml"), (["--couple"], "mine.yaml"), (["--markdown"], "mine.md"),
                                         (["--couple", "--markdown"], "mine.md")])
def test_new_writes_a_starter_that_validates_and_will_not_overwrite(tmp_path, monkeypatch, flags, name):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["new", "mine", *flags])
    assert result.exit_code == 0 and (tmp_path / name).is_file()
    checked = CliRunner().invoke(cli, ["validate", "--strict", name])
    assert checked.exit_code == 0, checked.output
    again = CliRunner().invoke(cli, ["new", "mine", *flags])
    assert again.exit_code == 1 and again.output == f"Error: {name} already exists; choose another name\n"


def test_show_a_markdown_script_makes_every_decision_visible(run, tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\n(speak softly)\n\nBreathe in. (pause for ten seconds) Breathe out.\n\n[music]\n")
    output = run("show", str(path)).output
    assert "L5     say      Breathe in." in output and "L5     silence  break 10.0s" in output
    assert "How the text was read:\n  L3     not spoken  direction (speak softly)\n" in output
    assert "  L5     cue         (pause for ten seconds) is a silence of 10 s\n" in output
    assert "Warnings (--strict makes these errors):\n  L7     unrecognised cue [music], left out" in output
    strict = CliRunner().invoke(cli, ["show", str(path), "--strict"])
    assert strict.exit_code == 1 and strict.output == f"Error: {path}:7: unrecognised cue [music], left out\n"


def test_list_keeps_lengths_in_a_memo_made_again_when_a_script_changes(tmp_path, write_script):
    from player import app

    workspace = app.Workspace(tmp_path / "clips")
    path = write_script("title: T\nsummary: S\nsteps:\n  - say: Hello there.\n  - pause: 10s\n")
    first = app.list_sessions(workspace, [path])
    assert (tmp_path / "clips" / app.MEMO_NAME).is_file()
    assert app.list_sessions(workspace, [path]) == first
    path.write_text("title: T2\nsummary: S\nsteps:\n  - say: Hello there.\n  - pause: 70s\n", encoding="utf-8")
    changed = app.list_sessions(workspace, [path])
    assert changed[0].title == "T2" and changed[0].minutes == round(first[0].minutes + 1, 1)
    (tmp_path / "clips" / app.MEMO_NAME).write_text("{not json", encoding="utf-8")
    assert app.list_sessions(workspace, [path]) == changed  # a damaged memo is only made again


def test_a_warm_list_reads_no_script(tmp_path):
    code = ("import sys; from click.testing import CliRunner; from player.cli import cli; "
            "r = CliRunner().invoke(cli, ['list']); assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in ('yaml', 'numpy', 'player.script', 'player.timeline') if m in sys.modules))")
    env = run_env(tmp_path)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)  # makes the memo
    warm = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    assert warm.stdout.strip() == "[]"


def test_the_disk_driver_without_its_file_is_refused_and_writes_nothing(tmp_path):
    env = {k: v for k, v in run_env(tmp_path).items() if k != "SDL_DISKAUDIOFILE"}
    result = subprocess.run([sys.executable, "-m", "player", "play", "arriving", "--audio-driver", "disk",
                             "--engine", "espeak-ng"], env=env, cwd=tmp_path, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "SDL_DISKAUDIOFILE" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "sdlaudio.raw").exists()


def test_debug_shows_the_traceback_and_a_closed_pipe_is_quiet(tmp_path):
    env = run_env(tmp_path)
    plain = subprocess.run([sys.executable, "-m", "player", "show", "no-such"], env=env, capture_output=True, text=True)
    debug = subprocess.run([sys.executable, "-m", "player", "--debug", "show", "no-such"], env=env, capture_output=True,
                           text=True)
    assert plain.returncode == debug.returncode == 1
    assert plain.stderr == "Error: no session named 'no-such' (see 'guided list')\n"
    assert "Traceback" in debug.stderr and debug.stderr.endswith(plain.stderr)
    reader = subprocess.Popen([sys.executable, "-m", "player", "show", "closer-step-by-step"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.read(20)
    reader.stdout.close()  # as `| head -1` does
    assert reader.wait(timeout=60) == 0 and reader.stderr.read() == b""


def test_usage_mistakes_found_past_parsing_are_one_line_and_exit_2(run, tmp_path):
    cases = {("export", "arriving", "-o", str(tmp_path / "a.wav"), "--format", "mp3"):
             "Error: --format goes with --all; one export takes its format from -o's suffix (e.g. -o a.mp3)\n",
             ("play", "arriving", "--from", "2", "--resume"): "Error: give --from or --resume, not both\n"}
    for args, said in cases.items():
        result = CliRunner().invoke(cli, list(args))
        assert (result.exit_code, result.output) == (2, said)
    assert not (tmp_path / "a.wav").exists()
    nothing = CliRunner().invoke(cli, ["show", "arriving", "--say-a", "<>"])
    assert nothing.exit_code == 2 and "a pronunciation needs a letter" in nothing.output


def test_a_length_far_out_of_reach_is_refused_before_any_clip_is_made(run, fake_engine):
    for command in ("render", "export"):
        extra = ["-o", "never.wav"] if command == "export" else []
        result = CliRunner().invoke(cli, [command, "daily-check-in", "--minutes", "0.5", *extra])
        assert result.exit_code == 1 and "cannot last 0.5 minutes" in result.output and "from about " in result.output
    assert fake_engine.texts == []  # nothing was spoken to find that out
