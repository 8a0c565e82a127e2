"""A clip fit to keep: an engine's samples checked to look like speech of the text, trimmed,
brought to a common loudness under a peak ceiling, and faded at the ends."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from player.errors import SpeechError
from player.limits import SAMPLE_RATE
from player.loudness import integrated_loudness
from player.speech import Engine, VoiceSettings
from player.spoken import spoken_text

SILENCE_FLOOR = 0.01  # of full scale (-40 dBFS): quieter frames count as silence when trimming
# Speech level: every clip is brought to CLIP_LUFS (ITU-R BS.1770 loudness, see player.loudness)
# with its peaks limited to PEAK_CEILING, under which inter-sample (true) peaks stay below -1 dBTP.
# Pauses between sentences and the quieter bells put a whole session at about -16 LUFS, the spoken-word norm.
CLIP_LUFS = -15.5
TARGET_RMS = 10 ** (-12.5 / 20)  # about the voiced RMS that CLIP_LUFS gives (used for ambience)
PEAK_CEILING = 10 ** (-1.5 / 20)
LIMIT_LOOKAHEAD_S = 0.005
CONDITIONING = 3  # bump when condition_clip changes, so cached clips are made again
FADE_S = 0.01


def read_engine_clip(path: Path, who: str) -> np.ndarray:
    """The samples of a WAV an engine wrote; SpeechError, naming `who`, if it cannot be read."""
    from player.wavfile import ClipFileError, read_clip

    try:
        return read_clip(path)
    except ClipFileError as exc:
        raise SpeechError(f"{who} wrote an unreadable file: {exc}") from None


def check_clip(samples: np.ndarray, text: str, rate: int) -> str | None:
    """Why a synthesized clip cannot be right, or None when it looks like speech of `text`."""
    if samples.size == 0:
        return "the engine produced no audio"
    if np.abs(samples.astype(np.int32)).max() < SILENCE_FLOOR * 32768:
        return "the engine produced only silence"
    seconds = samples.size / SAMPLE_RATE
    expected = len(text.split()) * 60.0 / rate
    if seconds < 0.2 * expected or seconds > 4 * expected + 3:
        return f"the clip lasts {seconds:.1f}s where about {expected:.1f}s was expected"
    return None


def condition_clip(samples: np.ndarray, volume: float = 1.0) -> np.ndarray:
    """Trim the engine's silence, bring speech to a common level under a peak ceiling, fade the ends.

    `volume` (0–1) is applied after levelling, so it means the same for every engine."""
    audio = samples.astype(np.float64) / 32768.0
    loud = np.flatnonzero(np.abs(audio) >= SILENCE_FLOOR)
    if loud.size == 0:
        return np.zeros(0, dtype=np.int16)
    margin = int(0.02 * SAMPLE_RATE)
    audio = audio[max(0, loud[0] - margin) : loud[-1] + margin + 1]
    loudness = clip_loudness(audio)
    if np.isfinite(loudness):
        # Level and limit; if the limiter took something off, level and limit once more.
        for attempt in range(2):
            levelled = audio * 10 ** ((CLIP_LUFS - loudness) / 20)
            audio = limit_peaks(levelled, PEAK_CEILING)
            if audio is levelled or attempt == 1:
                break
            loudness = clip_loudness(audio)
    else:  # too little signal to gate: fall back to the voiced RMS
        voiced = audio[np.abs(audio) >= SILENCE_FLOOR]
        audio = limit_peaks(audio * TARGET_RMS / max(np.sqrt(np.mean(voiced**2)), 1e-9), PEAK_CEILING)
    audio = audio * volume
    fade = min(int(FADE_S * SAMPLE_RATE), audio.size // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        audio[:fade] *= ramp
        audio[-fade:] *= ramp[::-1]
    return np.round(audio * 32767).astype(np.int16)


def clip_loudness(audio: np.ndarray) -> float:
    """Integrated loudness (LUFS) of a clip; one shorter than the 0.4 s gating block is
    measured repeated end to end."""
    block = int(0.45 * SAMPLE_RATE)
    if 0 < audio.size < block:
        audio = np.tile(audio, -(-block // audio.size))
    return integrated_loudness(audio, SAMPLE_RATE)


def limit_peaks(audio: np.ndarray, ceiling: float) -> np.ndarray:
    """A look-ahead limiter: around each peak over `ceiling` the gain eases down and back up
    over a few milliseconds, instead of clipping. Below the ceiling nothing changes.

    The gain is set per 5 ms block from the loudest sample in that block and its neighbours,
    then drawn as straight lines between block centres: every sample lies between two centres
    whose gains both allow for it, so none can pass the ceiling."""
    peaks = np.abs(audio)
    if peaks.size == 0 or peaks.max() <= ceiling:
        return audio
    block = max(1, int(LIMIT_LOOKAHEAD_S * SAMPLE_RATE))
    n = peaks.size
    loudest = np.concatenate([peaks, np.zeros((-n) % block)]).reshape(-1, block).max(axis=1)
    near = np.maximum(loudest, np.maximum(np.r_[0.0, loudest[:-1]], np.r_[loudest[1:], 0.0]))
    gain = np.minimum(1.0, ceiling / np.maximum(near, 1e-12))
    centres = np.arange(gain.size) * block + (block - 1) / 2
    return audio * np.interp(np.arange(n), centres, gain)


def make_clip(engine: Engine, text: str, settings: VoiceSettings, voice_id: str) -> np.ndarray:
    """Synthesize `text`, check it looks like speech (one retry), and condition it for the cache.

    The engine gets the words only (`spoken_text`), whatever called this; the timeline has
    already made its sentences so, and for those this changes nothing."""
    text = spoken_text(text)
    if not text:
        raise SpeechError("nothing to pronounce: the text is only punctuation, markup or symbols")
    reason = None
    for _ in range(2):
        try:
            # Full engine volume: the level is set in condition_clip, identically for every engine.
            samples = engine.synthesize(text, voice_id, settings.rate, 1.0)
        except SpeechError as exc:
            reason = str(exc)
            continue
        reason = check_clip(samples, text, settings.rate)
        if reason is None:
            return condition_clip(samples, settings.volume)
    raise SpeechError(f"speech failed twice for {text[:60]!r}: {reason}")
