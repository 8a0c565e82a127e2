"""Reading and writing clip files: mono 16-bit PCM WAV at the timeline's sample rate."""

from __future__ import annotations

import warnings
import wave
from pathlib import Path

import numpy as np

from player.limits import SAMPLE_RATE


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
    return decode_audio(path)


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


def decode_audio(path: Path) -> np.ndarray:
    """Any audio file ffmpeg reads, through pydub, as mono int16 samples at SAMPLE_RATE;
    ClipFileError with one line saying why not (a missing ffmpeg named as such)."""
    with warnings.catch_warnings():  # pydub warns at import when ffmpeg is missing: said below instead
        warnings.simplefilter("ignore")
        from pydub import AudioSegment
    try:
        segment = AudioSegment.from_file(str(path))
    except FileNotFoundError as exc:
        if "ffmpeg" in str(exc) or "ffprobe" in str(exc):
            raise ClipFileError(f"cannot read {path}: reading this format needs ffmpeg "
                                "(sudo apt-get install ffmpeg)") from None
        raise ClipFileError(f"no audio file at {path}") from None
    except Exception as exc:
        said = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise ClipFileError(f"cannot read {path} as audio ({said})") from None
    segment = segment.set_channels(1).set_frame_rate(SAMPLE_RATE).set_sample_width(2)
    return np.frombuffer(segment.raw_data, dtype="<i2").copy()
