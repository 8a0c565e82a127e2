"""Stage 4: the sound of a timeline: bells made in code, silences as true digital zeros, and
speech clips from the cache, streamed in small chunks so memory stays flat in session length.

Play and export both draw on `timeline_chunks`, so what is heard equals what is exported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from player.ambience import Ambience
    from player.cache import VoicedCache
from player.timeline import (
    BELL_S,
    CUE_S,
    PASSAGE_TAIL_S,
    SAMPLE_RATE,
    SENTENCE_GAP_S,
    Event,
    Timeline,
    seconds_to_samples,
)

CHUNK_FRAMES = 4096


@dataclass(frozen=True)
class BellTone:
    """A struck bell: inharmonic partials, each decaying at its own pace."""

    fundamental: float
    peak: float  # of full scale
    decay_s: float  # time constant of the fundamental
    seconds: float
    partials: tuple[tuple[float, float], ...] = ((1.0, 1.0), (2.0, 0.45), (2.76, 0.25), (5.4, 0.08))


BELLS = {
    # Peaks well under the voice's (about -3 dBFS): gentle, never startling.
    "soft": BellTone(fundamental=528.0, peak=0.28, decay_s=0.85, seconds=BELL_S["soft"]),
    "end": BellTone(fundamental=396.0, peak=0.30, decay_s=1.5, seconds=BELL_S["end"]),
    "cue": BellTone(fundamental=792.0, peak=0.10, decay_s=0.35, seconds=CUE_S),
}


@cache
def bell(which: str) -> np.ndarray:
    """The bell's samples (int16): a soft attack, a natural decay, and a fade to true zero."""
    tone = BELLS[which]
    t = np.arange(seconds_to_samples(tone.seconds)) / SAMPLE_RATE
    sound = np.zeros_like(t)
    for ratio, weight in tone.partials:
        # Higher partials die away sooner, as in a real bell.
        sound += weight * np.sin(2 * np.pi * tone.fundamental * ratio * t) * np.exp(-t * ratio / tone.decay_s)
    attack = seconds_to_samples(0.008)
    sound[:attack] *= 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, attack))
    release = seconds_to_samples(0.5)
    sound[-release:] *= np.linspace(1.0, 0.0, release)
    sound *= tone.peak / np.abs(sound).max()
    sound[-1] = 0.0
    return np.round(sound * 32767).astype(np.int16)


def passage_parts(event: Event, voiced: VoicedCache,
                  before: Callable[[str, int], None] = lambda sentence, i: None) -> Iterator[np.ndarray]:
    """A say event's sound, a sentence at a time: each clip (after the first, with a breath
    before it), then the tail after the passage. `before(sentence, i)` is called as each
    sentence's clip is about to be read: playback waits there for a clip still being made."""
    gap = np.zeros(seconds_to_samples(SENTENCE_GAP_S), dtype=np.int16)
    for i, sentence in enumerate(event.sentences):
        before(sentence, i)
        yield np.concatenate([gap, voiced.clip(sentence)]) if i else voiced.clip(sentence)
    yield np.zeros(seconds_to_samples(PASSAGE_TAIL_S), dtype=np.int16)


def passage_audio(event: Event, voiced: VoicedCache) -> np.ndarray:
    """A say event: its sentence clips with a breath between them and a tail after, fitted to
    the event's planned length."""
    return _fit(np.concatenate(list(passage_parts(event, voiced))), event.length)


def _fit(samples: np.ndarray, length: int) -> np.ndarray:
    if samples.size >= length:
        return samples[:length]
    return np.concatenate([samples, np.zeros(length - samples.size, dtype=np.int16)])


def _silence(event: Event, chunk: int) -> Iterator[tuple[int, np.ndarray]]:
    """Zeros, with any soft cues mixed in at their offsets."""
    cue = bell("cue")
    for offset in range(0, event.length, chunk):
        size = min(chunk, event.length - offset)
        piece = np.zeros(size, dtype=np.int16)
        for at in event.cues:
            lo, hi = max(at, offset), min(at + cue.size, offset + size, event.length)
            if lo < hi:
                piece[lo - offset : hi - offset] = cue[lo - at : hi - at]
        yield offset, piece


def event_chunks(
    event: Event, voiced: VoicedCache, chunk: int = CHUNK_FRAMES, ambience: Ambience | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """(offset within the event, samples) pieces of one event, none longer than `chunk`,
    with the ambience bed mixed in when there is one."""
    for offset, samples in _event_pieces(event, voiced, chunk):
        yield offset, ambience.mix(event, offset, samples) if ambience else samples


def _event_pieces(event: Event, voiced: VoicedCache, chunk: int) -> Iterator[tuple[int, np.ndarray]]:
    if event.length == 0:
        return
    if event.kind == "silence":
        yield from _silence(event, chunk)
        return
    if event.kind == "say":
        whole = passage_audio(event, voiced)
    else:
        whole = _fit(bell(event.bell), event.length)
    for offset in range(0, event.length, chunk):
        yield offset, whole[offset : offset + chunk]


def timeline_chunks(
    timeline: Timeline, voiced: VoicedCache, chunk: int = CHUNK_FRAMES, ambience: Ambience | None = None
) -> Iterator[tuple[Event, int, np.ndarray]]:
    """The whole timeline as (event, offset within it, samples), in order, chunk by chunk."""
    for event in timeline.events:
        for offset, samples in event_chunks(event, voiced, chunk, ambience):
            yield event, offset, samples
