"""Captions for an export: one cue per spoken sentence, timed to the sample, and cues for
bells and silences, so a partner who cannot hear can follow along. WebVTT or SRT."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from player.cache import VoicedCache
from player.errors import ExportError
from player.timeline import SAMPLE_RATE, SENTENCE_GAP_S, Event, Timeline, seconds_to_samples

CAPTION_FORMATS = (".vtt", ".srt")
_SILENCE_WORDS = {"reflect": "reflect quietly", "pause": "pause", "wait": "take your time", "talk": "talk together"}


@dataclass(frozen=True)
class Cue:
    start: int  # samples
    end: int
    text: str


def caption_cues(timeline: Timeline, voiced: VoicedCache) -> list[Cue]:
    """Cues in playing order. Sentence times come from the clips' own lengths."""
    cues: list[Cue] = []
    gap = seconds_to_samples(SENTENCE_GAP_S)
    for event in timeline.events:
        if event.kind == "say":
            position = event.start
            # the clip of what is said, the caption of what is shown (names as typed)
            for sentence, shown in zip(event.sentences, event.captions or event.sentences):
                length = voiced.frames(sentence) or 0
                cues.append(Cue(position, position + length, shown))
                position += length + gap
        elif event.kind == "bell":
            cues.append(Cue(event.start, event.end, "[closing bell]" if event.bell == "end" else "[soft bell]"))
        elif event.kind == "silence" and event.purpose != "break":
            cues.append(Cue(event.start, event.end, _silence_text(event)))
    return cues


def _silence_text(event: Event) -> str:
    what = _SILENCE_WORDS.get(event.purpose, event.purpose)
    if event.speaker and event.purpose in ("talk", "respond"):
        what = f"{event.speaker_name} speaks, {event.listener_name} listens"
    return f"[{what} — {spoken_length(event.duration_s)}]"


def spoken_length(seconds: float) -> str:
    """`90` → "1 minute 30 seconds"."""
    seconds = round(seconds)
    minutes, rest = divmod(seconds, 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if rest or not minutes:
        parts.append(f"{rest} second{'s' if rest != 1 else ''}")
    return " ".join(parts)


def timestamp(samples: int, decimal: str = ".") -> str:
    """`HH:MM:SS.mmm` (SRT: a comma before the milliseconds), as captions and chapters write it."""
    millis = round(samples * 1000 / SAMPLE_RATE)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    seconds, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{decimal}{millis:03d}"


def render_captions(cues: list[Cue], suffix: str) -> str:
    """The text of a .vtt or .srt file."""
    if suffix == ".vtt":
        blocks = ["WEBVTT"] + [f"{timestamp(c.start)} --> {timestamp(c.end)}\n{c.text}" for c in cues]
    else:
        blocks = [f"{i}\n{timestamp(c.start, ',')} --> {timestamp(c.end, ',')}\n{c.text}" for i, c in enumerate(cues, 1)]
    return "\n\n".join(blocks) + "\n"


def caption_format(path: Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in CAPTION_FORMATS:
        raise ExportError(f"captions are written as {' or '.join(CAPTION_FORMATS)}, not '{suffix or path.name}'")
    return suffix
