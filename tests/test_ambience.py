"""The ambience bed: how loud, ducked under speech, faded, looped, and the same in play and export."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile

from player.ambience import DUCK_DB, UNDER_SPEECH_DB, Ambience, ambience_loop
from player.display import Display
from player.errors import AmbienceError, GuidedError
from player.export import export_session
from player.playback import open_mixer, play_timeline
from player.speech.clips import TARGET_RMS
from player.timeline import SAMPLE_RATE

SCRIPT = """
title: Bed
summary: S
steps:
  - pause: 5s
  - say: A few words spoken over the bed, long enough to be measured.
  - pause: 6s
"""


@pytest.fixture
def prepared(fake_session):
    return fake_session(SCRIPT)


def db(x):
    return 20 * np.log10(np.sqrt(np.mean(np.asarray(x, dtype=float) ** 2)) / 32767)


def test_the_bed_sits_under_the_voice_ducks_and_fades(prepared, tmp_path):
    timeline, voiced = prepared
    plain, _ = soundfile.read(export_session(timeline, voiced, tmp_path / "plain.wav").path, dtype="int16")
    ambience = Ambience(ambience_loop("noise"), timeline.length)
    bedded, _ = soundfile.read(export_session(timeline, voiced, tmp_path / "bed.wav", ambience=ambience).path,
                               dtype="int16")
    bed = bedded.astype(int) - plain.astype(int)
    target_db = 20 * np.log10(TARGET_RMS)
    say = next(e for e in timeline.events if e.kind == "say")
    in_silence = bed[3 * SAMPLE_RATE : 5 * SAMPLE_RATE]  # past the fade in, before the voice
    assert abs(db(in_silence) - (target_db - UNDER_SPEECH_DB)) < 1.0
    under_voice = bed[say.start + SAMPLE_RATE // 2 : say.end - SAMPLE_RATE // 2]
    assert abs(db(under_voice) - (target_db - UNDER_SPEECH_DB - DUCK_DB)) < 1.0
    assert db(bed[: SAMPLE_RATE // 4]) < db(in_silence) - 15  # fading in
    assert db(bed[-SAMPLE_RATE // 4 :]) < db(in_silence) - 15  # and out
    assert np.abs(np.diff(bed)).max() < 2000  # no clicks where it ducks


@pytest.mark.slow
def test_play_and_export_agree_with_ambience(prepared, tmp_path, monkeypatch):
    timeline, voiced = prepared
    raw = tmp_path / "played.raw"
    monkeypatch.setenv("SDL_AUDIODRIVER", "disk")
    monkeypatch.setenv("SDL_DISKAUDIOFILE", str(raw))
    bed = ambience_loop("noise")
    play_timeline(timeline, voiced, open_mixer("t"), display=Display(timeline, io.StringIO()), interactive=False,
                  ambience=Ambience(bed, timeline.length))
    exported, _ = soundfile.read(export_session(timeline, voiced, tmp_path / "o.wav",
                                                ambience=Ambience(bed, timeline.length)).path, dtype="int16")
    played = np.frombuffer(raw.read_bytes(), dtype="<i2")
    start = np.flatnonzero(played)[0] - np.flatnonzero(exported)[0]
    np.testing.assert_array_equal(played[start : start + exported.size], exported)


def test_a_file_is_looped_and_bad_files_are_one_line(tmp_path):
    tone = (np.sin(2 * np.pi * 330 * np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE) * 8000).astype(np.int16)
    soundfile.write(tmp_path / "tone.wav", tone, SAMPLE_RATE)
    loop = ambience_loop(str(tmp_path / "tone.wav"))
    assert loop.size == tone.size and abs(np.sqrt(np.mean(loop**2)) - 1) < 0.05
    mixed = Ambience(loop, 10 * SAMPLE_RATE).mix(None, 5 * SAMPLE_RATE, np.zeros(SAMPLE_RATE, dtype=np.int16))
    assert np.abs(mixed).max() > 100  # five seconds in, a two-second file has looped
    (tmp_path / "short.wav").write_bytes(b"")
    soundfile.write(tmp_path / "short.wav", tone[:1000], SAMPLE_RATE)
    for bad, message in [(tmp_path / "none.ogg", "no ambience file at"),
                         (tmp_path / "short.wav", "is too short or too quiet to loop")]:
        with pytest.raises(AmbienceError, match=message):
            ambience_loop(str(bad))
    assert issubclass(AmbienceError, GuidedError)


@pytest.mark.slow
def test_the_play_command_plays_with_an_ambience_bed(tmp_path, write_script):
    """Through the whole command (app.play), not only the player: the bed is heard in a silence."""
    import subprocess
    import sys

    from conftest import run_env

    script = write_script("title: T\nsummary: S\nsteps:\n  - say: Hello there.\n  - pause: 2s\n")
    raw = tmp_path / "played.raw"
    env = run_env(tmp_path, SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(raw), GUIDED_ENGINE="espeak-ng")
    done = subprocess.run([sys.executable, "-m", "player", "play", str(script), "--ambience", "noise"], env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, done.stderr
    played = np.frombuffer(raw.read_bytes(), dtype="<i2")
    assert np.count_nonzero(played) > 0.9 * played.size  # no stretch of true silence: the bed runs under it all
