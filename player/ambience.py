"""An optional bed of sound under a session: gentle generated noise, or a file looped.

It sits about 20 dB under the speech, dips a further 8 dB while a voice speaks, and fades in
and out over 3 s. It is made of samples like everything else, so play and export agree.
"""

from __future__ import annotations

import stat
from functools import lru_cache
from pathlib import Path

import numpy as np

from player.errors import AmbienceError
from player.speech.clips import TARGET_RMS
from player.timeline import SAMPLE_RATE, Event, seconds_to_samples
from player.wavfile import ClipFileError, decode_audio

UNDER_SPEECH_DB = 20.0
DUCK_DB = 8.0
DUCK_RAMP_S = 0.25
FADE_S = 3.0
NOISE_LOOP_S = 20.0


@lru_cache(maxsize=1)
def _noise_loop() -> np.ndarray:
    """Soft noise between pink and brown (power falling as 1/f^1.5), 40 Hz to 4 kHz. Made in
    the frequency domain, so it is periodic and loops without a seam; seeded, so exports repeat."""
    n = seconds_to_samples(NOISE_LOOP_S)
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    amplitude = np.zeros_like(freqs)
    band = (freqs >= 40) & (freqs <= 4000)
    amplitude[band] = freqs[band] ** -0.75
    phases = np.random.default_rng(2022).uniform(0, 2 * np.pi, freqs.size)
    loop = np.fft.irfft(amplitude * np.exp(1j * phases), n)
    return loop / np.sqrt(np.mean(loop**2))


MAX_AMBIENCE_BYTES = 200_000_000  # an hour of 16-bit stereo WAV is about 600 MB; a loop needs far less


def _check_is_a_file(path: Path) -> None:
    """Only a regular file of sensible size: a FIFO would block ffmpeg forever, a device
    (/dev/zero) would never end."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AmbienceError(f"no ambience file at {path}") from None
    except OSError as exc:
        raise AmbienceError(f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise AmbienceError(f"{path} is not a regular file; give an audio file, or 'noise'")
    if info.st_size > MAX_AMBIENCE_BYTES:
        raise AmbienceError(f"{path} is {info.st_size:,} bytes; an ambience loop is limited to 200 MB")


def _file_loop(path: Path) -> np.ndarray:
    _check_is_a_file(path)
    try:
        loop = decode_audio(path).astype(np.float64)
    except ClipFileError as exc:
        raise AmbienceError(str(exc).replace("no audio file at", "no ambience file at")) from None
    rms = np.sqrt(np.mean(loop**2)) if loop.size else 0.0
    if loop.size < SAMPLE_RATE or rms < 1e-3:
        raise AmbienceError(f"{path} is too short or too quiet to loop (at least a second of sound)")
    fade = seconds_to_samples(0.05)  # soften the seam where the loop starts again
    loop[:fade] *= np.linspace(0, 1, fade)
    loop[-fade:] *= np.linspace(1, 0, fade)
    return loop / rms


def ambience_loop(what: str) -> np.ndarray:
    """The bed to loop: `noise`, or a path to an audio file (any format ffmpeg reads)."""
    return _noise_loop() if what == "noise" else _file_loop(Path(what).expanduser())


class Ambience:
    def __init__(self, loop: np.ndarray, total: int):
        self.loop = loop
        self.total = total  # the timeline's length in samples, for the fade out
        self.level = TARGET_RMS * 10 ** (-UNDER_SPEECH_DB / 20) * 32767


    def mix(self, event: Event | None, offset: int, samples: np.ndarray) -> np.ndarray:
        """`samples` (from `offset` into `event`) with the bed under them."""
        size = samples.size
        start = (event.start if event else 0) + offset
        positions = np.arange(start, start + size)
        bed = self.loop[positions % self.loop.size] * self.level
        bed *= np.clip(np.minimum(positions, self.total - positions) / seconds_to_samples(FADE_S), 0, 1)
        if event is not None and event.kind == "say":
            ramp = seconds_to_samples(DUCK_RAMP_S)
            at = np.arange(offset, offset + size)
            depth = np.clip(np.minimum(at, event.length - at) / ramp, 0, 1)  # 0 at the edges, 1 inside
            bed *= 1 - (1 - 10 ** (-DUCK_DB / 20)) * depth
        return np.clip(np.round(samples + bed), -32768, 32767).astype(np.int16)
