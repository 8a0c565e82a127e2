"""Reading and writing clip files: mono 16-bit PCM WAV at the timeline's sample rate."""

from __future__ import annotations

import warnings
import wave
from pathlib import Path

import numpy as np

from player.timeline import SAMPLE_RATE


class ClipFileError(Exception):
    """A clip file that cannot be read as whole, sound audio."""


def read_clip(path: Path) -> np.ndarray:
    """Mono int16 samples at SAMPLE_RATE. Plain WAVs are read directly; anything else
    (other rates, stereo, AIFF from macOS) is converted through pydub."""
    try:
        with wave.open(str(path), "rb") as wav:
            if (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, SAMPLE_RATE):
                frames = wav.getnframes()
                data = wav.readframes(frames)
                if len(data) != frames * 2:
                    raise ClipFileError(f"{path.name}: truncated ({len(data)} of {frames * 2} bytes)")
                return np.frombuffer(data, dtype="<i2").copy()
    except (wave.Error, EOFError, OSError) as exc:
        if path.suffix == ".wav" and not _looks_foreign(path):
            raise ClipFileError(f"{path.name}: {exc}") from None
    return _convert(path)


def clip_frames(path: Path) -> int | None:
    """The frame count from a clip's header, if the file is whole; None otherwise. Cheap."""
    try:
        with wave.open(str(path), "rb") as wav:
            frames = wav.getnframes()
            if (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) != (1, 2, SAMPLE_RATE):
                return None
        if frames <= 0 or path.stat().st_size < 44 + frames * 2:
            return None
        return frames
    except (wave.Error, EOFError, OSError):
        return None


def write_clip(target, samples: np.ndarray) -> None:
    """Write `samples` as a WAV to a path or an open binary file."""
    with wave.open(str(target) if isinstance(target, Path) else target, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.astype("<i2").tobytes())


def _looks_foreign(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(12)
    return not (head[:4] == b"RIFF" and head[8:12] == b"WAVE")


def audio_segment_class():
    """pydub's AudioSegment, imported without the warnings pydub prints at import (a missing
    ffmpeg is reported where it matters, as one clear line)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydub import AudioSegment
    return AudioSegment


def _convert(path: Path) -> np.ndarray:
    AudioSegment = audio_segment_class()
    try:
        segment = AudioSegment.from_file(str(path))
    except Exception as exc:
        raise ClipFileError(f"{path.name}: cannot decode ({exc})") from None
    segment = segment.set_channels(1).set_frame_rate(SAMPLE_RATE).set_sample_width(2)
    return np.frombuffer(segment.raw_data, dtype="<i2").copy()
