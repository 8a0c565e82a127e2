"""Exports in every format, read back by real decoders: length, silences, tags, chapters, captions."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import webvtt
from conftest import has_program, needs_espeak

from player.cache import ClipCache, VoicedCache
from player.export import chapters, export_session
from player.speech import VoiceSettings
from player.timeline import SAMPLE_RATE, TimingOptions

needs_ffprobe = pytest.mark.skipif(not has_program("ffprobe"), reason="ffprobe (ffmpeg) is not installed")

SCRIPT = """
title: Formats test
summary: Checks every format; the summary becomes the comment.
mode: couple
steps:
  - section: Arriving
  - say: Welcome, {a} and {b}. Sit together.
  - reflect: 3s
    prompt: Think for a moment.
  - section: Turns
  - turns: [a, b]
    steps:
      - talk: 2s
        prompt: "{speaker}, speak."
  - section: Closing
  - say: Thank you.
  - bell: end
"""


@pytest.fixture
def prepared(fake_session):
    return fake_session(SCRIPT, partner_a="Sam", partner_b="Alex")


def probe(path):
    result = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                             "-show_chapters", str(path)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def seconds(stamp):
    """A caption time, "00:01:02.345", in seconds (webvtt-py's own rounds to whole seconds)."""
    hours, minutes, rest = stamp.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3"])
def test_each_format_decodes_to_the_planned_length(prepared, tmp_path, suffix):
    timeline, voiced = prepared
    result = export_session(timeline, voiced, tmp_path / f"out{suffix}")
    audio, rate = soundfile.read(result.path, dtype="float32")
    assert rate == SAMPLE_RATE
    slack = 0.1 if suffix == ".mp3" else 0.0  # an MP3 encoder pads its frames
    assert abs(audio.size / SAMPLE_RATE - timeline.duration_s) <= slack + 1 / SAMPLE_RATE
    reflect = next(e for e in timeline.events if e.purpose == "reflect")
    middle = audio[reflect.start + 2205 : reflect.end - 2205]  # well inside the silence
    assert np.abs(middle).max() < (1e-3 if suffix in (".ogg", ".mp3") else 1e-9)
    assert np.abs(audio).max() > 0.1


@needs_ffprobe
@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3"])
def test_tags(prepared, tmp_path, suffix):
    timeline, voiced = prepared
    found = probe(export_session(timeline, voiced, tmp_path / f"o{suffix}").path)
    # Ogg keeps its comments on the stream; the other formats on the file.
    tags = {k.lower(): v for part in [found["format"], *found["streams"]] for k, v in part.get("tags", {}).items()}
    assert tags["title"] == "Formats test"
    assert tags["artist"] == "guided" and tags["album"] == "Guided sessions" and tags["genre"] == "Spoken word"
    assert tags["comment"] == "Checks every format; the summary becomes the comment."


@needs_ffprobe
@pytest.mark.parametrize("suffix", [".flac", ".ogg", ".mp3"])
def test_chapters_start_where_the_sections_do(prepared, tmp_path, suffix):
    timeline, voiced = prepared
    found = probe(export_session(timeline, voiced, tmp_path / f"o{suffix}").path)["chapters"]
    found.sort(key=lambda c: float(c["start_time"]))  # ID3 frames are stored by size, not time
    planned = chapters(timeline)
    assert [c["tags"]["title"] for c in found] == ["Arriving", "Turns", "Closing"] == [c.title for c in planned]
    for got, want in zip(found, planned):
        assert abs(float(got["start_time"]) - want.start_s) <= 0.05


@pytest.mark.parametrize("suffix", [".vtt", ".srt"])
def test_captions_parse_and_line_up_with_the_audio(prepared, tmp_path, suffix):
    timeline, voiced = prepared
    export_session(timeline, voiced, tmp_path / "o.wav", captions=tmp_path / f"o{suffix}")
    read = webvtt.read if suffix == ".vtt" else webvtt.from_srt
    cues = read(str(tmp_path / f"o{suffix}"))
    texts = [c.text for c in cues]
    assert texts[:6] == ["Welcome, Sam and Alex.", "Sit together.", "Think for a moment.", "[soft bell]",
                         "[reflect quietly — 3 seconds]", "[soft bell]"]
    assert "[Sam speaks, Alex listens — 2 seconds]" in texts and texts[-1] == "[closing bell]"
    audio, _ = soundfile.read(tmp_path / "o.wav", dtype="int16")
    first = cues[0]
    start = round(seconds(first.start) * SAMPLE_RATE)
    end = round(seconds(first.end) * SAMPLE_RATE)
    loud = np.flatnonzero(np.abs(audio[: end + SAMPLE_RATE]) > 300)
    assert abs(loud[0] - start) <= 0.05 * SAMPLE_RATE  # the words begin as the cue does
    silence = next(c for c in cues if c.text.startswith("[reflect"))
    reflect = next(e for e in timeline.events if e.purpose == "reflect")
    assert abs(seconds(silence.start) - reflect.start_s) <= 0.001
    assert abs(seconds(silence.end) - (reflect.start_s + reflect.duration_s)) <= 0.001


@pytest.mark.parametrize("suffix", [".wav", ".mp3"])
def test_an_interrupted_export_leaves_nothing(prepared, tmp_path, monkeypatch, suffix):
    timeline, voiced = prepared

    def interrupted(*args, **kwargs):
        yield from []
        raise KeyboardInterrupt

    monkeypatch.setattr("player.export.timeline_chunks", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_session(timeline, voiced, tmp_path / f"out{suffix}", captions=tmp_path / "out.vtt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clips", "session.yaml"]


def test_the_limiter_keeps_every_peak_under_its_ceiling_without_touching_the_rest():
    from player.speech.clips import limit_peaks

    rng = np.random.default_rng(7)
    loud = rng.normal(0, 0.5, 40_000)
    limited = limit_peaks(loud, 0.8)
    assert np.abs(limited).max() <= 0.8 + 1e-9
    quiet = rng.normal(0, 0.05, 10_000)
    assert np.array_equal(limit_peaks(quiet, 0.8), quiet)
    # and it eases, never steps: the gain changes by a small amount from sample to sample
    gain = limited / np.where(loud == 0, 1, loud)
    assert np.abs(np.diff(gain)).max() < 0.1


@needs_espeak
@needs_ffprobe
def test_a_real_export_is_at_spoken_word_loudness_with_true_peaks_under_minus_one(tmp_path):
    from conftest import GUIDED, run_env

    target = tmp_path / "arriving.flac"
    subprocess.run(GUIDED + ["export", "arriving", "-o", str(target)], check=True, capture_output=True,
                   env=run_env(tmp_path))
    result = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(target), "-af", "ebur128=peak=true",
                             "-f", "null", "-"], capture_output=True, text=True, check=True)
    summary = result.stderr[result.stderr.rindex("Summary:"):]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    true_peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    assert -17.0 <= integrated <= -15.0, integrated
    assert true_peak <= -1.0, true_peak


@needs_espeak
def test_real_clips_are_within_one_lu_of_each_other(tmp_path):
    from player.library import find_script, load_script
    from player.speech import get_engine
    from player.speech.clips import clip_loudness
    from player.speech.render import render_missing
    from player.timeline import build_timeline
    from player.wavfile import read_clip

    engine = get_engine("pyttsx3")
    try:
        voiced = VoicedCache(ClipCache(tmp_path / "clips"), engine, VoiceSettings())
        session = load_script(find_script("what-emotional-intimacy-is")).session
        render_missing(voiced, build_timeline(session, TimingOptions(), 150).sentences())
    finally:
        engine.close()
    levels = np.array([clip_loudness(read_clip(p).astype(float) / 32768) for p in (tmp_path / "clips").rglob("*.wav")])
    assert levels.size > 20
    assert np.all(np.abs(levels - np.median(levels)) <= 1.0), np.sort(levels - np.median(levels))


@needs_espeak
def test_our_loudness_meter_matches_pyloudnorm_on_speech_noise_and_silence(tmp_path):
    import pyloudnorm

    from player.loudness import integrated_loudness
    from player.wavfile import read_clip

    rng = np.random.default_rng(3)
    subprocess.run(["espeak-ng", "-w", str(tmp_path / "speech.wav"), "Breathe in, and notice the space between you."],
                   check=True)
    speech = read_clip(tmp_path / "speech.wav").astype(float) / 32768
    signals = [speech, speech * 0.05, rng.normal(0, 0.2, 3 * 22050), np.sin(np.arange(22050) * 0.3) * 0.5,
               np.r_[np.zeros(22050), rng.normal(0, 0.3, 9000)], np.zeros(22050)]
    reference = pyloudnorm.Meter(22050)
    for signal in signals:
        ours, theirs = integrated_loudness(signal, 22050), reference.integrated_loudness(signal)
        assert ours == theirs == -np.inf or abs(ours - theirs) < 0.01, (ours, theirs)
    with pytest.raises(ValueError):
        integrated_loudness(np.zeros(100), 22050)


def test_making_a_clip_does_not_import_scipy():
    """scipy.signal takes about 0.75 s to import: on a cold cache that was the wait for the first word."""
    code = ("import sys, numpy as np; from player.speech.clips import condition_clip\n"
            "t = np.arange(44100) / 22050; condition_clip((np.sin(t * 900) * 20000).astype(np.int16))\n"
            "print('scipy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
