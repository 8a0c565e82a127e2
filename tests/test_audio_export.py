"""Bells, silences and the WAV export: timing to the sample, no clicks, nothing half-written."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from player.audio import bell, timeline_chunks
from player.errors import ExportError
from player.export import export_session
from player.timeline import SAMPLE_RATE

SCRIPT = """
title: Export test
summary: S
mode: couple
steps:
  - section: One
  - say: Welcome to the test. [1.5s] Sit comfortably.
  - reflect: 5s
    prompt: Think of something.
  - talk: 2m
    prompt: Talk together.
  - pause: 2s
  - wait: Ready?
    fallback: 3s
  - bell: end
"""


@pytest.fixture
def prepared(fake_session):
    return fake_session(SCRIPT)


def read_wav(path):
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, SAMPLE_RATE)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


def silent_runs(samples, min_seconds=0.4):
    """(start, length) of runs of exact digital zeros at least min_seconds long."""
    zero = np.concatenate([[False], samples == 0, [False]])
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    runs = zip(edges[::2], edges[1::2])
    return [(a, b - a) for a, b in runs if b - a >= min_seconds * SAMPLE_RATE]


@pytest.mark.parametrize("which", ["soft", "end", "cue"])
def test_bells_are_gentle_and_click_free(which):
    sound = bell(which).astype(float) / 32768
    assert sound[0] == 0 and sound[-1] == 0
    assert 0.05 < np.abs(sound).max() <= 0.31  # well under the voice's peaks
    assert np.abs(np.diff(sound)).max() < 0.1  # no step anywhere: no click
    assert np.abs(sound[-200:]).max() < 1e-3  # it has died away before the event ends


def test_export_duration_and_every_silence_match_the_plan(prepared, tmp_path):
    timeline, voiced = prepared
    result = export_session(timeline, voiced, tmp_path / "out.wav")
    samples = read_wav(result.path)
    assert abs(samples.size - timeline.length) / SAMPLE_RATE < 0.05
    assert result.duration_s == pytest.approx(timeline.duration_s)
    planned = [e for e in timeline.events if e.kind == "silence" and not e.cues]  # cues: next test
    assert len(planned) == 4
    found = silent_runs(samples)
    # Each planned silence is found where planned (a run of zeros may also take in the quiet
    # tail of the speech before it, so it starts no later than planned and ends on time).
    for event in planned:
        match = [(a, n) for a, n in found if a <= event.start + 0.03 * SAMPLE_RATE and a + n >= event.end]
        assert match, f"no silence at {event.start_s:.2f}s"
        start, length = match[0]
        assert abs((start + length) - event.end) <= 0.03 * SAMPLE_RATE


def test_the_talk_cue_sounds_inside_its_silence(prepared, tmp_path):
    timeline, voiced = prepared
    samples = read_wav(export_session(timeline, voiced, tmp_path / "out.wav").path)
    talk = next(e for e in timeline.events if e.purpose == "talk")
    cue_at = talk.start + talk.cues[0]
    assert np.all(samples[talk.start : cue_at] == 0)
    assert np.abs(samples[cue_at : cue_at + SAMPLE_RATE]).max() > 1000
    assert np.all(samples[cue_at + 3 * SAMPLE_RATE : talk.end] == 0)


def test_no_clipping_and_no_clicks_at_joins(prepared, tmp_path):
    timeline, voiced = prepared
    samples = read_wav(export_session(timeline, voiced, tmp_path / "out.wav").path).astype(int)
    assert np.abs(samples).max() < 32767
    for event in timeline.events[1:]:
        if 0 < event.start < samples.size:
            assert abs(samples[event.start] - samples[event.start - 1]) < 3000


def test_chunks_never_exceed_their_size_and_cover_the_timeline(prepared):
    timeline, voiced = prepared
    total = 0
    for event, offset, samples in timeline_chunks(timeline, voiced, chunk=1000):
        assert samples.size <= 1000 and offset + samples.size <= event.length
        total += samples.size
    assert total == timeline.length


def test_a_failed_export_leaves_nothing_and_keeps_the_old_file(prepared, tmp_path, monkeypatch):
    timeline, voiced = prepared
    target = tmp_path / "out.wav"
    target.write_bytes(b"the listener's earlier export")

    def broken(*args, **kwargs):
        yield from []
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("player.export.timeline_chunks", broken)
    with pytest.raises(ExportError) as info:
        export_session(timeline, voiced, target)
    assert str(info.value) == f"the disk is full: {target} was not written; free some space and try again"
    assert target.read_bytes() == b"the listener's earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clips", "out.wav", "session.yaml"]


@pytest.mark.parametrize(
    "name, message",
    [
        ("folder", "{p} is a folder; give a file name, e.g. {p}/session.wav"),
        ("missing/out.wav", "the folder {p.parent} does not exist; create it first"),
        ("out.mp4", "cannot export to '.mp4': supported formats are .wav, .flac, .ogg, .mp3"),
    ],
)
def test_bad_targets_are_refused_before_any_work(prepared, tmp_path, name, message):
    timeline, voiced = prepared
    (tmp_path / "folder").mkdir()
    target = tmp_path / name
    with pytest.raises(ExportError) as info:
        export_session(timeline, voiced, target)
    assert str(info.value) == message.format(p=target)
