"""The clip cache: hits, misses, damaged entries, atomic writes."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FakeEngine

from player.cache import ClipCache, VoicedCache, clip_key
from player.errors import CacheError
from player.speech import VoiceSettings
from player.speech.render import render_missing


def voiced_cache(tmp_path, engine=None, **settings):
    return VoicedCache(ClipCache(tmp_path / "clips"), engine or FakeEngine(), VoiceSettings(**settings))


def test_a_warm_cache_synthesizes_nothing(tmp_path):
    engine = FakeEngine()
    voiced = voiced_cache(tmp_path, engine)
    first = render_missing(voiced, ["One sentence.", "Another one."])
    assert (first.synthesized, first.cached) == (2, 0)
    second = render_missing(voiced, ["One sentence.", "Another one.", "A third."])
    assert (second.synthesized, second.cached) == (1, 2)
    assert engine.texts == ["One sentence.", "Another one.", "A third."]


def test_settings_and_text_change_the_key(tmp_path):
    engine = FakeEngine()
    base = voiced_cache(tmp_path, engine).identity
    keys = {
        clip_key(base, "Hello."),
        clip_key(base, "Hello!"),
        clip_key(voiced_cache(tmp_path, engine, rate=120).identity, "Hello."),
        clip_key(voiced_cache(tmp_path, engine, volume=0.5).identity, "Hello."),
        clip_key(voiced_cache(tmp_path, engine, voice="fake/two").identity, "Hello."),
    }
    assert len(keys) == 5


def test_a_truncated_entry_is_detected_and_made_again(tmp_path):
    engine = FakeEngine()
    voiced = voiced_cache(tmp_path, engine)
    render_missing(voiced, ["Hello there."])
    path = voiced.cache.path_for(voiced.key("Hello there."))
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    assert voiced.frames("Hello there.") is None
    report = render_missing(voiced, ["Hello there."])
    assert (report.synthesized, report.cached) == (1, 0)
    assert path.read_bytes() == good


def test_a_garbage_entry_is_never_played(tmp_path):
    engine = FakeEngine()
    voiced = voiced_cache(tmp_path, engine)
    render_missing(voiced, ["Hello there."])
    path = voiced.cache.path_for(voiced.key("Hello there."))
    path.write_bytes(b"RIFF....WAVEfmt garbage")
    with pytest.raises(CacheError, match="no longer in"):  # reading never plays it, nor speaks
        voiced.clip("Hello there.")
    assert not path.exists() and len(engine.texts) == 1
    assert render_missing(voiced, ["Hello there."]).synthesized == 1  # made again before playing
    clip = voiced.clip("Hello there.")
    assert clip.size > 0 and np.abs(clip).max() > 1000
    assert len(engine.texts) == 2


def test_writes_leave_no_partial_files(tmp_path):
    voiced = voiced_cache(tmp_path)
    render_missing(voiced, [f"Sentence {i}." for i in range(20)])
    files = list((tmp_path / "clips").rglob("*"))
    assert not [f for f in files if f.name.endswith(".part")]
    assert len([f for f in files if f.suffix == ".wav"]) == 20


def test_info_and_clear(tmp_path):
    voiced = voiced_cache(tmp_path)
    render_missing(voiced, ["One.", "Two."])
    info = voiced.cache.info()
    assert info["clips"] == 2 and info["bytes"] > 0
    assert voiced.cache.clear() == 2
    assert voiced.cache.info()["clips"] == 0
    assert voiced.cache.clear() == 0


def test_clips_are_trimmed_levelled_and_faded(tmp_path):
    voiced = voiced_cache(tmp_path)
    render_missing(voiced, ["A few words here."])
    clip = voiced.clip("A few words here.")
    audio = clip.astype(float) / 32768
    # The fake engine pads 0.1 s of silence each side; trimming leaves a 20 ms margin.
    assert abs(clip.size - int(0.1 * 4 * 22050) - 2 * int(0.02 * 22050)) < 50
    assert audio[0] == 0 and abs(audio[-1]) < 1e-3
    assert np.abs(audio).max() <= 10 ** (-1 / 20) + 1e-4
    quieter = voiced_cache(tmp_path / "q", volume=0.5)
    render_missing(quieter, ["A few words here."])
    quiet = quieter.clip("A few words here.")
    assert abs(np.abs(quiet).max() / np.abs(clip).max() - 0.5) < 0.01
