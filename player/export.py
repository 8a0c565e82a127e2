"""Stage 5b: export a timeline to an audio file, streamed, and put in place only when complete."""

from __future__ import annotations

import errno
import os
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from player.audio import timeline_chunks
from player.cache import VoicedCache
from player.errors import ExportError
from player.timeline import SAMPLE_RATE, Timeline

FORMATS = (".wav",)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    duration_s: float
    bytes: int


def check_target(target: Path) -> None:
    """Refuse, before any work is done, a target that cannot be written."""
    if target.is_dir():
        raise ExportError(f"{target} is a folder; give a file name, e.g. {target / 'session.wav'}")
    if target.suffix.lower() not in FORMATS:
        raise ExportError(f"cannot export to '{target.suffix or target.name}': supported formats are {', '.join(FORMATS)}")
    folder = target.parent
    if not folder.is_dir():
        raise ExportError(f"the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise ExportError(f"cannot write to {folder}: permission denied")


def export_wav(
    timeline: Timeline, voiced: VoicedCache, target: Path, progress: Callable[[int], None] = lambda n: None
) -> ExportResult:
    """Write the timeline as a mono 16-bit WAV. A temp file beside the target is renamed over it
    only when complete, so a failed export leaves no half file and an old file stays intact."""
    target = Path(target)
    check_target(target)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            for _, _, samples in timeline_chunks(timeline, voiced):
                wav.writeframesraw(samples.astype("<i2").tobytes())
                progress(samples.size)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise ExportError(f"the disk is full: {target} was not written; free some space and try again") from None
        raise ExportError(f"cannot write {target}: {exc.strerror}") from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return ExportResult(target, timeline.duration_s, target.stat().st_size)
