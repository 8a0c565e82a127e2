"""The pyttsx3 wrapper against the real espeak-ng: clips, checks, voices, a hung worker."""

from __future__ import annotations

import os
import signal
import subprocess

import numpy as np
import pytest
from conftest import ESPEAK_MARKS, GUIDED, run_env

from player.errors import SpeechError
from player.speech import VoiceSettings, get_engine
from player.speech.clips import check_clip, make_clip
from player.speech.pyttsx3_engine import Pyttsx3Engine
from player.timeline import SAMPLE_RATE

pytestmark = ESPEAK_MARKS


@pytest.fixture(scope="module")
def engine():
    engine = get_engine("pyttsx3")
    yield engine
    engine.close()


def test_a_sentence_becomes_plausible_speech(engine):
    clip = make_clip(engine, "Let your shoulders soften, and breathe.", VoiceSettings(), engine.resolve_voice(None))
    seconds = clip.size / SAMPLE_RATE
    assert 1.0 < seconds < 4.0
    assert np.abs(clip).max() > 10000
    assert clip[0] == 0 and abs(int(clip[-1])) < 50  # faded ends


def test_rate_changes_the_pace(engine):
    voice = engine.resolve_voice(None)
    text = "This sentence is spoken at two different speeds for the test."
    slow = make_clip(engine, text, VoiceSettings(rate=100), voice).size
    fast = make_clip(engine, text, VoiceSettings(rate=250), voice).size
    assert slow > 1.4 * fast


def test_voices_are_listed_and_unknown_ones_refused(engine):
    voices = engine.voices()
    ids = [v.id for v in voices]
    assert len(voices) > 10 and engine.resolve_voice(None) in ids
    english = next(v for v in voices if v.id.endswith("/en-us"))
    assert engine.resolve_voice(english.name) == english.id
    with pytest.raises(SpeechError) as info:
        engine.resolve_voice("klingon-warrior")
    assert str(info.value).startswith("unknown voice 'klingon-warrior'; valid ids (see 'guided voices'): ")
    assert english.id in str(info.value)


def test_a_different_voice_gives_a_different_clip(engine):
    text = "Hello there."
    a = make_clip(engine, text, VoiceSettings(), engine.resolve_voice("gmw/en"))
    b = make_clip(engine, text, VoiceSettings(), engine.resolve_voice("gmw/en-us"))
    assert a.size != b.size or not np.array_equal(a, b)


def test_cache_identity_names_engine_versions_and_settings(engine):
    identity = engine.cache_identity(VoiceSettings(rate=120, volume=0.8))
    assert identity["engine"] == "pyttsx3" and identity["driver"] == "espeak"
    assert identity["driver_version"] and identity["pyttsx3"]
    assert (identity["rate"], identity["volume"]) == (120, 0.8)


def test_empty_text_is_a_clear_error(engine):
    with pytest.raises(SpeechError, match="nothing to say"):
        engine.synthesize("   ", "gmw/en", 150, 1.0)


def test_many_sentences_in_a_row_all_come_out_whole(engine):
    # pyttsx3 now and then writes a WAV with no audio; the worker must mend that every time.
    voice = engine.resolve_voice(None)
    for i in range(60):
        clip = make_clip(engine, f"Short line {i}.", VoiceSettings(), voice)
        assert check_clip(clip, f"Short line {i}.", 150) is None


def test_a_hung_worker_is_killed_and_a_fresh_one_started():
    engine = Pyttsx3Engine(timeout=2.0)
    try:
        voice = engine.resolve_voice(None)
        engine.synthesize("Warm up.", voice, 150, 1.0)  # the sentence worker is running
        hung = engine._process
        os.kill(hung.pid, signal.SIGSTOP)  # and now it never answers
        with pytest.raises(SpeechError) as info:
            engine.synthesize("This will not finish in time.", voice, 150, 1.0)
        assert str(info.value) == "the speech worker did not answer within 2s"
        hung.join(5)
        assert not hung.is_alive()
        assert make_clip(engine, "Now it works.", VoiceSettings(), voice).size > 0
        assert engine._process is not hung and engine._process.is_alive()
    finally:
        engine.close()


def test_check_clip_rejects_what_is_not_speech():
    assert check_clip(np.zeros(0, dtype=np.int16), "Hello.", 150) == "the engine produced no audio"
    assert check_clip(np.zeros(22050, dtype=np.int16), "Hello.", 150) == "the engine produced only silence"
    loud = (np.ones(22050 * 30) * 20000).astype(np.int16)
    assert "where about" in check_clip(loud, "Hello.", 150)


def test_render_keeps_stdout_clean(tmp_path, write_script):
    script = write_script("title: T\nsummary: S\nsteps:\n  - say: One line. And another line.\n")
    result = subprocess.run(GUIDED + ["render", str(script)], capture_output=True, text=True,
                            env=run_env(tmp_path), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2 clips synthesized, 0 already cached.\n"
    assert result.stderr == ""


def test_a_very_long_say_still_renders(tmp_path, write_script):
    long_text = " ".join(f"This is sentence number {i} of a long passage." for i in range(80))
    assert len(long_text) > 3000
    script = write_script(f"title: T\nsummary: S\nsteps:\n  - say: {long_text}\n")
    result = subprocess.run(GUIDED + ["render", str(script)], capture_output=True, text=True,
                            env=run_env(tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "80 clips synthesized, 0 already cached.\n"


def test_two_renders_of_one_session_at_once_both_succeed(tmp_path, write_script):
    lines = " ".join(f"Line {i} of the shared session." for i in range(30))
    script = write_script(f"title: T\nsummary: S\nsteps:\n  - say: {lines}\n")
    env = run_env(tmp_path)
    procs = [subprocess.Popen(GUIDED + ["render", str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(2)]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    assert [r[2] for r in results] == [0, 0], results
    cache = tmp_path / "cache"
    assert not list(cache.rglob(".part-*"))
    assert len(list(cache.rglob("*.wav"))) == 30
    again = subprocess.run(GUIDED + ["render", str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert again.stdout == "0 clips synthesized, 30 already cached.\n"


def test_a_clip_that_fails_twice_names_its_sentence():
    class Broken:
        def synthesize(self, text, voice, rate, volume):
            raise SpeechError("the speech worker stopped")

    with pytest.raises(SpeechError) as info:
        make_clip(Broken(), "Breathe in.", VoiceSettings(), "v")
    assert str(info.value) == "speech failed twice for 'Breathe in.': the speech worker stopped"


def test_what_the_engine_learnt_is_remembered_between_runs(tmp_path):
    first = Pyttsx3Engine(info_dir=tmp_path)
    try:
        identity = first.cache_identity(VoiceSettings())
    finally:
        first.close()
    assert (tmp_path / "engine-pyttsx3.json").is_file()
    second = Pyttsx3Engine(info_dir=tmp_path)
    try:
        assert second.cache_identity(VoiceSettings()) == identity
        assert second._process is None  # answered without starting a worker
        assert len(second.voices()) == len(first.voices())
    finally:
        second.close()
    (tmp_path / "engine-pyttsx3.json").write_text("{broken")
    third = Pyttsx3Engine(info_dir=tmp_path)
    try:
        assert third.cache_identity(VoiceSettings()) == identity  # asked the engine again
    finally:
        third.close()


def test_the_worker_speaks_exactly_as_plain_pyttsx3_does(tmp_path):
    """Our worker shortens pyttsx3's espeak driver's 10 ms nap after each sentence: the sound
    must be what pyttsx3 makes on its own, sample for sample. Both start afresh: espeak-ng
    carries a little state from sentence to sentence (a sentence said again in one process can
    come out a few samples longer or shorter), with or without the nap."""
    import sys

    from player.wavfile import read_clip

    sentences = ["Notice where your breath is.", "Let the next thought go by.", "Stay with what you feel."]
    code = (
        "import sys, pyttsx3\n"
        "engine = pyttsx3.init(); engine.setProperty('rate', 150)\n"
        "for i, s in enumerate(sys.argv[2:]):\n"
        "    engine.save_to_file(s, f'{sys.argv[1]}/{i}.wav'); engine.runAndWait()\n"
    )
    # Plain pyttsx3 now and then returns before espeak-ng has written a file (the flaw our worker
    # checks for): such a reference is made again, up to three times in all.
    for _ in range(3):
        subprocess.run([sys.executable, "-c", code, str(tmp_path), *sentences], check=True, capture_output=True)
        if all(read_clip(tmp_path / f"{i}.wav").size for i in range(len(sentences))):
            break
    engine = Pyttsx3Engine()
    try:
        voice = engine.resolve_voice(None)
        for i, sentence in enumerate(sentences):
            ours = engine.synthesize(sentence, voice, 150, 1.0)
            np.testing.assert_array_equal(ours, read_clip(tmp_path / f"{i}.wav"))
    finally:
        engine.close()
